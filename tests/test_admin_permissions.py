"""Every role sees only what it may: what each admin page answers to Editors, Moderators, staff
without a group and superusers, and that the private fields (guests' emails, address hashes,
guest tokens, account emails and passwords) cannot be read by anyone but a superuser through
the change pages, lookups in the URL, ordering, search, list filters, exports or history."""

import json
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse

from articles.models import Article, Brand, CarModel, Correction, Fact, Paragraph, Platform
from comments.models import BannedWord, Comment, CommentReport, Poll, ReaderControl
from comments.privacy import (
    GUEST_EMAIL_ERASED,
    PRIVATE_FIELDS,
    HidesPrivateFields,
    guest_emails_erase,
    names_private,
)
from tests.conftest import element, elements, text

User = get_user_model()

ROLES = ["editor", "moderator", "staff", "superuser"]
NOT_SUPERUSERS = ["editor", "moderator", "staff"]

GRETA_EMAIL = "greta@example.com"
GRETA_HASH = "9" * 64
GRETA_TOKEN = "g" * 32
ZED_EMAIL = "zed@example.net"
READER_EMAIL = "reader@example.org"
REPORT_HASH = "5" * 64
REPORT_TOKEN = "r" * 32
VOTE_HASH = "7" * 64
VOTE_TOKEN = "v" * 32

# Who may open which admin (superusers open every one). Today's permissions: Editors manage
# content, polls and readers' corrections, Moderators the comment queue, banned words and
# reader controls.
ACCESS = {
    Article: {"editor"},
    Paragraph: {"editor"},
    Brand: {"editor"},
    Platform: {"editor"},
    CarModel: {"editor"},
    Fact: {"editor"},
    Correction: {"editor"},
    Poll: {"editor"},
    Comment: {"moderator"},
    BannedWord: {"moderator"},
    ReaderControl: {"moderator"},
    User: set(),
}
MODELS = list(ACCESS)


def may_open(role, model):
    return role == "superuser" or role in ACCESS[model]


def pairs(roles, *, opens):
    """(model, role) for each admin and each of `roles` that may (or may not) open it."""
    return [
        pytest.param(model, role, id=f"{model.__name__}-{role}")
        for model in MODELS
        for role in roles
        if may_open(role, model) == opens
    ]


OPEN_TO_STAFF = pairs(NOT_SUPERUSERS, opens=True)
CLOSED_TO_STAFF = pairs(NOT_SUPERUSERS, opens=False)
OPEN_TO_ANYONE = pairs(ROLES, opens=True)
EVERY_PAIR = OPEN_TO_ANYONE + CLOSED_TO_STAFF


def admin_url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


# Lookups that would read a private value, each with a value that matches the test data and
# one that does not. Every one is tried on every admin: on a model without that path a
# superuser gets Django's "invalid lookup" answer, everyone else the same refusal as always.
PROBES = [
    ("email__startswith", "g", "q"),
    ("email__regex", "^g", "^q"),
    ("email__iregex", "^G", "^Q"),
    ("email", GRETA_EMAIL, "nobody@example.com"),
    ("email__contains", "@example.com", "@nowhere.test"),
    ("ip_hash__startswith", "9", "0"),
    ("ip_hash", GRETA_HASH, "0" * 64),
    ("reader_token__startswith", "g", "q"),
    ("reader_token", GRETA_TOKEN, "q" * 32),
    ("password__startswith", "md5", "xyz"),
    ("user__email__startswith", "r", "q"),
    ("user__password__startswith", "md5", "xyz"),
    ("parent__email__startswith", "g", "q"),
    ("reports__ip_hash__startswith", "5", "0"),
    ("reports__reader_token__startswith", "r", "q"),
    ("comments__email__startswith", "g", "q"),
    ("comments__ip_hash__startswith", "9", "0"),
    ("article__comments__email__startswith", "g", "q"),
    ("votes__ip_hash__startswith", "7", "0"),
    ("votes__reader_token__startswith", "v", "q"),
    ("user__comments__email__startswith", "g", "q"),
]

# The probes that are real questions for a superuser (who may filter by these fields): the
# matching value finds rows, the other finds none.
SUPERUSER_ORACLES = [
    (Comment, "email__startswith", "g", "q"),
    (Comment, "email__regex", "^g", "^q"),
    (Comment, "email", GRETA_EMAIL, "nobody@example.com"),
    (Comment, "ip_hash__startswith", "9", "0"),
    (Comment, "reader_token__startswith", "g", "q"),
    (User, "email__startswith", "r", "q"),
]  # Django's UserAdmin refuses lookups on passwords to everyone, superusers too.


