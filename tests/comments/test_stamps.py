"""The comment form's stamp serves one browser, for a while: it is bound to the reader's CSRF
secret and expires after two hours, so a stamp kept by a bot cannot be replayed from other
sessions or for ever. "Too fast" still works as before."""

import time

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from comments.forms import FORM_EXPIRED, CommentForm
from comments.models import Comment
from comments.stamps import (
    MAX_AGE_SECONDS,
    MIN_SECONDS_TO_FILL,
    form_stamp,
    request_binding,
    stamp_is_stale,
    stamp_is_too_fast,
)
from tests.conftest import element, post_comment, text

SECRET = "a" * 32
OTHER_SECRET = "b" * 32


def csrf_secret(browser):
    cookie = browser.cookies.get(settings.CSRF_COOKIE_NAME)
    return cookie.value if cookie else ""


def form_on(page):
    """The stamp and CSRF token of the comment form on a page."""
    return (
        element(page, "#comment-form [name=rendered_at]")["value"],
        element(page, "#comment-form [name=csrfmiddlewaretoken]")["value"],
    )


def browser_with_form(make_client, article, **options):
    """A browser that checks CSRF as a real one is checked, and the form it was shown."""
    browser = make_client(enforce_csrf_checks=True, **options)
    stamp, token = form_on(browser.get(article.get_absolute_url()))
    return browser, stamp, token


# --- The stamp itself ------------------------------------------------------------------------


def test_a_stamp_serves_the_browser_it_was_made_for():
    stamp = form_stamp(SECRET, now=time.time() - 10)
    assert not stamp_is_stale(stamp, SECRET)
    assert stamp_is_stale(stamp, OTHER_SECRET)
    assert stamp_is_stale(stamp, "")
    assert not stamp_is_stale(stamp, None)  # binding unknown: only the age is checked


def test_a_stamp_expires_after_two_hours():
    assert MAX_AGE_SECONDS == 2 * 60 * 60
    now = time.time()
    assert not stamp_is_stale(form_stamp(SECRET, now=now - MAX_AGE_SECONDS + 5), SECRET, now=now)
    old = form_stamp(SECRET, now=now - MAX_AGE_SECONDS - 1)
    assert stamp_is_stale(old, SECRET, now=now)
    assert stamp_is_stale(old, None, now=now)


def test_too_fast_is_unchanged_and_a_tampered_stamp_is_too_fast_not_stale():
    now = time.time()
    assert stamp_is_too_fast(form_stamp(SECRET, now=now - MIN_SECONDS_TO_FILL + 1), now=now)
    assert not stamp_is_too_fast(form_stamp(SECRET, now=now - MIN_SECONDS_TO_FILL), now=now)
    genuine = form_stamp(SECRET, now=now - 60)
    at, tag, signature = genuine.split(".")
    other_char = "y" if signature[-1] == "x" else "x"
    for tampered in (
        "",
        "not-a-signed-value",
        f"{at}.{tag}.{signature[:-1]}{other_char}",
        f"{int(at) + 1}.{tag}.{signature}",  # a later time, to pass for fresh
        f"{at}.{tag[:-1]}0.{signature}" if tag[-1] != "0" else f"{at}.{tag[:-1]}1.{signature}",
        genuine * 10,
        None,
    ):
        assert stamp_is_too_fast(tampered)
        assert not stamp_is_stale(tampered, SECRET)


def test_a_stamp_signed_before_the_secret_key_rotated_counts_until_it_expires(settings):
    now = time.time()
    stamp = form_stamp(SECRET, now=now - 60)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "z" * 40
    assert not stamp_is_too_fast(stamp, now=now)
    settings.SECRET_KEY_FALLBACKS = []
    assert stamp_is_too_fast(stamp, now=now)  # a key no longer trusted signs nothing


def test_the_page_does_not_show_the_secret():
    stamp = form_stamp(SECRET)
    assert SECRET not in stamp


def test_a_request_binds_to_its_csrf_secret_made_now_if_it_has_none():
    request = RequestFactory().get("/")
    binding = request_binding(request)
    assert len(binding) == 32
    assert request.META["CSRF_COOKIE"] == binding
    assert not stamp_is_stale(form_stamp(request), binding)
    request.META["CSRF_COOKIE"] = SECRET
    assert not stamp_is_stale(form_stamp(request), SECRET)


# --- The form --------------------------------------------------------------------------------


def comment_data(stamp, **fields):
    return {"body": "A thought.", "author_name": "Guest", "rendered_at": stamp, **fields}


def test_the_form_refuses_a_stamp_made_for_another_browser():
    stamp = form_stamp(OTHER_SECRET, now=time.time() - 10)
    form = CommentForm(comment_data(stamp), guest=True, binding=SECRET)
    assert not form.is_valid()
    assert form.non_field_errors() == [FORM_EXPIRED]

    own = CommentForm(comment_data(form_stamp(SECRET, now=time.time() - 10)), binding=SECRET)
    assert own.is_valid(), own.errors


