"""A queryset prepared once gives, with other values, the rows the ORM gives for them."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Value
from django.db.models.functions import Concat, Upper
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from evsite import prepared
from evsite.prepared import prepared_insert, prepared_rows, prepared_update

User = get_user_model()


@pytest.fixture(autouse=True)
def _nothing_prepared():
    prepared._statements.clear()
    yield
    prepared._statements.clear()


@pytest.fixture
def users(db):
    return [
        User.objects.create(username=name, is_staff=name != "cyd") for name in ["ann", "bo", "cyd"]
    ]


def test_rows_are_those_of_the_queryset_for_each_set_of_values(users):
    built = []

    def build(after, name):
        built.append((after, name))
        return (
            User.objects.filter(pk__gt=after)
            .exclude(username=name)
            .values("is_staff")
            .annotate(count=Count("pk"))
            .order_by("is_staff")
        )

    for after, name in [(0, "ann"), (users[0].pk, "cyd"), (users[1].pk, "nobody"), (0, "bo")]:
        rows = prepared_rows(("test-staff", "exclude"), build, after=after, name=name)
        assert rows == list(build(after=after, name=name))

    with_markers = [call for call in built if call[1].startswith("\x00")]
    assert len(with_markers) == 1  # built once with its markers, then run with each set
    rows = prepared_rows(("test-staff", "exclude"), build, after=0, name="ann")
    assert {bool(row["is_staff"]): row["count"] for row in rows} == {False: 1, True: 1}


def test_a_value_the_sql_changes_is_run_through_the_orm_each_time(users):
    def build(prefix):
        # "startswith" sends "an%", not the value itself: there is no parameter to replace.
        return User.objects.filter(username__startswith=prefix).values("username")

    assert prepared_rows(("test-prefix",), build, prefix="an") == [{"username": "ann"}]
    assert prepared_rows(("test-prefix",), build, prefix="c") == [{"username": "cyd"}]
    assert prepared_rows(("test-prefix",), build, prefix="x") == []


def test_a_moment_is_marked_too_and_the_rows_follow_it(users):
    joined = {"ann": -3, "bo": -2, "cyd": -1}  # days ago
    now = timezone.now()
    for user in users:
        joined_at = now + timedelta(days=joined[user.username])
        User.objects.filter(pk=user.pk).update(date_joined=joined_at)
    built = []

    def build(before):
        built.append(before)
        return User.objects.filter(date_joined__lte=before).order_by("-date_joined", "pk")

    for days, expected in [(-4, []), (-2, ["bo", "ann"]), (0, ["cyd", "bo", "ann"])]:
        moment = now + timedelta(days=days, seconds=1)
        rows = prepared_rows(
            ("test-joined",), lambda before: build(before).values("username"), before=moment
        )
        assert [row["username"] for row in rows] == expected
    assert len(built) == 2  # built with its marker and with a real moment, once


def test_a_moment_compared_with_a_date_is_run_through_the_orm(users):
    built = []

    def build(moment):
        built.append(moment)
        return User.objects.filter(date_joined__date__lte=moment).values("username")

    tomorrow = timezone.now() + timedelta(days=1)
    rows = prepared_rows(("test-joined-date",), build, moment=tomorrow)
    assert sorted(row["username"] for row in rows) == ["ann", "bo", "cyd"]
    assert prepared_rows(("test-joined-date",), build, moment=tomorrow - timedelta(days=3)) == []
    # Tried with its marker and a real moment, found unpreparable, then run by the ORM at
    # each call: a moment put where a date goes would be compared as text.
    assert len(built) == 2 + 2


def test_only_numbers_text_and_aware_moments_can_be_marked(users):
    with pytest.raises(TypeError):
        prepared_rows(
            ("test-naive",), lambda moment: User.objects.values("pk"), moment=datetime(2026, 1, 1)
        )


def test_only_numbers_and_text_can_be_marked(users):
    with pytest.raises(TypeError):
        prepared_rows(("test-bool",), lambda flag: User.objects.values("pk"), flag=True)


def test_a_number_no_column_holds_finds_nothing_and_spoils_nothing(users):
    def build(pk):
        return User.objects.filter(pk=pk).values("username")

    assert prepared_rows(("test-pk",), build, pk=2**70) == []
    assert prepared_rows(("test-pk",), build, pk=-(2**70)) == []
    # The statement is still prepared, and right, for the next value that fits.
    assert prepared_rows(("test-pk",), build, pk=users[1].pk) == [{"username": "bo"}]


def test_an_instance_from_a_row_is_the_one_the_orm_reads(users):
    from evsite.prepared import model_from_row

    ann = User.objects.get(username="ann")
    columns = [field.attname for field in User._meta.concrete_fields]

    def build(pk):
        return User.objects.filter(pk=pk).values(*columns)

    (row,) = prepared_rows(("test-user-row",), build, pk=ann.pk)
    rebuilt = model_from_row(User, row, using=User.objects.db)
    for column in columns:
        assert getattr(rebuilt, column) == getattr(ann, column), column
        assert type(getattr(rebuilt, column)) is type(getattr(ann, column)), column
    assert rebuilt.is_staff is True
    assert rebuilt.date_joined.tzinfo is not None
    assert not rebuilt._state.adding


def _update_staff(pk, staff):
    return User.objects.filter(pk__gte=pk), {"is_staff": staff == 1}


def _rename(pk, suffix):
    return User.objects.filter(pk=pk), {"last_name": Concat(F("username"), Value(suffix))}


def test_an_update_changes_what_the_orm_would_and_counts_the_rows(users):
    ann, bo, cyd = users
    changed = prepared_update(("test-rename",), _rename, pk=bo.pk, suffix="-the-second")
    assert changed == 1
    changed = prepared_update(("test-rename",), _rename, pk=cyd.pk, suffix="-junior")
    assert changed == 1
    names = dict(User.objects.values_list("username", "last_name"))
    assert names == {"ann": "", "bo": "bo-the-second", "cyd": "cyd-junior"}
    assert prepared_update(("test-rename",), _rename, pk=2**70, suffix="x") == 0
    assert prepared_update(("test-rename",), _rename, pk=cyd.pk + 100, suffix="x") == 0


def test_an_update_whose_sql_depends_on_a_value_goes_through_the_orm(users):
    ann, bo, cyd = users
    # The boolean is worked out from the marker too, so the SQL cannot be kept.
    assert prepared_update(("test-staff-from",), _update_staff, pk=bo.pk, staff=1) == 2
    assert prepared_update(("test-staff-from",), _update_staff, pk=cyd.pk, staff=0) == 1
    staff = dict(User.objects.values_list("username", "is_staff"))
    assert staff == {"ann": True, "bo": True, "cyd": False}


def test_a_new_row_is_inserted_as_save_inserts_it(db):
    seen = []

    def saved(sender, instance, created, **kwargs):
        seen.append((instance.pk, created, instance._state.adding))

    post_save.connect(saved, sender=Session)
    try:
        expires = timezone.now() + timedelta(days=1)
        session = Session(session_key="a" * 32, session_data="{}", expire_date=expires)
        first = prepared_insert(session)
        post_save.connect(saved, sender=Group)
        try:
            group = prepared_insert(Group(name="editors"))
        finally:
            post_save.disconnect(saved, sender=Group)
    finally:
        post_save.disconnect(saved, sender=Session)

    assert seen == [(first.pk, True, False), (group.pk, True, False)]
    stored = Session.objects.get(pk="a" * 32)
    assert (stored.session_data, stored.expire_date) == ("{}", expires)
    assert Group.objects.get(pk=group.pk).name == "editors"
    assert isinstance(group.pk, int)  # the id the database gave it
    assert prepared_insert(Group(name="writers")).pk > group.pk
    assert first._state.db == "default"


def test_a_refused_insert_leaves_the_transaction_to_roll_back(db):
    Group.objects.create(name="editors")
    with pytest.raises(IntegrityError), transaction.atomic():
        prepared_insert(Group(name="readers"))
        prepared_insert(Group(name="editors"))
    assert not Group.objects.filter(name="readers").exists()
    assert Group.objects.filter(name="editors").count() == 1
    assert prepared_insert(Group(name="fay")).pk is not None  # the connection still works


def test_a_model_with_its_own_save_is_saved_by_it(db, monkeypatch):
    saves = []
    own_save = User.save  # AbstractBaseUser.save: it tells password validators of a change

    def recorded(self, *args, **kwargs):
        saves.append(kwargs)
        return own_save(self, *args, **kwargs)

    monkeypatch.setattr(User, "save", recorded)
    user = prepared_insert(User(username="gus"))
    assert saves == [{"force_insert": True}]
    assert User.objects.filter(pk=user.pk, username="gus").exists()


def test_an_insert_the_orm_must_build_each_time_is_still_one_save(db, monkeypatch):
    monkeypatch.setattr(prepared, "_insert_sql", lambda *args: prepared._UNPREPARABLE)
    signals = []

    def record(signal):
        return lambda sender, instance, **kwargs: signals.append((signal, instance.name))

    pre, post = record("pre_save"), record("post_save")
    pre_save.connect(pre, sender=Group)
    post_save.connect(post, sender=Group)
    try:
        group = prepared_insert(Group(name="editors-in-chief"))
    finally:
        pre_save.disconnect(pre, sender=Group)
        post_save.disconnect(post, sender=Group)

    assert signals == [("pre_save", "editors-in-chief"), ("post_save", "editors-in-chief")]
    assert Group.objects.get(pk=group.pk).name == "editors-in-chief"


def test_a_sliced_update_is_refused_as_the_orm_refuses_it(users):
    def build(pk):
        return User.objects.filter(pk__gte=pk)[:1], {"last_name": "X"}

    with pytest.raises(TypeError):
        prepared_update(("test-sliced",), build, pk=users[0].pk)
    assert not User.objects.filter(last_name="X").exists()


def test_a_value_a_receiver_makes_an_expression_is_inserted_by_the_orm(db):
    prepared_insert(Group(name="plain"))  # the INSERT is built and kept

    def shout(sender, instance, **kwargs):
        instance.name = Upper(Value(instance.name))

    pre_save.connect(shout, sender=Group)
    try:
        group = prepared_insert(Group(name="loud"))
    finally:
        pre_save.disconnect(shout, sender=Group)
    assert Group.objects.filter(pk=group.pk, name="LOUD").exists()