@pytest.fixture
def site(make_article, make_user, make_poll, add_comment, add_vote):
    """One of each thing the admin shows, with private values in every private field."""
    reader = make_user("reader", email=READER_EMAIL)
    article = make_article(["The Pixie is on sale in Lisbon."], headline="Small EVs", slug="s")
    paragraph = article.paragraphs.get()
    brand = Brand.objects.create(name="Pixie Motors", slug="pixie-motors")
    platform = Platform.objects.create(name="Pixie platform", slug="pixie-platform")
    car_model = CarModel.objects.create(
        name="Pixie", slug="pixie", brand=brand, platform=platform, status="on_sale"
    )
    fact = Fact.objects.create(
        article=article,
        topic=Fact.Topic.CAR_MODEL,
        statement="The Pixie is on sale.",
        certainty=Fact.Certainty.STATED,
        car_model=car_model,
        paragraph=paragraph,
        quote="is on sale",
    )
    greta = {"reader_token": GRETA_TOKEN, "email": GRETA_EMAIL, "ip_hash": GRETA_HASH}
    comment = add_comment(article, "Greta on small cars.", author_name="Guest Greta", **greta)
    greta_again = add_comment(article, "Greta again.", author_name="Guest Greta", **greta)
    zed = add_comment(
        article,
        "Zed replies.",
        parent=comment,
        author_name="Guest Zed",
        reader_token="z" * 32,
        email=ZED_EMAIL,
        ip_hash=GRETA_HASH,  # the same address as Greta, another guest
    )
    by_reader = add_comment(article, "A reader's view.", user=reader, ip_hash="a" * 64)
    CommentReport.objects.create(
        comment=comment, reader_token=REPORT_TOKEN, ip_hash=REPORT_HASH, reason="spam"
    )
    poll = make_poll(article=article)
    add_vote(poll.choices.first(), reader_token=VOTE_TOKEN, ip_hash=VOTE_HASH)
    objects = {
        Article: article,
        Paragraph: paragraph,
        Brand: brand,
        Platform: platform,
        CarModel: car_model,
        Fact: fact,
        Correction: Correction.objects.create(
            article=article,
            anchor=paragraph.anchor,
            paragraph=paragraph,
            explanation="Greta says the Pixie is not on sale yet.",
            reader_token=GRETA_TOKEN,
            ip_hash=GRETA_HASH,
        ),
        Poll: poll,
        Comment: comment,
        BannedWord: BannedWord.objects.create(word="scam"),
        ReaderControl: ReaderControl.objects.create(user=reader, note="Watch."),
        User: reader,
    }
    return SimpleNamespace(
        objects=objects,
        reader=reader,
        comment=comment,
        greta_again=greta_again,
        zed=zed,
        by_reader=by_reader,
    )


def secrets(site):
    """Every private value in the test data, and the parts of the reader's password hash."""
    site.reader.refresh_from_db()
    _algorithm, *parts = site.reader.password.split("$")
    values = [GRETA_EMAIL, ZED_EMAIL, READER_EMAIL, GRETA_HASH, GRETA_TOKEN, "z" * 32]
    values += [REPORT_HASH, REPORT_TOKEN, VOTE_HASH, VOTE_TOKEN, site.reader.password]
    return values + [part[:6] for part in parts if len(part) >= 6]


@pytest.fixture
def make_role(make_user):
    def make(role):
        user = make_user(f"{role}-user", is_staff=True, is_superuser=role == "superuser")
        if role == "editor":
            user.groups.add(Group.objects.get(name="Editors"))
        elif role == "moderator":
            user.groups.add(Group.objects.get(name="Moderators"))
        return user

    return make


@pytest.fixture
def login(client, make_role):
    def log_in(role):
        user = make_role(role)
        client.force_login(user)
        return user

    return log_in


def result_pks(response):
    """The ids of the rows a changelist shows."""
    assert response.status_code == 200, response.status_code
    return [obj.pk for obj in response.context["cl"].result_list]


# --- Who opens what --------------------------------------------------------------------------


