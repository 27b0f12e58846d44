"""A shared copy answered before Django's request handling is the answer Django gives, with
each reader's own CSRF token, cookie and form stamp; anything else still goes to Django."""

import io
import re
import sys
import time
from http.cookies import SimpleCookie

import pytest
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.middleware.csrf import _unmask_cipher_token
from django.urls import reverse

from comments.readers import READER_TOKEN_SESSION_KEY
from evsite.caching import DISCUSSION, VERSION_KEY, bump
from evsite.sessions import SessionStore
from evsite.shared_copies import SharedCopies
from tests.conftest import element, post_comment

TOKENS_AND_STAMPS = re.compile(
    rb'(name="csrfmiddlewaretoken" value="|"x-csrftoken": "|name="rendered_at" value=")[^"]+"'
)


class CountingDjango:
    """Django's WSGI application, counting the requests that reach it."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.requests = 0

    def __call__(self, environ, start_response):
        self.requests += 1
        return self.handler(environ, start_response)


class Browser:
    """A browser calling the site's WSGI application directly, keeping its cookies."""

    def __init__(self, application, **cookies):
        self.application = application
        self.cookies = dict(cookies)

    def get(self, path, *, method="GET", **headers):
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        seen = []
        # As Django's test client does: a request must not close the test's transaction.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            body = self.application(
                environ, lambda status, headers, *_: seen.append((status, headers))
            )
            content = b"".join(body)
            getattr(body, "close", lambda: None)()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        status, header_list = seen[0]
        for name, value in header_list:
            if name == "Set-Cookie":
                for morsel in SimpleCookie(value).values():
                    self.cookies[morsel.key] = morsel.value
        return Answer(int(status.split()[0]), header_list, content)


class Answer:
    def __init__(self, status_code, header_list, content):
        self.status_code, self.header_list, self.content = status_code, header_list, content
        self.text = content.decode()

    def headers(self, *, less=()):
        return {name: value for name, value in self.header_list if name not in less}

    def __getitem__(self, name):
        return self.headers()[name]


@pytest.fixture
def django_app(db):
    return CountingDjango()


@pytest.fixture
def site(django_app):
    return SharedCopies(django_app)


def test_a_repeat_request_is_answered_before_django_with_the_page_django_gave(
    site, django_app, seeded_article, monkeypatch
):
    now = time.time()  # the ETag names the hour of the form stamp: one hour for all three
    monkeypatch.setattr("evsite.caching.time.time", lambda: now)
    url = seeded_article.get_absolute_url()
    reader = Browser(site)
    reader.get(url)  # rendered, and kept as the shared copy; sets the reader's CSRF cookie
    by_django = Browser(django_app, **reader.cookies).get(url)  # that copy, from Django
    assert django_app.requests == 2

    copy = reader.get(url)

    assert django_app.requests == 2
    assert copy.status_code == 200
    assert copy.headers() == by_django.headers()  # ETag, Cache-Control, Vary, CSP and all
    assert "public" in copy["Cache-Control"] and "Set-Cookie" not in copy.headers()
    assert TOKENS_AND_STAMPS.sub(b"", copy.content) == TOKENS_AND_STAMPS.sub(b"", by_django.content)
    token = element(copy.text, "#comment-form [name=csrfmiddlewaretoken]")["value"]
    assert _unmask_cipher_token(token) == reader.cookies["csrftoken"]


def test_a_new_reader_gets_their_own_cookie_and_a_token_django_accepts(
    site, django_app, seeded_article, make_client
):
    url = seeded_article.get_absolute_url()
    Browser(site).get(url)  # rendered and kept: the next readers get the copy
    seen = django_app.requests

    newcomer = Browser(site)
    copy = newcomer.get(url)

    assert django_app.requests == seen
    assert copy["Cache-Control"] == "private, no-cache"  # it sets their cookie
    secret = newcomer.cookies["csrftoken"]
    assert len(secret) == 32
    token = element(copy.text, "#comment-form [name=csrfmiddlewaretoken]")["value"]
    assert _unmask_cipher_token(token) == secret
    stamp = element(copy.text, "#comment-form [name=rendered_at]")["value"]
    strict = make_client(enforce_csrf_checks=True)
    strict.cookies["csrftoken"] = secret
    posted = post_comment(
        strict, seeded_article, csrfmiddlewaretoken=token, rendered_at=stamp, body="Mine."
    )
    assert posted.status_code == 422  # the CSRF check passed; the stamp is only too new
    assert "quick" in posted.text.lower() or "fast" in posted.text.lower()


def test_a_write_sends_the_next_request_to_django_and_shows_it(
    site, django_app, seeded_article, client
):
    url = seeded_article.get_absolute_url()
    reader = Browser(site)
    reader.get(url)
    reader.get(url)
    reader.get(url)
    seen = django_app.requests
    post_comment(client, seeded_article, body="A comment written meanwhile.")
    bump(DISCUSSION)  # as another worker's write would, read here at once

    page = reader.get(url)

    assert django_app.requests == seen + 1
    assert "A comment written meanwhile." in page.text