def test_the_form_refuses_an_expired_stamp_even_without_a_binding():
    stamp = form_stamp(SECRET, now=time.time() - MAX_AGE_SECONDS - 60)
    assert CommentForm(comment_data(stamp)).non_field_errors() == [FORM_EXPIRED]


# --- Through the site ------------------------------------------------------------------------


def test_every_page_carries_a_stamp_for_the_browser_that_gets_it(make_client, article):
    first = make_client()
    first.get(article.get_absolute_url())  # sets the CSRF cookie
    cached = first.get(article.get_absolute_url())  # the shared copy, stamped for them
    assert "public" in cached["Cache-Control"]
    stamp, _ = form_on(cached)
    assert not stamp_is_stale(stamp, csrf_secret(first))

    newcomer = make_client()
    page = newcomer.get(article.get_absolute_url())  # same shared copy, new CSRF secret
    stamp, _ = form_on(page)
    assert csrf_secret(newcomer) and csrf_secret(newcomer) != csrf_secret(first)
    assert not stamp_is_stale(stamp, csrf_secret(newcomer))
    assert stamp_is_stale(stamp, csrf_secret(first))


@pytest.mark.parametrize("with_htmx", [True, False])
def test_a_stamp_replayed_from_another_browser_is_refused_and_the_text_kept(
    make_client, article, monkeypatch, with_htmx
):
    _, bots_stamp, _ = browser_with_form(make_client, article)
    other, _, token = browser_with_form(make_client, article)
    sender = other.htmx if with_htmx else other
    later = time.time() + 10
    monkeypatch.setattr("comments.stamps.time.time", lambda: later)

    response = post_comment(
        sender, article, rendered_at=bots_stamp, csrfmiddlewaretoken=token, body="Replayed."
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert FORM_EXPIRED in html
    assert text(element(html, 'textarea[name="body"]')) == "Replayed."
    assert not Comment.objects.exists()
    # The form comes back with a fresh stamp, for this browser: posting it again works.
    fresh = element(html, "[name=rendered_at]")["value"]
    assert fresh != bots_stamp and not stamp_is_stale(fresh, csrf_secret(other))
    token = element(html, "[name=csrfmiddlewaretoken]")["value"]
    monkeypatch.setattr("comments.stamps.time.time", lambda: later + 10)
    again = post_comment(sender, article, rendered_at=fresh, csrfmiddlewaretoken=token)
    assert again.status_code in (200, 302)
    assert Comment.objects.count() == 1


def test_a_browser_posts_with_its_own_stamp(make_client, article):
    browser, stamp, token = browser_with_form(make_client, article)
    backdated = form_stamp(csrf_secret(browser), now=time.time() - 10)
    assert not stamp_is_stale(stamp, csrf_secret(browser))
    response = post_comment(browser, article, rendered_at=backdated, csrfmiddlewaretoken=token)
    assert response.status_code == 302
    assert Comment.objects.count() == 1


def test_an_expired_form_is_refused_with_the_text_kept_and_a_fresh_stamp(
    make_client, article, monkeypatch
):
    browser, _, token = browser_with_form(make_client, article)
    old = form_stamp(csrf_secret(browser), now=time.time() - MAX_AGE_SECONDS - 60)

    response = post_comment(
        browser.htmx, article, rendered_at=old, csrfmiddlewaretoken=token, body="Long thought."
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert FORM_EXPIRED in html
    assert "This form has expired; please post again: your text is still here" in html
    assert text(element(html, 'textarea[name="body"]')) == "Long thought."
    assert not Comment.objects.exists()
    fresh = element(html, "[name=rendered_at]")["value"]
    assert not stamp_is_stale(fresh, csrf_secret(browser))
    later = time.time() + 10
    monkeypatch.setattr("comments.stamps.time.time", lambda: later)
    again = post_comment(
        browser.htmx, article, rendered_at=fresh, csrfmiddlewaretoken=token, body="Long thought."
    )
    assert again.status_code == 200
    assert Comment.objects.get().body == "Long thought."


def test_a_replayed_stamp_is_refused_when_the_token_comes_in_the_header(
    make_client, article, monkeypatch
):
    _, bots_stamp, _ = browser_with_form(make_client, article)
    other, _, token = browser_with_form(make_client, article)
    later = time.time() + 10
    monkeypatch.setattr("comments.stamps.time.time", lambda: later)
    data = {"author_name": "Bot", "body": "Replayed.", "rendered_at": bots_stamp}
    url = reverse("comments:create", kwargs={"slug": article.slug})
    response = other.htmx.post(url, data, headers={"X-CSRFToken": token})
    assert response.status_code == 422
    assert FORM_EXPIRED in response.content.decode()
    assert not Comment.objects.exists()