def test_every_admin_hides_private_fields():
    registered = dict(admin.site._registry)
    ours = {model: model_admin for model, model_admin in registered.items() if model in ACCESS}
    assert set(ours) == set(ACCESS), "the matrix covers every admin of the project"
    for model_admin in ours.values():
        assert isinstance(model_admin, HidesPrivateFields), type(model_admin)
        for inline in model_admin.inlines:
            assert issubclass(inline, HidesPrivateFields), inline
    assert set(registered) - set(ours) == {Group}


@pytest.mark.parametrize(("model", "role"), EVERY_PAIR)
def test_the_permission_matrix(client, site, login, model, role):
    login(role)
    expected = 200 if may_open(role, model) else 403
    obj = site.objects[model]
    answers = {
        view: client.get(admin_url(model, view, *args)).status_code
        for view, args in [("changelist", ()), ("change", (obj.pk,)), ("history", (obj.pk,))]
    }
    assert answers == dict.fromkeys(answers, expected)


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_index_lists_only_what_the_role_may_open(client, login, role):
    login(role)
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200
    shown = {link["href"] for link in elements(page, "#content-main a[href]")}
    for model in MODELS:
        listed = admin_url(model, "changelist") in shown
        assert listed == may_open(role, model), (model, role)


# --- Lookups in the URL ----------------------------------------------------------------------


@pytest.mark.parametrize(("model", "role"), OPEN_TO_STAFF)
def test_lookups_on_private_fields_are_refused_whatever_the_value(client, site, login, model, role):
    login(role)
    url = admin_url(model, "changelist")
    assert client.get(url).status_code == 200
    for lookup, matching, missing in PROBES:
        hit = client.get(url, {lookup: matching})
        miss = client.get(url, {lookup: missing})
        assert (hit.status_code, miss.status_code) == (400, 400), lookup
        assert hit.content == miss.content, lookup
        assert b"result" not in hit.content


@pytest.mark.parametrize(("model", "role"), CLOSED_TO_STAFF)
def test_lookups_on_admins_a_role_cannot_open_are_forbidden(client, site, login, model, role):
    login(role)
    url = admin_url(model, "changelist")
    for lookup, matching, missing in PROBES[:4]:
        hit = client.get(url, {lookup: matching})
        miss = client.get(url, {lookup: missing})
        assert (hit.status_code, miss.status_code) == (403, 403), lookup
        assert hit.content == miss.content, lookup


@pytest.mark.parametrize(("model", "lookup", "matching", "missing"), SUPERUSER_ORACLES)
def test_superusers_filter_by_the_private_fields(
    client, site, login, model, lookup, matching, missing
):
    login("superuser")
    url = admin_url(model, "changelist")
    assert result_pks(client.get(url, {lookup: matching}))
    assert result_pks(client.get(url, {lookup: missing})) == []


@pytest.mark.parametrize("role", ["moderator", "superuser"])
def test_a_lookup_on_a_private_field_is_refused_in_actions_too(client, site, login, role):
    login(role)
    response = client.post(
        admin_url(Comment, "changelist") + "?email__startswith=g",
        {"action": "approve", "select_across": "1", "index": "0", "_selected_action": []},
    )
    assert response.status_code == (400 if role == "moderator" else 302)


@pytest.mark.parametrize("field", ["email", "reader_token", "ip_hash", "password"])
def test_private_fields_cannot_name_objects(client, site, login, field):
    login("moderator")
    changelist = client.get(admin_url(Comment, "changelist"), {"_to_field": field})
    assert changelist.status_code == 400
    found = client.get(admin_url(Comment, "change", GRETA_EMAIL), {"_to_field": field})
    not_found = client.get(admin_url(Comment, "change", ZED_EMAIL + "x"), {"_to_field": field})
    assert found.status_code == not_found.status_code == 400
    assert found.content == not_found.content


def test_pattern_lookups_are_refused_for_staff_rather_than_crashing(client, site, login):
    login("moderator")
    url = admin_url(Comment, "changelist")
    for params in [{"body__regex": "("}, {"author_name__iregex": "[a-"}, {"body__regex": "^G"}]:
        assert client.get(url, params).status_code == 400
    assert result_pks(client.get(url, {"body__startswith": "Greta"}))


# --- Search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "role"), OPEN_TO_STAFF)
def test_searching_for_a_private_value_finds_what_any_other_words_find(
    client, site, login, model, role
):
    login(role)
    url = admin_url(model, "changelist")
    for value in secrets(site):
        found = result_pks(client.get(url, {"q": value}))
        assert found == result_pks(client.get(url, {"q": "x" * len(value)})), value


