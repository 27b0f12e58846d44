"""Property-based tests: whatever a reader sends, the site answers 2xx, 3xx or 4xx, never 5xx,
and never stores a broken or partial row.

Every form and query parameter a reader controls is fed generated input (hypothesis): the
comment form as a new comment and as a reply (htmx and plain, guest and account), the edit
form, the report form, the poll vote, sign-up and log-in, and the GET parameters of the
article page, the comment list/more/new endpoints and the poll's pages and JSON. The inputs
mix arbitrary Unicode text (no surrogates: a browser cannot send them), naughty strings in
the style of the Big List of Naughty Strings, control characters and NUL bytes, right-to-left
overrides, invisible characters, strings of up to 10,000 characters, integers as strings,
empty values, missing fields and repeated keys, sent multipart or URL-encoded.

After each example every Comment, Vote, HelpfulMark, CommentReport and account in the
database is checked (`assert_rows_well_formed`): text within the form's limits and visible,
an email the column can hold, a vote whose choice belongs to its poll, and every counter
equal to the rows it counts. Each example runs in a savepoint that is rolled back, with the
caches cleared, so examples do not see each other's rows or rate-limit counters.

Settings: 50 examples a test (EVR_HYPOTHESIS_EXAMPLES=N for more), no deadline, no example
database (nothing is written to the work tree); derandomized when CI is set, so CI runs the
same examples every time. Rate limits are off here (every EVR_*_PER_* setting is 0).
"""

import inspect
import os
import re
import time
import unicodedata
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from comments.forms import BODY_MAX_LENGTH, BODY_MIN_LENGTH, form_stamp
from comments.models import Comment, CommentReport, HelpfulMark, Poll, PollChoice, Vote
from tests.conftest import SEEDED_SLUG

ROOT = Path(__file__).resolve().parents[1]

# --- Hypothesis settings ---------------------------------------------------------------------

hypothesis_settings.register_profile(
    "evr",
    max_examples=int(os.environ.get("EVR_HYPOTHESIS_EXAMPLES", "50")),
    deadline=None,
    database=None,  # no .hypothesis/ folder in the work tree; a failure prints its example
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the db, clients and settings fixtures
        HealthCheck.too_slow,  # each example is an HTTP request or two
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
hypothesis_settings.register_profile(
    "evr-ci", parent=hypothesis_settings.get_profile("evr"), derandomize=True
)
PROPERTY = hypothesis_settings(
    hypothesis_settings.get_profile("evr-ci" if os.environ.get("CI") else "evr")
)

# --- Rate limits off -------------------------------------------------------------------------

RATE_LIMIT_NAME = re.compile(r"\bEVR_[A-Z0-9_]*_PER_[A-Z0-9_]+\b")


def rate_limit_setting_names():
    """Every EVR_*_PER_* limit: in the settings, or read with getattr somewhere in the code."""
    names = {name for name in dir(django_settings) if RATE_LIMIT_NAME.fullmatch(name)}
    for package in ROOT.iterdir():
        if package.name == "tests" or not (package / "__init__.py").exists():
            continue
        for path in package.rglob("*.py"):
            names.update(RATE_LIMIT_NAME.findall(path.read_text(errors="replace")))
    return sorted(names)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """With limits on, nearly every example would be a 429 and test nothing else."""
    for name in rate_limit_setting_names():
        setattr(settings, name, 0)


# --- Inputs ----------------------------------------------------------------------------------

OMIT = None  # a field left out of the request


NAUGHTY = [
    "",
    " ",
    "\t\n\r ",
    "\x00",
    "a\x00b",
    "\x00" * 3,
    "\x01\x02\x03\x1b[31mred\x1b[0m",
    "\x7f\x7f",
    "\ufeffBOM",
    "\u200b",
    "\u200b\u200b\u200b",
    "\u200d\u200c",
    "\u00ad\u00ad",
    "\u2060\u2060",
    "\u3164",
    "\u3164\u3164",
    "\u115f\u1160",
    "\u2800\u2800",
    "\u180e",
    "\u202eevil",
    "\u202e\u202e",
    "\u202dLTR\u202c",
    "\u2066isolate\u2069",
    "\u200fRLM",
    "\u0301\u0301",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f",
    "\u2028\u2029",
    "\ufdfd",
    "\U0001f600\U0001f4a9",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001d54b\U0001d559\U0001d556",
    "\uff11\uff12\uff13",
    "\u0661\u0662\u0663",
    "\u00b2",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% debug %}",
    "'; DROP TABLE comments_comment; --",
    "' OR '1'='1",
    "%s%s%s%n",
    "${jndi:ldap://127.0.0.1/a}",
    "../../../../etc/passwd",
    "null",
    "None",
    "undefined",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "0",
    "-0",
    "-1",
    "1.0",
    "1e309",
    "0x1F",
    "1_000",
    " 7 ",
    "99999999999999999999999999999999",
    "-99999999999999999999999999999999",
    str(2**63),
    str(2**63 - 1),
    str(-(2**63)),
    str(2**31),
    "https://example.com https://example.org https://example.net",
    "www.example.com",
    "@Someone hi",
    "evr-form-stamp-placeholder",
    "evr-csrf-token-placeholder",
    "a@b",
    "user@example.com",
    "user@localhost",
    "\u00e9l\u00e8ve@exemple.fr",
    "user@xn--bcher-kva.example",
]

