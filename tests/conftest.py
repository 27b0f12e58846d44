"""What the whole suite shares: one way to do each thing.

Fixtures (ask for them by name):
  client, htmx        one reader's browser: `client` gets full pages, `htmx` sends the same
                      reader's requests as htmx does (HX-Request: true), same session and cookies
  make_client         another reader's browser (its own session), optionally a guest `token`
                      and an `address`; every client has `.htmx` too
  seeded_article      the shipped article with its facts and poll (loaded once per session)
  without_seed        a database without the shipped article, for tests of an empty site
  make_article, article, make_poll, poll, make_user, reader, staff_user,
  add_comment, add_vote, add_votes      test data

Plain functions (import them from tests.conftest):
  post_comment        post the comment form (a new comment, or a reply) as a reader would
  element, elements   the element(s) of a page that a CSS selector finds, to assert on
  first_element       the first element of a fragment: what htmx swaps in
  text                an element's text with its whitespace collapsed
"""

import itertools
import time
from datetime import timedelta
from functools import cached_property

import pytest
from bs4 import BeautifulSoup, Tag
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.management import call_command
from django.http import HttpResponseBase
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Brand, CarModel, Fact, Paragraph, Platform
from comments.forms import form_stamp
from comments.models import Comment, Poll, PollChoice, Vote
from comments.readers import READER_TOKEN_SESSION_KEY
from evsite.caching import forget_shared_versions

SEEDED_SLUG = "nissan-small-ev-below-leaf"
HTMX_HEADERS = {"HX-Request": "true"}