def test_superusers_search_comments_and_accounts_by_email(client, site, login):
    login("superuser")
    found = result_pks(client.get(admin_url(Comment, "changelist"), {"q": GRETA_EMAIL}))
    assert sorted(found) == sorted([site.comment.pk, site.greta_again.pk])
    users = result_pks(client.get(admin_url(User, "changelist"), {"q": READER_EMAIL}))
    assert users == [site.reader.pk]


def test_moderators_search_the_text_names_and_usernames(client, site, login):
    login("moderator")
    url = admin_url(Comment, "changelist")
    assert result_pks(client.get(url, {"q": "Greta again"})) == [site.greta_again.pk]
    assert result_pks(client.get(url, {"q": "reader"})) == [site.by_reader.pk]
    assert result_pks(client.get(url, {"q": "greta"})) != []  # the display name


# --- Columns, ordering, filters, date hierarchy ----------------------------------------------


def sorts_by(model, path):
    """The field paths sorting by `path` on `model` comes to, with related models' orderings."""
    names = [path]
    field = None
    for part in path.lstrip("-").split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return names
        if field.is_relation:
            model = field.related_model
    if field is not None and field.is_relation:
        names += [name for name in model._meta.ordering if isinstance(name, str)]
    return names


@pytest.mark.parametrize(("model", "role"), OPEN_TO_ANYONE)
def test_no_column_filter_search_or_date_hierarchy_reads_a_private_field(
    client, site, login, model, role
):
    login(role)
    url = admin_url(model, "changelist")
    changelist = client.get(url).context["cl"]
    if role != "superuser":
        assert not any(names_private(name) for name in changelist.search_fields)
        assert not names_private(changelist.date_hierarchy or "")
        for spec in changelist.filter_specs:
            assert not any(names_private(name) for name in spec.expected_parameters()), spec
        for column in changelist.list_display:
            assert not (isinstance(column, str) and names_private(column)), column
            ordering = changelist.get_ordering_field(column) if isinstance(column, str) else None
            if isinstance(ordering, str):
                assert not any(names_private(name) for name in sorts_by(model, ordering)), column
    # By every column (and some that do not exist): as many rows, never an error.
    for index in range(len(changelist.list_display) + 2):
        ordered = client.get(url, {"o": f"-{index}"})
        assert ordered.status_code == 200, index
        assert ordered.context["cl"].result_count == changelist.result_count, index


def test_superusers_still_sort_accounts_by_email(client, site, login):
    login("superuser")
    changelist = client.get(admin_url(User, "changelist")).context["cl"]
    assert "email" in changelist.list_display
    index = changelist.list_display.index("email")
    assert client.get(admin_url(User, "changelist"), {"o": index}).status_code == 200


# --- Pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "role"), OPEN_TO_STAFF)
def test_pages_show_no_private_value(client, site, login, model, role):
    login(role)
    obj = site.objects[model]
    values = secrets(site)
    for url in [
        admin_url(model, "changelist"),
        admin_url(model, "change", obj.pk),
        admin_url(model, "history", obj.pk),
    ]:
        page = client.get(url).content.decode()
        assert [value for value in values if value in page] == [], url


def test_the_comment_page_links_the_same_address_and_guest_by_the_comments_id(client, site, login):
    login("moderator")
    page = client.get(admin_url(Comment, "change", site.comment.pk))
    changelist = admin_url(Comment, "changelist")
    links = {link["href"] for link in elements(page, "a[href]")}
    assert f"{changelist}?same_address_as={site.comment.pk}" in links
    assert f"{changelist}?same_guest_as={site.comment.pk}" in links
    assert not elements(page, ".field-email, .field-address_hash")


def test_superusers_see_the_email_and_address_hash(client, site, login):
    login("superuser")
    page = client.get(admin_url(Comment, "change", site.comment.pk))
    assert text(element(page, ".field-email .readonly")) == GRETA_EMAIL
    assert text(element(page, ".field-address_hash .readonly")) == GRETA_HASH
    user_page = client.get(admin_url(User, "change", site.reader.pk)).content.decode()
    assert READER_EMAIL in user_page