LONG_UNITS = ["a", "\u00e9", "\U0001f600", "\u202e", " ", "\x00", "ab\n", "\u200b", "<b>", "x y"]
BOUNDARY_LENGTHS = [
    1,
    BODY_MIN_LENGTH - 1,
    BODY_MIN_LENGTH,
    59,
    60,
    61,
    150,
    151,
    254,
    255,
    299,
    300,
    301,
    BODY_MAX_LENGTH - 1,
    BODY_MAX_LENGTH,
    BODY_MAX_LENGTH + 1,
    10_000,
]

long_text = st.builds(
    lambda unit, length: (unit * length)[:length],
    st.sampled_from(LONG_UNITS),
    st.one_of(st.sampled_from(BOUNDARY_LENGTHS), st.integers(1, 10_000)),
)
odd_categories = st.text(
    st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn"]),
    min_size=1,
    max_size=40,
)
rtl_wrapped = st.builds(
    lambda mark, body: f"{mark}{body}",
    st.sampled_from(["\u202e", "\u202d", "\u2067", "\u200f", "\u061c"]),
    st.text(max_size=40),
)
with_nul = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=20), st.text(max_size=20))
numbers = st.one_of(
    st.integers().map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)

naughty_text = st.one_of(
    st.sampled_from(NAUGHTY),
    st.text(max_size=200),
    st.text(min_size=2, max_size=30),  # often a valid comment: the paths past validation
    odd_categories,
    rtl_wrapped,
    with_nul,
    numbers,
    long_text,
)


def email_of_length(length):
    """A syntactically valid address of exactly `length` characters (6 to 330)."""
    local = "e" * max(1, min(64, length - 6))
    domain_length = length - len(local) - 1
    labels, left = [], domain_length - len(".com")
    while left > 0:
        take = min(63, left)
        if left - take == 1:  # a lone dot would be left over: take one less
            take -= 1
        labels.append("d" * take)
        left -= take + 1  # the label and the dot after it
    return f"{local}@{'.'.join(labels)}.com"


def _valid_email(value):
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def as_one(strategy):
    """`strategy` as one branch of st.one_of (which would spread a nested one_of's branches
    among its own, each as likely as the rest)."""
    return strategy.map(lambda value: value)


emails = st.one_of(
    st.just(""),
    st.emails(),
    st.sampled_from([240, 250, 253, 254, 255, 256, 300, 319, 320, 321, 330])
    .map(email_of_length)
    .filter(_valid_email),
    st.integers(6, 330).map(email_of_length).filter(_valid_email),
    as_one(naughty_text),
)


def field(values):
    """A form field: left out, sent once, or its key sent two or three times."""
    return st.one_of(st.just(OMIT), values, st.lists(values, min_size=2, max_size=3))


@st.composite
def plausible(draw, values):
    """Mostly a value a person would send, so examples get past validation too; else any."""
    if draw(st.sampled_from([True, True, False])):
        return draw(values)
    return draw(field(naughty_text))


words = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
sentences = st.lists(words, min_size=1, max_size=40).map(" ".join).filter(lambda s: len(s) > 1)

# A form stamp: ("stamp", seconds from now, whose) is signed when the example runs, for this
# browser's CSRF secret ("mine") or another's; anything else is sent as it is.
GOOD_STAMP = ("stamp", -60, "mine")
stamps = st.one_of(
    st.just(GOOD_STAMP),
    st.tuples(
        st.just("stamp"),
        st.one_of(
            st.sampled_from([-10, -60, -3600, -3 * 3600, -86400 * 30, 0, -1, 3600]),
            st.integers(-(10**9), 10**6),
        ),
        st.sampled_from(["mine", "other"]),
    ),
    field(naughty_text),
)


def csrf_secret(browser):
    cookie = browser.cookies.get(django_settings.CSRF_COOKIE_NAME)
    return cookie.value if cookie is not None else ""


def make_stamp(secret, at):
    """A form stamp made at `at` for the browser whose CSRF secret is `secret` (stamps that
    predate binding to the browser take the time alone)."""
    if "binding" in inspect.signature(form_stamp).parameters:
        return form_stamp(secret, now=at)
    return form_stamp(now=at)


def resolved(value, browser):
    if isinstance(value, tuple) and value[:1] == ("stamp",):
        _, seconds, whose = value
        secret = csrf_secret(browser) if whose == "mine" else "another-browsers-csrf-secret-00"
        return make_stamp(secret, time.time() + seconds)
    if isinstance(value, list):
        return [resolved(item, browser) for item in value]
    return value


# --- Sending ---------------------------------------------------------------------------------


def send(client, method, url, fields=None, *, htmx=False, urlencoded=False, headers=None):
    """One request; a 5xx fails the example (an exception in a view fails it as well)."""
    headers = {**(headers or {}), **({"HX-Request": "true"} if htmx else {})}
    fields = (fields or {}).items()
    data = {key: resolved(value, client) for key, value in fields if value is not OMIT}
    if method == "GET":
        response = client.get(url, data, headers=headers)
    elif urlencoded:
        body = urlencode(data, doseq=True)
        response = client.post(
            url, body, content_type="application/x-www-form-urlencoded", headers=headers
        )
    else:
        response = client.post(url, data, headers=headers)  # multipart; lists repeat the key
    assert response.status_code < 500, f"{method} {url} answered {response.status_code}"
    event(f"{method} answered {response.status_code}")  # --hypothesis-show-statistics
    return response


@contextmanager
def one_example():
    """Run one example in a savepoint that is rolled back, with empty caches; check the rows
    it leaves before they go."""
    for configured in caches.all():
        configured.clear()
    with transaction.atomic():
        yield
        assert_rows_well_formed()
        transaction.set_rollback(True)


# --- What a well-formed database holds -------------------------------------------------------

# Characters that Unicode files as letters or symbols but that show nothing.
BLANK_GLYPHS = set("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")
CONTROL_ALLOWED = set("\t\n\r")


def is_visible(value):
    """At least one character that shows: a letter, number, punctuation or symbol."""
    return any(
        unicodedata.category(character)[0] in "LNPS" and character not in BLANK_GLYPHS
        for character in value
    )


def has_control_characters(value, allowed=frozenset()):
    return any(
        unicodedata.category(character) == "Cc" and character not in allowed for character in value
    )


def _field_max(model, name):
    return model._meta.get_field(name).max_length


def _mention_free(comment):
    """The body as the reader wrote it: a reply to a comment at the deepest level joins that
    level and starts with "@name " of the comment it answers (services.comment_create)."""
    if comment.depth == Comment.MAX_DEPTH and comment.body.startswith("@"):
        siblings = Comment.objects.filter(parent_id=comment.parent_id).exclude(pk=comment.pk)
        for name in siblings.values_list("author_name", flat=True):
            if comment.body.startswith(f"@{name} "):
                return comment.body[len(name) + 2 :]
    return comment.body


def _reader_problems(row):
    if (row.user_id is None) == (row.reader_token == ""):
        return ["not exactly one of user and reader_token"]
    return []


