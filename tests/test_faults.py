"""When something is wrong: unreadable requests, error pages, a database that cannot take a
write, a cache that is down, and the health check that says so.

Tests without the `db` fixture run with the database blocked (pytest-django raises on any
connection), so an error page that touched it would fail them.
"""

import logging
import sqlite3
import time

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, InternalError, OperationalError, connection
from django.test import RequestFactory
from django.urls import path, reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from comments import ratelimit
from comments.models import Comment
from evsite import errors
from evsite import urls as site_urls
from tests.conftest import ReaderClient, element, post_comment, text

UTF16 = "application/x-www-form-urlencoded; charset=utf-16"
NOWHERE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
REDIS_DOWN = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": NOWHERE_REDIS,
    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
}


# --- A URLconf with views that fail, and the site's own URLs and handlers --------------------


def _bug(request):
    raise RuntimeError("a bug in a view")


def _forbidden(request):
    raise PermissionDenied


def _locked(request):
    raise locked()


def _session_then_ok(request):
    from django.http import HttpResponse

    request.session["touched"] = True
    return HttpResponse("saved?")


urlpatterns = [
    path("test-faults/bug/", _bug),
    path("test-faults/forbidden/", _forbidden),
    path("test-faults/locked/", _locked),
    path("test-faults/session/", _session_then_ok),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500


@pytest.fixture(autouse=True)
def _fresh_fault_state():
    reset_fault_state()
    yield
    reset_fault_state()


def reset_fault_state():
    """The limiter's fallback and the 503 warning's clock are per process: start afresh."""
    ratelimit.shared.reset()
    ratelimit.local.clear()
    errors._last_warning.clear()


def assert_error_page(response, status, title):
    """The site's own error page: its header, stylesheet and a heading saying what is wrong."""
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert text(element(response, "h1")) == title
    assert element(response, "header.site-header a.site-name")["href"] == "/"
    assert element(response, 'link[rel="stylesheet"]')["href"].endswith("css/site.css")
    assert element(response, "main#main")
    assert response["Cache-Control"] == "no-store"


def assert_htmx_notice(response, status):
    """The short answer to htmx: one paragraph, put after the element that asked."""
    assert response.status_code == status
    notice = element(response, "p.request-error")
    assert notice["role"] == "alert"
    assert len(response.content) < 400
    assert response["HX-Retarget"] == "this"
    assert response["HX-Reswap"] == "afterend"


# --- 1. A form in another charset is a 400, never a 500 --------------------------------------


@pytest.fixture
def post_urls(seeded_article, add_comment, poll):
    """Every URL that takes a POST (comments, replies, reactions, the poll, accounts)."""
    comment = add_comment(seeded_article)
    by_comment = ["reply", "edit", "delete", "stance", "helpful", "report"]
    return [
        reverse("comments:create", kwargs={"slug": seeded_article.slug}),
        *(reverse(f"comments:{name}", kwargs={"pk": comment.pk}) for name in by_comment),
        reverse("comments:poll_vote", kwargs={"pk": poll.pk}),
        reverse("signup"),
        reverse("login"),
        reverse("logout"),
    ]


def csrf_checked_client():
    """A browser that holds a CSRF cookie, with the CSRF check on as in production."""
    browser = ReaderClient(enforce_csrf_checks=True)
    browser.cookies[django_settings.CSRF_COOKIE_NAME] = "a" * 32
    return browser


def utf16_post(browser, url, **headers):
    # The test client encodes the body in the charset the Content-Type names.
    body = "body=Hello&author_name=Guest&choice=1&csrfmiddlewaretoken=x"
    return browser.post(url, body, content_type=UTF16, headers=headers)


def test_a_form_in_utf16_is_a_400_page_on_every_post_url(post_urls, django_assert_num_queries):
    browser = csrf_checked_client()
    for url in post_urls:
        with django_assert_num_queries(0):
            response = utf16_post(browser, url)
        assert_error_page(response, 400, "Bad request")


def test_a_form_in_utf16_is_a_short_400_notice_for_htmx(post_urls):
    browser = csrf_checked_client()
    for url in post_urls:
        assert_htmx_notice(utf16_post(browser, url, **{"HX-Request": "true"}), 400)


def test_a_form_in_utf16_is_a_400_when_the_view_reads_it_too(post_urls, seeded_article):
    """Without the CSRF check (the test client's default) the view is the first to read it;
    views that never read the form (log out, delete) answer as usual."""
    browser = ReaderClient(raise_request_exception=False)
    for url in post_urls:
        assert utf16_post(browser, url).status_code < 500, url
    create = reverse("comments:create", kwargs={"slug": seeded_article.slug})
    assert_error_page(utf16_post(browser, create), 400, "Bad request")


def test_a_form_in_utf16_without_a_csrf_cookie_is_the_csrf_page(post_urls):
    browser = ReaderClient(enforce_csrf_checks=True)
    for url in post_urls:
        assert_error_page(utf16_post(browser, url), 403, "Your form has expired")


# --- 2. Error pages need no database, session or user ----------------------------------------


def test_not_found_is_the_sites_page_without_the_database(client):
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "a-session-that-is-never-read"
    assert_error_page(client.get("/no-such-page/"), 404, "Page not found")


def test_not_found_for_htmx_is_a_short_notice(client):
    assert_htmx_notice(client.get("/no-such-page/", headers={"HX-Request": "true"}), 404)


def test_the_csrf_failure_is_the_sites_page_without_the_database():
    browser = ReaderClient(enforce_csrf_checks=True)
    response = browser.post("/articles/any/comments/post/", {"body": "Hi"})
    assert_error_page(response, 403, "Your form has expired")


@pytest.mark.urls("tests.test_faults")
def test_permission_denied_is_the_sites_page_without_the_database(client):
    assert_error_page(client.get("/test-faults/forbidden/"), 403, "Not allowed")


@pytest.mark.urls("tests.test_faults")
def test_a_bug_is_the_sites_500_page_without_the_database():
    browser = ReaderClient(raise_request_exception=False)
    assert_error_page(browser.get("/test-faults/bug/"), 500, "Something went wrong")
    htmx = browser.get("/test-faults/bug/", headers={"HX-Request": "true"})
    assert_htmx_notice(htmx, 500)


@pytest.mark.parametrize(
    ("handler", "status", "title"),
    [
        (errors.bad_request, 400, "Bad request"),
        (errors.permission_denied, 403, "Not allowed"),
        (errors.csrf_failure, 403, "Your form has expired"),
        (errors.page_not_found, 404, "Page not found"),
        (errors.server_error, 500, "Something went wrong"),
    ],
)
def test_every_handler_answers_with_a_broken_request_and_no_database(handler, status, title):
    """Nothing of the request is read but its htmx header: not the user, session or form."""

    class Exploding:
        def __getattr__(self, name):
            raise AssertionError(f"the error page read request.{name}")

    request = RequestFactory().post("/x/", "body=Hello", content_type=UTF16)
    request.user = request.session = Exploding()
    assert_error_page(handler(request), status, title)


def test_an_error_page_whose_template_fails_is_still_a_page(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("template trouble")

    monkeypatch.setattr(errors, "render_to_string", broken)
    response = errors.page_not_found(RequestFactory().get("/x/"))
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.text


# --- 3. Redis down: rate limits count in the worker -----------------------------------------


@pytest.fixture
def limiter_cache_down(monkeypatch):
    """The rate limiter's cache is a Redis where nothing listens (the rest of the site is not:
    see the tests further down for that)."""
    from django.core.cache.backends.redis import RedisCache

    down = RedisCache(NOWHERE_REDIS, {"OPTIONS": REDIS_DOWN["OPTIONS"]})
    monkeypatch.setattr(ratelimit, "cache", down)
    return down


def test_with_redis_down_rate_limits_count_in_the_worker_and_warn_once(limiter_cache_down, caplog):
    caplog.set_level(logging.WARNING, logger="comments.ratelimit")
    limits = [(3, 60)]
    answers = [ratelimit.rate_limit_retry_after("test", ["user:1"], limits) for _ in range(5)]
    assert answers[:3] == [None, None, None]
    assert all(wait is not None and 1 <= wait <= 60 for wait in answers[3:])
    warnings = [r for r in caplog.records if r.name == "comments.ratelimit"]
    assert len(warnings) == 1
    assert "cannot answer" in warnings[0].getMessage()


def test_rate_limits_go_back_to_redis_when_it_answers_again(
    limiter_cache_down, monkeypatch, caplog
):
    from django.core.cache import caches

    working = caches["default"]

    caplog.set_level(logging.WARNING, logger="comments.ratelimit")
    assert ratelimit.rate_limit_retry_after("test", ["user:1"], [(3, 60)]) is None
    assert ratelimit.shared.down_since is not None
    monkeypatch.setattr(ratelimit, "cache", working)
    # Within the retry interval the worker keeps counting by itself...
    assert ratelimit.rate_limit_retry_after("test", ["user:1"], [(3, 60)]) is None
    assert not any(key.startswith("ratelimit:") for key in _cached_keys(working))
    # ...then tries the shared cache again, and stays with it.
    monkeypatch.setattr(ratelimit.shared, "retry_at", time.time() - 1)
    assert ratelimit.rate_limit_retry_after("test", ["user:1"], [(3, 60)]) is None
    assert ratelimit.shared.down_since is None
    messages = [r.getMessage() for r in caplog.records if r.name == "comments.ratelimit"]
    assert len(messages) == 2 and "answers again" in messages[1]


def test_another_cache_configuration_starts_the_limiter_afresh(limiter_cache_down, settings):
    assert ratelimit.rate_limit_retry_after("test", ["user:1"], [(3, 60)]) is None
    assert ratelimit.shared.down_since is not None and ratelimit.local.counters
    settings.CACHES = {**settings.CACHES}
    assert ratelimit.shared.down_since is None and not ratelimit.local.counters


def _cached_keys(cache):
    # LocMemCache (the suite's default cache) or Redis (REDIS_URL set): which keys are held.
    from django.core.cache.backends.locmem import LocMemCache

    if isinstance(cache, LocMemCache):
        return [key.split(":", 2)[-1] for key in cache._cache]
    return [key.decode().split(":", 2)[-1] for key in cache._cache.get_client().keys("*")]


def test_with_redis_down_a_comment_is_still_posted(limiter_cache_down, client, article):
    response = post_comment(client, article, body="Posted while Redis is down.")
    assert response.status_code == 302
    assert Comment.objects.filter(body="Posted while Redis is down.").exists()


@pytest.fixture
def redis_down(settings):
    """The whole site's cache is a Redis where nothing listens: sessions, versions, pages."""
    settings.CACHES = {**settings.CACHES, "default": REDIS_DOWN}


def test_with_all_of_redis_down_readers_read_and_post(redis_down, seeded_article, caplog):
    """Pages are rendered afresh (evsite/caching.py), sessions live in the database
    (evsite/sessions.py), rate limits count in the worker: nothing answers 5xx."""
    browser = ReaderClient(raise_request_exception=False)
    assert browser.get(seeded_article.get_absolute_url()).status_code == 200
    posted = post_comment(browser, seeded_article, body="Posted with all of Redis down.")
    assert posted.status_code == 302
    assert browser.get(posted["Location"], follow=True).status_code == 200
    assert browser.htmx.get(seeded_article.get_absolute_url()).status_code == 200
    assert Comment.objects.filter(body="Posted with all of Redis down.").exists()
    limiter_warnings = [r for r in caplog.records if r.name == "comments.ratelimit"]
    assert len(limiter_warnings) == 1


# --- 4. A database that cannot take a write: 503 within seconds, reads still served ----------


def test_the_sqlite_busy_timeout_is_a_few_seconds():
    options = django_settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "sqlite":
        assert 1 <= options["timeout"] <= 5
    else:
        assert 1 <= options["connect_timeout"] <= 10


def failing_writes(make_error):
    """A context in which every INSERT, UPDATE or DELETE raises `make_error()`."""

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise make_error()
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


@pytest.fixture
def writes_fail(db):
    return failing_writes


def _caused(django_error, cause):
    """`django_error` as Django raises it: wrapping the driver's `cause`."""
    django_error.__cause__ = cause
    return django_error


def locked():
    message = "database is locked"
    return _caused(OperationalError(message), sqlite3.OperationalError(message))


def read_only_sqlite():
    message = "attempt to write a readonly database"
    return _caused(OperationalError(message), sqlite3.OperationalError(message))


def read_only_postgres():
    message = "cannot execute INSERT in a read-only transaction"
    return _caused(InternalError(message), psycopg.errors.ReadOnlySqlTransaction(message))


def connection_lost():
    message = "server closed the connection unexpectedly"
    return _caused(OperationalError(message), psycopg.OperationalError(message))


@pytest.mark.parametrize(
    "failure",
    [locked, read_only_sqlite, read_only_postgres, connection_lost],
    ids=["sqlite-locked", "sqlite-read-only", "postgres-read-only", "postgres-connection"],
)
def test_a_comment_the_database_cannot_take_is_a_503_page(writes_fail, client, article, failure):
    with writes_fail(failure):
        response = post_comment(client, article, body="Not saved.")
    assert_error_page(response, 503, "Temporarily unavailable")
    assert "was not saved" in text(element(response, "main"))
    assert int(response["Retry-After"]) > 0
    assert not Comment.objects.filter(body="Not saved.").exists()


def test_a_comment_the_database_cannot_take_is_a_short_503_for_htmx(writes_fail, htmx, article):
    with writes_fail(locked):
        response = post_comment(htmx, article)
    assert_htmx_notice(response, 503)
    assert int(response["Retry-After"]) > 0


def test_a_vote_and_a_login_the_database_cannot_take_are_503(writes_fail, client, poll, reader):
    choice = poll.choices.first()
    with writes_fail(locked):
        vote = client.post(
            reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": choice.pk}
        )
        login = client.post(
            reverse("login"), {"username": "reader", "password": "a-long-Passw0rd!"}
        )
    assert vote.status_code == 503
    assert login.status_code == 503


def test_the_503_is_logged_once_a_minute_not_per_request(writes_fail, client, article, caplog):
    caplog.set_level(logging.WARNING, logger="evsite.errors")
    with writes_fail(locked):
        for _ in range(3):
            assert post_comment(client, article).status_code == 503
    warnings = [r for r in caplog.records if r.name == "evsite.errors"]
    assert len(warnings) == 1
    assert "database is locked" in warnings[0].getMessage()


def test_a_bug_in_the_database_layer_stays_a_500(writes_fail, article):
    browser = ReaderClient(raise_request_exception=False)
    with writes_fail(lambda: IntegrityError("NOT NULL constraint failed")):
        response = post_comment(browser, article)
    assert_error_page(response, 500, "Something went wrong")


@pytest.mark.urls("tests.test_faults")
def test_a_session_that_cannot_be_saved_is_a_503_logged_once(db, monkeypatch, caplog):
    """Saved by the session middleware, after the view (e.g. a new guest refused a comment):
    the same 503, and one warning rather than a traceback per request."""
    from django.contrib.sessions.backends.db import SessionStore

    def save(self, must_create=False):  # the database write under every session store
        raise locked()

    monkeypatch.setattr(SessionStore, "save", save)
    browser = ReaderClient(raise_request_exception=False)
    for _ in range(2):
        response = browser.get("/test-faults/session/")
        assert_error_page(response, 503, "Temporarily unavailable")
        assert response["Retry-After"]
    assert [r.name for r in caplog.records if r.exc_info] == []
    assert len([r for r in caplog.records if r.name == "evsite.errors"]) == 1


@pytest.mark.urls("tests.test_faults")
def test_a_failure_outside_any_view_is_still_a_503_through_handler500(db, monkeypatch):
    """The backstop: a database or cache error raised by any middleware (here the session's,
    bypassing its own handling) reaches handler500, which answers 503, not 500."""
    from django.contrib.sessions.middleware import SessionMiddleware

    def failing(self, request, response):
        raise locked()

    monkeypatch.setattr(SessionMiddleware, "process_response", failing)
    browser = ReaderClient(raise_request_exception=False)
    response = browser.get("/test-faults/session/")
    assert_error_page(response, 503, "Temporarily unavailable")
    assert response["Retry-After"]


@pytest.mark.urls("tests.test_faults")
def test_a_view_that_finds_the_database_locked_is_a_503():
    browser = ReaderClient(raise_request_exception=False)
    assert_error_page(browser.get("/test-faults/locked/"), 503, "Temporarily unavailable")


@pytest.fixture
def read_only_database(transactional_db):
    """The real thing: the database connection refuses every write (SQLite's query_only,
    PostgreSQL's default_transaction_read_only)."""
    on, off = {
        "sqlite": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
        "postgresql": (
            "SET default_transaction_read_only = on",
            "SET default_transaction_read_only = off",
        ),
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(on)
    yield
    with connection.cursor() as cursor:
        cursor.execute(off)


def test_a_read_only_database_keeps_serving_pages_and_answers_writes_with_503(
    seeded_article, read_only_database
):
    browser = ReaderClient(raise_request_exception=False)
    page = browser.get(seeded_article.get_absolute_url())
    assert page.status_code == 200
    posted = post_comment(browser, seeded_article, body="Read-only.")
    assert_error_page(posted, 503, "Temporarily unavailable")
    assert posted["Retry-After"]
    assert browser.get(seeded_article.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (locked(), "database"),
        (read_only_sqlite(), "database"),
        (read_only_postgres(), "database"),
        (connection_lost(), "database"),
        (_caused(OperationalError("shutdown"), psycopg.errors.AdminShutdown("x")), "database"),
        (
            _caused(OperationalError("no such table"), sqlite3.OperationalError("no such table")),
            None,
        ),
        (_caused(IntegrityError("duplicate"), psycopg.errors.UniqueViolation("x")), None),
        (RedisConnectionError("Connection refused"), "cache"),
        (sqlite3.OperationalError("database is locked"), "cache"),  # the disk cache's own
        (sqlite3.OperationalError("no such table: Cache"), None),
        (RuntimeError("a bug"), None),
        (None, None),
    ],
)
def test_which_failures_mean_try_again_later(exception, expected):
    assert errors.unavailable(exception) == expected


# --- 5. /healthz ------------------------------------------------------------------------------


def test_healthz_says_ok_with_one_query_and_no_session(db, client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"
    assert not response.cookies
    assert reverse("healthz") == "/healthz"


def test_healthz_answers_plain_http_and_any_host(db, settings):
    """A load balancer probes the app server by its address, over plain HTTP."""
    settings.SECURE_SSL_REDIRECT = True
    response = ReaderClient().get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200


def test_healthz_says_which_part_is_down(db, redis_down):
    response = ReaderClient().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "cache": "error"}
    assert response["Cache-Control"] == "no-store"


def test_healthz_with_the_database_down(db, client, monkeypatch):
    def refused(*args, **kwargs):
        raise _caused(OperationalError("connection refused"), psycopg.OperationalError("refused"))

    with monkeypatch.context() as patched:  # undone before the test database is rolled back
        patched.setattr(connection, "cursor", refused)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error", "cache": "ok"}