@pytest.mark.parametrize(
    ("cookies", "method", "headers"),
    [
        ({"sessionid": "abc"}, "GET", {}),
        ({"messages": "waiting"}, "GET", {}),
        ({"csrftoken": "not-a-secret"}, "GET", {}),
        ({}, "HEAD", {}),
        ({}, "GET", {"If-None-Match": '"x"'}),
        ({}, "GET", {"Host": "elsewhere.example"}),
    ],
    ids=["session", "message", "odd-csrf-cookie", "head", "conditional", "other-host"],
)
def test_requests_it_does_not_answer_go_to_django(
    site, django_app, seeded_article, cookies, method, headers
):
    url = seeded_article.get_absolute_url()
    Browser(site).get(url)
    Browser(site).get(url)
    seen = django_app.requests

    answer = Browser(site, **cookies).get(url, method=method, **headers)

    assert django_app.requests == seen + 1
    if "Host" in headers:
        assert answer.status_code == 400


def test_a_copy_seen_over_https_is_not_given_over_http(seeded_article, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    django_app = CountingDjango()  # its middleware reads these settings as it starts
    site = SharedCopies(django_app)
    url = seeded_article.get_absolute_url()
    Browser(site).get(url, X_FORWARDED_PROTO="https")
    seen = django_app.requests

    secure = Browser(site).get(url, X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")
    assert django_app.requests == seen
    plain = Browser(site).get(url)
    assert plain.status_code == 301
    assert django_app.requests == seen + 1


@pytest.fixture
def voted(client, seeded_article):
    """The seeded poll, and the cookies of a guest who voted in it (so they see results)."""
    poll = seeded_article.polls.get()
    client.post(
        reverse("comments:poll_vote", kwargs={"pk": poll.pk}),
        {"choice": poll.choices.first().pk},
    )
    client.get(seeded_article.get_absolute_url())  # shows the "vote counted" message once
    return poll, {name: morsel.value for name, morsel in client.cookies.items()}


def test_a_guest_with_a_session_gets_their_own_copy_before_django(
    site, django_app, voted, client, monkeypatch
):
    now = time.time()  # one hour of form stamps for the ETags compared
    monkeypatch.setattr("evsite.caching.time.time", lambda: now)
    poll, cookies = voted
    results = reverse("comments:poll_results", kwargs={"pk": poll.pk})
    guest = Browser(site, **cookies)
    guest.get(results, HX_Request="true")  # rendered by the view: their own copy
    by_django = guest.get(results, HX_Request="true")  # that copy, from PageCacheMiddleware
    seen = django_app.requests

    copy = guest.get(results, HX_Request="true")

    assert django_app.requests == seen
    assert copy.headers() == by_django.headers()
    assert copy["Cache-Control"] == "private, no-cache"
    assert TOKENS_AND_STAMPS.sub(b"", copy.content) == TOKENS_AND_STAMPS.sub(b"", by_django.content)
    assert "✓ Your vote" in copy.text

    # Their next write shows at once: Django answers, with the vote moved.
    client.post(
        reverse("comments:poll_vote", kwargs={"pk": poll.pk}),
        {"choice": poll.choices.last().pk},
    )
    moved = guest.get(results, HX_Request="true")
    assert django_app.requests == seen + 1
    yours = element(moved.text, ".poll__result--yours")
    assert int(yours["data-choice-id"]) == poll.choices.last().pk


def test_another_guest_never_gets_a_copy_that_is_not_theirs(site, django_app, voted, make_client):
    poll, cookies = voted
    results = reverse("comments:poll_results", kwargs={"pk": poll.pk})
    Browser(site, **cookies).get(results, HX_Request="true")
    Browser(site, **cookies).get(results, HX_Request="true")
    other = make_client()
    post_comment(other, poll.article, body="I have a session, and no vote.")
    seen = django_app.requests

    theirs = Browser(site, **{name: m.value for name, m in other.cookies.items()}).get(
        results, HX_Request="true"
    )

    assert django_app.requests == seen + 1
    assert "✓ Your vote" not in theirs.text


def test_a_guests_write_on_another_worker_shows_on_their_next_request(site, django_app, voted):
    poll, cookies = voted
    results = reverse("comments:poll_results", kwargs={"pk": poll.pk})
    guest = Browser(site, **cookies)
    guest.get(results, HX_Request="true")
    guest.get(results, HX_Request="true")
    guest.get(results, HX_Request="true")  # from their copy, session and version read together
    seen = django_app.requests
    token = SessionStore(cookies["sessionid"])[READER_TOKEN_SESSION_KEY]
    cache.incr(VERSION_KEY.format(f"reader:guest:{token}"))  # as their write elsewhere does

    guest.get(results, HX_Request="true")

    assert django_app.requests == seen + 1  # rendered again for them, not their old copy