def test_same_address_and_same_guest_filters(client, site, login):
    login("moderator")
    url = admin_url(Comment, "changelist")
    same_address = client.get(url, {"same_address_as": site.comment.pk})
    assert sorted(result_pks(same_address)) == sorted(
        [site.comment.pk, site.greta_again.pk, site.zed.pk]
    )
    assert f"Same address as comment {site.comment.pk}" in same_address.content.decode()
    with_counts = client.get(url, {"same_address_as": site.comment.pk, "_facets": "1"})
    assert sorted(result_pks(with_counts)) == sorted(result_pks(same_address))
    same_guest = result_pks(client.get(url, {"same_guest_as": site.greta_again.pk}))
    assert sorted(same_guest) == sorted([site.comment.pk, site.greta_again.pk])
    assert result_pks(client.get(url, {"same_guest_as": site.by_reader.pk})) == [site.by_reader.pk]
    assert result_pks(client.get(url, {"same_address_as": 99999999})) == []


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "²", "99999999999999999999999"])
@pytest.mark.parametrize("parameter", ["same_address_as", "same_guest_as"])
def test_same_as_filters_refuse_what_is_not_a_comment_id(client, site, login, parameter, value):
    login("moderator")
    response = client.get(admin_url(Comment, "changelist"), {parameter: value})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


# --- Exports ---------------------------------------------------------------------------------