def comment_problems(comment):
    problems = _reader_problems(comment)
    body = _mention_free(comment)
    if not body.strip():
        problems.append("empty body")
    if not BODY_MIN_LENGTH <= len(body.strip()) <= BODY_MAX_LENGTH:
        problems.append(f"body of {len(body.strip())} characters")
    if not is_visible(body):
        problems.append("body shows nothing")
    if has_control_characters(comment.body, allowed=CONTROL_ALLOWED):
        problems.append("control characters in body (other than line breaks and tabs)")
    name = comment.author_name
    if not name.strip() or len(name) > _field_max(Comment, "author_name"):
        problems.append(f"author_name empty or too long ({len(name)})")
    if not is_visible(name):
        problems.append("author_name shows nothing")
    if has_control_characters(name) or any(unicodedata.category(c) == "Cf" for c in name):
        problems.append("control or format characters in author_name")
    if len(comment.email) > _field_max(Comment, "email"):
        problems.append(f"email of {len(comment.email)} characters")
    if comment.email and not _valid_email(comment.email):
        problems.append("email not an address")
    if len(comment.hold_reason) > _field_max(Comment, "hold_reason"):
        problems.append("hold_reason too long")
    if comment.status not in Comment.Status.values:
        problems.append(f"status {comment.status!r}")
    expected_depth = comment.parent.depth + 1 if comment.parent_id else 0
    if comment.depth != expected_depth or comment.depth > Comment.MAX_DEPTH:
        problems.append(f"depth {comment.depth}, parent's + 1 is {expected_depth}")
    if comment.parent_id and comment.parent.article_id != comment.article_id:
        problems.append("parent on another article")
    return problems


def helpful_marks_counted():
    """What helpful_count must equal: the marks, or, where marks keep the address they came
    from, the addresses (marks with no address recorded count one each)."""
    fields = {field.name for field in HelpfulMark._meta.get_fields()}
    if "ip_hash" not in fields:
        return Count("helpful_marks", distinct=True)
    return Count(
        "helpful_marks__ip_hash", distinct=True, filter=~Q(helpful_marks__ip_hash="")
    ) + Count("helpful_marks", distinct=True, filter=Q(helpful_marks__ip_hash=""))


def assert_rows_well_formed():
    problems = []
    comments = Comment.objects.select_related("parent").annotate(
        marks=helpful_marks_counted(), reports_n=Count("reports", distinct=True)
    )
    for comment in comments:
        found = comment_problems(comment)
        if comment.helpful_count != comment.marks:
            found.append(f"helpful_count {comment.helpful_count}, {comment.marks} marks")
        if comment.report_count > comment.reports_n:
            found.append(f"report_count {comment.report_count}, {comment.reports_n} reports")
        if comment.parent_id is None:
            replies = Comment.objects.filter(
                Q(parent=comment) | Q(parent__parent=comment),
                status=Comment.Status.APPROVED,
                deleted_at__isnull=True,
            ).count()
            if comment.reply_count != replies:
                found.append(f"reply_count {comment.reply_count}, {replies} visible replies")
        problems += [f"comment {comment.pk}: {problem}" for problem in found]

    for vote in Vote.objects.select_related("choice"):
        found = _reader_problems(vote)
        if vote.choice.poll_id != vote.poll_id:
            found.append(f"choice {vote.choice_id} is not in poll {vote.poll_id}")
        problems += [f"vote {vote.pk}: {problem}" for problem in found]
    for choice in PollChoice.objects.annotate(votes_n=Count("votes")):
        if choice.vote_count != choice.votes_n:
            problems.append(
                f"choice {choice.pk}: vote_count {choice.vote_count}, {choice.votes_n} votes"
            )

    for mark in HelpfulMark.objects.all():
        problems += [f"helpful mark {mark.pk}: {problem}" for problem in _reader_problems(mark)]

    for report in CommentReport.objects.all():
        found = _reader_problems(report)
        if report.reason not in CommentReport.Reason.values:
            found.append(f"reason {report.reason!r}")
        if len(report.note) > _field_max(CommentReport, "note"):
            found.append(f"note of {len(report.note)} characters")
        if has_control_characters(report.note):
            found.append("control characters in the note")
        problems += [f"report {report.pk}: {problem}" for problem in found]

    username_max = _field_max(get_user_model(), "username")
    for user in get_user_model().objects.all():
        name = user.get_username()
        if not name or len(name) > username_max or not re.fullmatch(r"[\w.@+-]+", name):
            problems.append(f"user {user.pk}: username {name!r}")
        elif not is_visible(name):
            problems.append(f"user {user.pk}: username shows nothing")
        if not user.password:
            problems.append(f"user {user.pk}: no password hash")

    assert not problems, "rows not well formed:\n" + "\n".join(problems)


