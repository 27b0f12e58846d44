"""A queryset prepared once gives, with other values, the rows the ORM gives for them."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count

from evsite import prepared
from evsite.prepared import prepared_rows

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