def _clear_caches():
    for configured in caches.all():
        configured.clear()
    forget_shared_versions()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Test accounts need no costly password hashing (as Django's own test suite does)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate limits and cached pages live in the caches: every test starts with none used."""
    _clear_caches()
    yield
    _clear_caches()


# --- Browsers --------------------------------------------------------------------------------


class HtmxRequests:
    """The requests of one `ReaderClient` as htmx sends them: with `HX-Request: true`.

    It is the same browser (one session and cookie jar): `htmx.force_login(...)` and
    `client.force_login(...)` sign in the same reader.
    """

    METHODS = {"get", "post", "head", "options", "put", "patch", "delete", "trace"}

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        attribute = getattr(self.client, name)
        if name not in self.METHODS:
            return attribute

        def request(*args, headers=None, **kwargs):
            return attribute(*args, headers={**HTMX_HEADERS, **(headers or {})}, **kwargs)

        return request


class ReaderClient(Client):
    """A Django test client for one reader; `.htmx` sends their requests as htmx does."""

    @cached_property
    def htmx(self):
        return HtmxRequests(self)


@pytest.fixture
def client():
    """The reader under test, requesting full pages (as without JavaScript)."""
    return ReaderClient()


@pytest.fixture
def htmx(client):
    """The same reader as `client` (same session and cookies), requesting as htmx does."""
    return client.htmx


@pytest.fixture
def make_client(db):
    """Another reader's browser: a guest with their own `token`, from `address` if given."""

    def make(*, token=None, address=None, **options):
        if address is not None:
            options["REMOTE_ADDR"] = address
        browser = ReaderClient(**options)
        if token is not None:
            session = browser.session
            session[READER_TOKEN_SESSION_KEY] = token
            session.save()
        return browser

    return make


def post_comment(client, article=None, *, reply_to=None, **fields):
    """Post the comment form to `article`, or as a reply to the comment `reply_to`.

    The form is stamped as rendered ten seconds ago, so it is not refused as "too fast";
    pass `rendered_at` to send another stamp. Send it with `htmx` for an htmx request.
    """
    if (article is None) == (reply_to is None):
        raise TypeError("post_comment needs either an article or reply_to")
    data = {
        "author_name": "Guest Reader",
        "body": "Small EVs make sense in cities.",
        # Made for this browser: bound to the CSRF secret its cookie holds, if it has one.
        "rendered_at": form_stamp(
            getattr(client.cookies.get(settings.CSRF_COOKIE_NAME), "value", ""),
            now=time.time() - 10,
        ),
        **fields,
    }
    if reply_to is not None:
        url = reverse("comments:reply", kwargs={"pk": reply_to.pk})
    else:
        url = reverse("comments:create", kwargs={"slug": article.slug})
    return client.post(url, data)


# --- Time ---------------------------------------------------------------------------------------

# 12:00:15 on some day: 45 seconds left in the minute, 59 min 45 s left in the hour.
RATE_LIMIT_START = 1_800_000_000 - 1_800_000_000 % 3600 + 15


class FakeClock:
    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The rate limiter's clock, stopped at `RATE_LIMIT_START` (move it with `.now`): a
    test's attempts all fall in the same limit windows, however long the test takes."""
    from comments import ratelimit

    fake = FakeClock(RATE_LIMIT_START)
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


# --- Reading pages ---------------------------------------------------------------------------


def _soup(html):
    if isinstance(html, Tag):
        return html
    if isinstance(html, HttpResponseBase):
        html = html.content.decode()
    return BeautifulSoup(html, "html.parser")


def elements(html, selector):
    """Every element of `html` (a page, a response or an element) the CSS `selector` finds."""
    return _soup(html).select(selector)


def element(html, selector):
    """The one element of `html` the CSS `selector` finds; fails when none or several match."""
    found = elements(html, selector)
    assert len(found) == 1, f"{len(found)} elements match {selector!r}"
    return found[0]


def first_element(html):
    """The first element of `html`: the one an htmx fragment swaps in."""
    return _soup(html).find(True)


def text(node):
    """The text of an element, its runs of whitespace collapsed to one space."""
    return " ".join(node.get_text().split())


# --- Test data -------------------------------------------------------------------------------


def _load_seed():
    call_command("load_seed", verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the shipped article loaded once for the whole session.

    Each test still runs in a transaction that is rolled back, so a test that changes the
    seed changes it for itself only.
    """
    with django_db_blocker.unblock():
        _load_seed()


@pytest.fixture
def seeded_article(db):
    """The shipped article with its facts and poll, loaded as `make run` does."""
    article = Article.objects.filter(slug=SEEDED_SLUG).first()
    if article is None:  # a transactional test before this one emptied the database
        _load_seed()
        article = Article.objects.get(slug=SEEDED_SLUG)
    return article


@pytest.fixture
def without_seed(db):
    """A site without the shipped article, its facts, models and poll (for this test only)."""
    for model in (Fact, Article, CarModel, Platform, Brand):
        model.objects.all().delete()


@pytest.fixture
def make_article(db):
    def make(paragraphs=("First paragraph.", "Second paragraph."), **overrides):
        fields = {
            "headline": "A test article",
            "slug": f"test-article-{Article.objects.count() + 1}",
            "standfirst": "What the test article is about.",
            "status": Article.Status.PUBLISHED,
            "published_at": timezone.now() - timezone.timedelta(hours=1),
        }
        fields.update(overrides)
        article = Article.objects.create(**fields)
        Paragraph.objects.bulk_create(
            Paragraph(article=article, kind=Paragraph.Kind.BODY, position=number, text=text)
            for number, text in enumerate(paragraphs, start=1)
        )
        return article

    return make


@pytest.fixture
def article(make_article):
    """A published test article (not the seeded one)."""
    return make_article()


@pytest.fixture
def make_poll(make_article):
    def make(article=None, labels=("Yes", "A city niche", "No"), **fields):
        poll = Poll.objects.create(
            article=article or make_article(),
            question=fields.pop("question", "Will small EVs sell?"),
            opens_at=fields.pop("opens_at", timezone.now() - timezone.timedelta(days=3)),
            **fields,
        )
        PollChoice.objects.bulk_create(
            PollChoice(poll=poll, label=label, position=position)
            for position, label in enumerate(labels, start=1)
        )
        return poll

    return make


@pytest.fixture
def poll(make_poll, article):
    """An open poll on `article`: "Yes", "A city niche", "No"."""
    return make_poll(article=article)


@pytest.fixture
def make_user(db):
    def make(username="reader", password="a-long-Passw0rd!", **extra):
        return get_user_model().objects.create_user(username=username, password=password, **extra)

    return make


@pytest.fixture
def reader(make_user):
    return make_user("reader")


@pytest.fixture
def moderator(make_user):
    """A staff member in the Moderators group."""
    user = make_user("moderator", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def staff_user(make_user):
    return make_user("editor-in-chief", is_staff=True, is_superuser=True)


@pytest.fixture
def add_comment(db):
    """A comment saved straight to the database, as an existing discussion has them.

    By a guest ("other-reader") unless `user` or `reader_token` says whose it is.
    """

    def add(article, body="A comment.", parent=None, minutes_ago=0, **fields):
        user = fields.get("user")
        fields.setdefault("author_name", user.get_username() if user else "Someone")
        if user is None:
            fields.setdefault("reader_token", "other-reader")
        fields.setdefault("created_at", timezone.now() - timedelta(minutes=minutes_ago))
        return Comment.objects.create(
            article=article,
            parent=parent,
            depth=parent.depth + 1 if parent else 0,
            body=body,
            **fields,
        )

    return add


_guest_numbers = itertools.count(1)


def _recount(poll):
    """Set the poll's vote counters from its votes, as `manage.py poll_recount` does."""
    from comments.polls.services import polls_recount

    polls_recount(polls=[poll])


@pytest.fixture
def add_vote(db):
    """One reader's vote for `choice`: the account `user`, else the guest `reader_token`.

    Saved straight to the database (no rate limits, no refusals), with the poll's vote
    counters kept right.
    """

    def add(choice, *, user=None, reader_token=None, **fields):
        if user is None and reader_token is None:
            reader_token = f"guest-{next(_guest_numbers)}"
        vote = Vote.objects.create(
            poll=choice.poll, choice=choice, user=user, reader_token=reader_token or "", **fields
        )
        _recount(choice.poll)
        return vote

    return add


@pytest.fixture
def add_votes(db):
    """Guest votes: counts[n] votes for the choice at position n + 1 of `poll`."""

    def add(poll, *counts, created_at=None):
        choices = list(poll.choices.order_by("position"))
        Vote.objects.bulk_create(
            Vote(
                poll=poll,
                choice=choices[index],
                reader_token=f"guest-{next(_guest_numbers)}",
                created_at=created_at or timezone.now(),
            )
            for index, count in enumerate(counts)
            for _ in range(count)
        )
        _recount(poll)

    return add