# --- Browsers and test data inside an example ------------------------------------------------

# A browser that has been shown a page with a form holds a CSRF secret in its cookie; the
# comment form's stamp is made for it.
CSRF_SECRET = "EvrPropertyTestsCsrfSecret000001"  # 32 characters, as Django makes them


@pytest.fixture
def make_browser(make_client, make_user):
    """A reader's browser holding a CSRF cookie: a guest with `token` ("guest"), a guest with
    no session yet ("new guest"), or a signed-in account ("account")."""

    def make(kind="guest", *, token="visitor", address=None):
        if kind == "guest":
            browser = make_client(token=token, address=address)
        else:
            browser = make_client(address=address)
        if kind == "account":
            browser.force_login(make_user(f"account-{token}"))
        browser.cookies[django_settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        return browser

    return make


def _thread(article, *, owner_token="thread-owner"):
    """A top-level comment with a reply and a reply to that (the deepest level), and beside
    them a held and a deleted comment."""

    def add(name, body, **fields):
        fields.setdefault("reader_token", f"{name.lower()}-owner")
        return Comment.objects.create(article=article, author_name=name, body=body, **fields)

    top = add("Top Author", "Top comment.", reader_token=owner_token)
    middle = add("Middle Author", "A reply.", parent=top, depth=1)
    deepest = add("Deep Author", "A reply to the reply.", parent=middle, depth=2)
    Comment.objects.filter(pk=top.pk).update(reply_count=2)
    held = add("Held Author", "Held for a moderator.", status=Comment.Status.PENDING)
    deleted = add("Gone Author", "Deleted by its author.", deleted_at=timezone.now())
    return {"top": top, "middle": middle, "deepest": deepest, "held": held, "deleted": deleted}


readers = st.sampled_from(["guest", "new guest", "account"])
ways = st.fixed_dictionaries({"htmx": st.booleans(), "urlencoded": st.booleans()})


# --- The comment form ------------------------------------------------------------------------

names = st.one_of(st.sampled_from(["Reader", "Ana María", "李雷", "O'Brien", "Zoë"]), words)
good_comment = st.fixed_dictionaries(
    {
        "body": sentences,
        "author_name": names,
        "email": st.one_of(st.just(""), st.emails()),
        "website": st.just(""),
        "rendered_at": st.just(GOOD_STAMP),
    }
)
any_comment_field = {
    "body": field(naughty_text),
    "author_name": field(naughty_text),
    "email": field(emails),
    "website": field(naughty_text),
    "rendered_at": stamps,
}


@st.composite
def one_field_off(draw):
    """A good comment with one field replaced: each rule is reached past the others."""
    fields = draw(good_comment)
    name = draw(st.sampled_from(sorted(any_comment_field)))
    fields[name] = draw(any_comment_field[name])
    return fields


comment_fields = st.one_of(good_comment, one_field_off(), st.fixed_dictionaries(any_comment_field))
# A new comment more often than a reply; replies to every kind of comment, and to none.
COMMENT_TARGETS = ["new", "new", "new", "top", "middle", "deepest", "held", "deleted", "missing"]


def comment_example(reader="guest", target="new", way=None, **fields):
    """An explicit example of test_comment_form_any_input: a good form unless told."""
    return example(
        fields={
            "body": "A fine comment.",
            "author_name": "Reader",
            "email": "",
            "website": "",
            "rendered_at": GOOD_STAMP,
            **fields,
        },
        target=target,
        reader=reader,
        way=way or {"htmx": True, "urlencoded": False},
        premoderation=False,
    )


@PROPERTY
@given(
    fields=comment_fields,
    target=st.sampled_from(COMMENT_TARGETS),
    reader=readers,
    way=ways,
    premoderation=st.booleans(),
)
@comment_example(email=email_of_length(300)).via("an address longer than the column")
@comment_example(body="y" * BODY_MAX_LENGTH, target="deepest").via("longest deepest reply")
@comment_example(body="\u200b\u200b\u200b", author_name="\u3164").via("invisible text")
@comment_example(body="a\x00b \x1b[31m", author_name="\u202eevil\x07").via("control characters")
def test_comment_form_any_input(
    db, seeded_article, make_browser, fields, target, reader, way, premoderation
):
    with one_example(), override_settings(EVR_PREMODERATION=premoderation):
        browser = make_browser(reader)
        if target == "new":
            url = reverse("comments:create", kwargs={"slug": seeded_article.slug})
        else:
            thread = _thread(seeded_article)
            pk = thread[target].pk if target in thread else 10**9
            url = reverse("comments:reply", kwargs={"pk": pk})
            send(browser, "GET", url, htmx=way["htmx"])  # the reply form, as a reader opens it
        send(browser, "POST", url, fields, **way)


# --- The edit form ---------------------------------------------------------------------------


@PROPERTY
@given(
    body=plausible(sentences),
    target=st.sampled_from(["top", "deepest", "deleted"]),
    way=ways,
    author=st.booleans(),
)
@example(body="\u200b \u200b", target="top", way={"htmx": True, "urlencoded": False}, author=True)
def test_edit_form_any_input(db, seeded_article, make_browser, body, target, way, author):
    with one_example():
        thread = _thread(seeded_article, owner_token="editor")
        Comment.objects.filter(pk__in=[thread[t].pk for t in ("deepest", "deleted")]).update(
            reader_token="editor"
        )
        browser = make_browser(token="editor" if author else "somebody-else")
        url = reverse("comments:edit", kwargs={"pk": thread[target].pk})
        send(browser, "GET", url, htmx=way["htmx"])
        send(browser, "POST", url, {"body": body}, **way)


# --- The report form -------------------------------------------------------------------------


@PROPERTY
@given(
    reports=st.lists(
        st.fixed_dictionaries(
            {
                "reason": plausible(st.sampled_from(CommentReport.Reason.values)),
                "note": plausible(st.one_of(st.just(""), sentences)),
                "reader": st.sampled_from(["guest-a", "guest-b", "author", "new guest"]),
                "address": st.sampled_from(["127.0.0.1", "10.0.0.2", "10.0.0.3"]),
                "way": ways,
            }
        ),
        min_size=1,
        max_size=3,
    ),
    target=st.sampled_from(["top", "middle", "deepest", "held"]),
)
def test_report_form_any_input(db, seeded_article, make_browser, reports, target):
    with one_example(), override_settings(EVR_REPORTS_TO_HIDE=2):
        thread = _thread(seeded_article, owner_token="author")
        url = reverse("comments:report", kwargs={"pk": thread[target].pk})
        for report in reports:
            who = report["reader"]
            browser = make_browser(
                "new guest" if who == "new guest" else "guest", token=who, address=report["address"]
            )
            send(browser, "GET", url, htmx=report["way"]["htmx"])
            fields = {"reason": report["reason"], "note": report["note"]}
            send(browser, "POST", url, fields, **report["way"])


# --- Helpful marks ---------------------------------------------------------------------------


@PROPERTY
@given(
    marks=st.lists(
        st.tuples(
            st.sampled_from(["guest-a", "guest-b", "author", "new guest", "account"]),
            st.sampled_from(["127.0.0.1", "10.0.0.2"]),
            st.sampled_from(["top", "middle", "deepest", "held", "deleted", "missing"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_helpful_marks_any_order(db, seeded_article, make_browser, marks):
    """Marks and unmarks in any order, by any reader: helpful_count stays the marks' count."""
    with one_example():
        thread = _thread(seeded_article, owner_token="author")
        browsers = {}
        for who, address, target, htmx in marks:
            if who not in browsers:
                kind = who if who in ("new guest", "account") else "guest"
                browsers[who] = make_browser(kind, token=who, address=address)
            pk = thread[target].pk if target in thread else 10**9
            send(browsers[who], "POST", reverse("comments:helpful", kwargs={"pk": pk}), htmx=htmx)


# --- The poll vote ---------------------------------------------------------------------------

NAMED_CHOICES = ["own 0", "own 1", "own 2", "other poll", "closed poll"]


@PROPERTY
@given(
    choices=st.lists(plausible(st.sampled_from(NAMED_CHOICES)), min_size=1, max_size=3),
    voter=readers,
    way=ways,
    allow_change=st.booleans(),
)
def test_poll_vote_any_input(
    db, seeded_article, make_browser, make_poll, choices, voter, way, allow_change
):
    with one_example():
        poll = seeded_article.polls.order_by("position", "pk").first()
        Poll.objects.filter(pk=poll.pk).update(allow_vote_change=allow_change)
        own = list(poll.choices.order_by("position", "pk"))
        closed_poll = make_poll(closes_at=timezone.now() - timedelta(days=1))
        named = {
            "own 0": own[0].pk,
            "own 1": own[1 % len(own)].pk,
            "own 2": own[-1].pk,
            "other poll": make_poll().choices.first().pk,
            "closed poll": closed_poll.choices.first().pk,
        }

        def value(choice):
            if isinstance(choice, list):
                return [value(item) for item in choice]
            return str(named[choice]) if choice in named else choice

        browser = make_browser(voter)
        url = reverse("comments:poll_vote", kwargs={"pk": poll.pk})
        for choice in choices:
            send(browser, "POST", url, {"choice": value(choice)}, **way)
        send(browser, "GET", url, htmx=way["htmx"])  # a vote by GET is refused, not a 5xx
        closed_url = reverse("comments:poll_vote", kwargs={"pk": closed_poll.pk})
        send(browser, "POST", closed_url, {"choice": value(choices[0])}, **way)


# --- Sign-up and log-in ----------------------------------------------------------------------

usernames = plausible(
    st.one_of(
        st.from_regex(r"[\w.@+-]{1,150}", fullmatch=True),
        st.sampled_from(["existing", "EXISTING", "Existing", "existing ", "\uff45xisting"]),
    )
)
passwords = plausible(st.sampled_from(["a-long-Passw0rd!", "Another-l0ng-one?", "password"]))
next_urls = plausible(
    st.sampled_from(["/", f"/articles/{SEEDED_SLUG}/", "//evil.example/", "https://evil.example"])
)
PASSWORD = "a-long-Passw0rd!"


@PROPERTY
@given(
    username=usernames,
    password1=passwords,
    same=st.booleans(),
    password2=passwords,
    next_url=next_urls,
    way=ways,
)
@example(
    username="newreader",
    password1=PASSWORD,
    same=True,
    password2=OMIT,
    next_url="comments",
    way={"htmx": False, "urlencoded": False},
).via("a next address without a slash")
@example(
    username="\u3164",
    password1=PASSWORD,
    same=True,
    password2=OMIT,
    next_url=OMIT,
    way={"htmx": False, "urlencoded": False},
).via("a username that shows nothing")
def test_signup_any_input(
    db, make_browser, make_user, username, password1, same, password2, next_url, way
):
    with one_example():
        make_user("existing", password=PASSWORD)
        browser = make_browser("new guest")
        fields = {
            "username": username,
            "password1": password1,
            "password2": password1 if same else password2,
            "next": next_url,
        }
        send(browser, "GET", reverse("signup"), {"next": next_url}, htmx=way["htmx"])
        send(browser, "POST", reverse("signup"), fields, **way)


@PROPERTY
@given(username=usernames, password=passwords, next_url=next_urls, way=ways)
@example(
    username="existing",
    password=PASSWORD,
    next_url="comments",
    way={"htmx": False, "urlencoded": False},
).via("the right password")
def test_login_any_input(db, make_browser, make_user, username, password, next_url, way):
    with one_example():
        user = make_user("existing", password=PASSWORD)
        assert is_password_usable(user.password)
        browser = make_browser("new guest")
        send(browser, "GET", reverse("login"), {"next": next_url}, htmx=way["htmx"])
        fields = {"username": username, "password": password, "next": next_url}
        send(browser, "POST", reverse("login"), fields, **way)


# --- Query parameters ------------------------------------------------------------------------

PARAMETERS = ["sort", "stance", "page", "upto", "since", "known", "anchor"]
parameter_values = st.one_of(
    st.sampled_from(["newest", "oldest", "helpful", "discussed", "both", "1", "2", "0", "-1", ""]),
    st.sampled_from(["p-1", "k-1", "p-99", "fact-1", "fact-0"]),
    st.sampled_from(["stance 0", "stance 1", "latest", "latest+1"]),
    naughty_text,
)
queries = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(PARAMETERS), st.text(min_size=1, max_size=10)),
        parameter_values,
    ),
    max_size=6,
)
# What a client may put in the query string itself: any bytes (WSGI hands them on as latin-1).
raw_queries = st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))

ENDPOINTS = [
    "home",
    "article",
    "list",
    "more",
    "new",
    "permalink",
    "poll",
    "poll results",
    "poll json",
    "facts json",
    "discuss",
    "correction form",
    "correction sent",
    "comments feed",
]


@PROPERTY
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    query=queries,
    raw=st.one_of(st.none(), raw_queries),
    htmx=st.booleans(),
    trigger=st.sampled_from(
        [None, "show-new-comments", "comment-controls", "stance-link-1", "claim-comments-p-1"]
    ),
    reader=st.sampled_from(["anonymous", "guest who voted", "account"]),
)
def test_query_parameters_any_input(
    db, seeded_article, make_browser, endpoint, query, raw, htmx, trigger, reader
):
    with one_example():
        thread = _thread(seeded_article)
        poll = seeded_article.polls.order_by("position", "pk").first()
        choices = list(poll.choices.order_by("position", "pk"))
        if reader == "anonymous":
            browser = make_browser("new guest")
        else:
            browser = make_browser("account" if reader == "account" else "guest")
            vote = reverse("comments:poll_vote", kwargs={"pk": poll.pk})
            send(browser, "POST", vote, {"choice": str(choices[0].pk)}, htmx=True)
        slug = {"slug": seeded_article.slug}
        url = {
            "home": reverse("articles:home"),
            "article": reverse("articles:detail", kwargs=slug),
            "list": reverse("comments:list", kwargs=slug),
            "more": reverse("comments:more", kwargs=slug),
            "new": reverse("comments:new", kwargs=slug),
            "permalink": reverse("comments:permalink", kwargs={"pk": thread["deepest"].pk}),
            "poll": reverse("comments:poll", kwargs={"pk": poll.pk}),
            "poll results": reverse("comments:poll_results", kwargs={"pk": poll.pk}),
            "poll json": reverse("comments:poll_results_json", kwargs={"pk": poll.pk}),
            "facts json": reverse("articles:facts_json", kwargs=slug),
            "discuss": reverse("comments:anchor", kwargs=slug),
            "correction form": reverse("articles:correction_new", kwargs=slug),
            "correction sent": reverse("articles:correction_sent", kwargs=slug),
            "comments feed": reverse("feed_article_comments", kwargs=slug),
        }[endpoint]
        latest = thread["deleted"].pk
        named = {
            "stance 0": str(choices[0].pk),
            "stance 1": str(choices[-1].pk),
            "latest": str(latest),
            "latest+1": str(latest + 1),
        }
        pairs = [(key, named.get(value, value)) for key, value in query]
        headers = {"HX-Request": "true"} if htmx else {}
        if trigger:
            headers["HX-Trigger"] = trigger
        query_string = raw if raw is not None else urlencode(pairs)
        response = browser.get(url, headers=headers, QUERY_STRING=query_string)
        status = response.status_code
        event(f"GET {endpoint} answered {status}")
        assert status < 500, f"GET {url}?{query_string} answered {status}"


def test_rate_limits_are_off_here(settings):
    """The fixture found the limits this file must switch off (and they are off)."""
    names = rate_limit_setting_names()
    assert {"EVR_COMMENTS_PER_MINUTE", "EVR_COMMENTS_PER_HOUR", "EVR_POLL_VOTES_PER_IP"} <= set(
        names
    )
    assert all(getattr(settings, name) == 0 for name in names)