def run_action(client, model, action, objects):
    return client.post(
        admin_url(model, "changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
    )


def test_the_moderators_export_has_no_private_value(client, site, login):
    login("moderator")
    comments = Comment.objects.all()
    response = run_action(client, Comment, "export", comments)
    assert response.status_code == 200
    raw = response.content.decode()
    assert [value for value in secrets(site) if value in raw] == []
    rows = json.loads(raw)["comments"]
    assert len(rows) == comments.count()
    assert not any(PRIVATE_FIELDS & set(row) for row in rows)


def test_the_superusers_export_has_the_emails(client, site, login):
    login("superuser")
    rows = json.loads(run_action(client, Comment, "export", [site.comment]).content)["comments"]
    assert (rows[0]["email"], rows[0]["ip_hash"]) == (GRETA_EMAIL, GRETA_HASH)


@pytest.mark.parametrize("action", ["export_results_csv", "export_votes_per_day_csv"])
def test_poll_exports_have_no_private_value(client, site, login, action):
    login("editor")
    response = run_action(client, Poll, action, [site.objects[Poll]])
    assert response.status_code == 200
    raw = response.content.decode()
    assert [value for value in secrets(site) if value in raw] == []


# --- Erasing a guest's email -----------------------------------------------------------------


def entry_texts(entries):
    return [f"{entry.object_repr} {entry.change_message} {entry}" for entry in entries]


def test_a_moderator_erases_a_guests_emails(client, site, login):
    moderator = login("moderator")
    response = run_action(client, Comment, "erase_guest_emails", [site.greta_again])
    assert response.status_code == 302

    emails = dict(Comment.objects.values_list("pk", "email"))
    assert emails[site.comment.pk] == emails[site.greta_again.pk] == ""
    assert emails[site.zed.pk] == ZED_EMAIL, "another guest's email stays"
    entries = LogEntry.objects.filter(action_flag=CHANGE)
    assert sorted(int(entry.object_id) for entry in entries) == sorted(
        [site.comment.pk, site.greta_again.pk]
    )
    assert {entry.user_id for entry in entries} == {moderator.pk}
    assert {entry.change_message for entry in entries} == {GUEST_EMAIL_ERASED}
    assert not [entry for entry in entry_texts(entries) if GRETA_EMAIL in entry]

    page = client.get(admin_url(Comment, "changelist")).content.decode()
    assert "Erased the guests’ emails on 2 comments" in page
    history = client.get(admin_url(Comment, "history", site.comment.pk)).content.decode()
    assert GUEST_EMAIL_ERASED in history
    assert GRETA_EMAIL not in history


def test_erasing_says_how_many_comments_it_covered_not_how_many_had_an_email(client, site, login):
    login("moderator")
    Comment.objects.filter(pk=site.greta_again.pk).update(email="")
    run_action(client, Comment, "erase_guest_emails", [site.comment, site.by_reader])
    page = client.get(admin_url(Comment, "changelist")).content.decode()
    assert "Erased the guests’ emails on 3 comments" in page
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 3


@pytest.mark.parametrize("role", ["editor", "staff"])
def test_only_those_who_change_comments_erase_emails(client, site, login, role):
    login(role)
    response = run_action(client, Comment, "erase_guest_emails", [site.comment])
    assert response.status_code == 403
    assert Comment.objects.get(pk=site.comment.pk).email == GRETA_EMAIL


def test_the_erase_service_records_each_comment_and_nothing_for_none(site, make_role):
    moderator = make_role("moderator")
    assert guest_emails_erase(comments=Comment.objects.none(), moderator=moderator) == 0
    covered = guest_emails_erase(
        comments=Comment.objects.filter(pk=site.zed.pk), moderator=moderator
    )
    assert covered == 1
    assert Comment.objects.get(pk=site.zed.pk).email == ""
    assert Comment.objects.get(pk=site.comment.pk).email == GRETA_EMAIL
    assert LogEntry.objects.get().change_message == GUEST_EMAIL_ERASED


# --- History ---------------------------------------------------------------------------------


def test_a_moderators_change_is_recorded_without_private_values(client, site, login):
    login("moderator")
    response = client.post(
        admin_url(Comment, "change", site.comment.pk),
        {
            "status": "rejected",
            "hold_reason": "Off topic.",
            "email": "changed@example.com",
            "ip_hash": "0" * 64,
            "reader_token": "q" * 32,
            "reports-TOTAL_FORMS": "1",
            "reports-INITIAL_FORMS": "1",
            "reports-0-id": site.comment.reports.get().pk,
            "reports-0-comment": site.comment.pk,
        },
    )
    assert response.status_code == 302
    site.comment.refresh_from_db()
    assert (site.comment.status, site.comment.email) == ("rejected", GRETA_EMAIL)
    assert (site.comment.ip_hash, site.comment.reader_token) == (GRETA_HASH, GRETA_TOKEN)
    texts = entry_texts(LogEntry.objects.all())
    assert texts
    assert not [entry for entry in texts for value in secrets(site) if value in entry]


def test_changing_an_accounts_email_is_recorded_without_it(client, site, login):
    login("superuser")
    reader = site.reader
    response = client.post(
        admin_url(User, "change", reader.pk),
        {
            "username": reader.username,
            "first_name": "",
            "last_name": "",
            "email": "new-address@example.org",
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": reader.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": reader.date_joined.strftime("%H:%M:%S"),
            "reader_control-TOTAL_FORMS": "1",
            "reader_control-INITIAL_FORMS": "1",
            "reader_control-MIN_NUM_FORMS": "0",
            "reader_control-MAX_NUM_FORMS": "1",
            "reader_control-0-id": reader.reader_control.pk,
            "reader_control-0-user": reader.pk,
            "reader_control-0-note": "Watch.",
        },
    )
    assert response.status_code == 302, response.content
    reader.refresh_from_db()
    assert reader.email == "new-address@example.org"
    entry = LogEntry.objects.get()
    assert "Email" in entry.get_change_message()
    assert not [t for t in entry_texts([entry]) if READER_EMAIL in t or "new-address" in t]


# --- Should anyone else be given the user permissions ----------------------------------------


@pytest.fixture
def account_viewer(client, make_user):
    user = make_user("account-viewer", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_user", content_type__app_label="auth")
    )
    client.force_login(user)
    return user


def test_staff_given_the_user_view_permission_still_read_no_email_or_password(
    client, site, account_viewer
):
    url = admin_url(User, "changelist")
    response = client.get(url)
    changelist = response.context["cl"]
    assert "email" not in changelist.list_display
    assert not any(names_private(name) for name in changelist.search_fields)
    for lookup, matching, missing in PROBES:
        hit, miss = client.get(url, {lookup: matching}), client.get(url, {lookup: missing})
        assert hit.status_code == miss.status_code == 400, lookup
    for value in [READER_EMAIL, site.reader.password]:
        assert result_pks(client.get(url, {"q": value})) == []
    shown = sorted(result_pks(response))
    for index in range(len(changelist.list_display) + 1):
        assert sorted(result_pks(client.get(url, {"o": f"-{index}"}))) == shown
    for page_url in [url, admin_url(User, "change", site.reader.pk)]:
        page = client.get(page_url)
        assert page.status_code == 200
        html = page.content.decode()
        assert [value for value in secrets(site) if value in html] == [], page_url
        assert not elements(html, ".field-email, .field-password")
