"""A refused comment or correction form comes back with the stamp it was shown with, when that
stamp is still good for this browser: fixing one field and sending it again at once is not
"too fast". And refused attempts use up none of the rate limits: only what is taken counts."""

import time

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from articles.corrections import TOO_FAST as CORRECTION_TOO_FAST
from articles.models import Correction
from comments.forms import FORM_EXPIRED
from comments.models import Comment
from comments.moderation import DUPLICATE
from comments.moderation import TOO_FAST as COMMENT_TOO_FAST
from comments.stamps import (
    KEPT_STAMP_MIN_LIFE_SECONDS,
    MAX_AGE_SECONDS,
    STAMP_PLACEHOLDER,
    form_stamp,
    stamp_is_stale,
    stamp_is_too_fast,
)
from tests.conftest import element, elements, post_comment, text

EXPLANATION = "The target price is below €20,000, not $22,000: the dollar figure is converted."


def csrf_secret(browser):
    return browser.cookies[settings.CSRF_COOKIE_NAME].value


def browser_on(make_client, url, **options):
    """A browser that checks CSRF as a real one is checked, shown the page at `url`: the
    browser and the CSRF token of its form."""
    browser = make_client(enforce_csrf_checks=True, **options)
    page = browser.get(url)
    return browser, elements(page, "form [name=csrfmiddlewaretoken]")[0]["value"]


def shown_stamp(response):
    return element(response, "[name=rendered_at]")["value"]


def send_correction(browser, article, **fields):
    data = {"anchor": "p-3", "explanation": EXPLANATION, "source_url": "", **fields}
    return browser.post(reverse("articles:correction_new", kwargs={"slug": article.slug}), data)


def correction_page(article):
    return reverse("articles:correction_new", kwargs={"slug": article.slug}) + "?anchor=p-3"


# --- Comments: the stamp kept ----------------------------------------------------------------


@pytest.mark.parametrize("with_htmx", [True, False])
@pytest.mark.parametrize(
    ("mistake", "error"),
    [
        ({"body": "x"}, "Write at least 2 characters"),
        ({"notify_replies": "on"}, "Give your email address"),
        ({"author_name": ""}, "Give a name to show with your comment."),
    ],
)
def test_a_comment_fixed_and_sent_again_at_once_is_posted(
    make_client, article, with_htmx, mistake, error
):
    browser, token = browser_on(make_client, article.get_absolute_url())
    sender = browser.htmx if with_htmx else browser
    stamp = form_stamp(csrf_secret(browser), now=time.time() - 10)  # shown ten seconds ago

    refused = post_comment(sender, article, rendered_at=stamp, csrfmiddlewaretoken=token, **mistake)

    assert refused.status_code == 422
    assert error in refused.content.decode()
    assert shown_stamp(refused) == stamp  # kept, and not replaced on the way out
    fixed = post_comment(
        sender, article, rendered_at=shown_stamp(refused), csrfmiddlewaretoken=token
    )
    assert fixed.status_code in (200, 302)
    assert Comment.objects.count() == 1


def test_a_reply_refused_by_a_rule_keeps_its_stamp(make_client, article, add_comment):
    parent = add_comment(article)
    browser, token = browser_on(make_client, article.get_absolute_url(), token="guest")
    add_comment(article, body="Said it already.", reader_token="guest")
    stamp = form_stamp(csrf_secret(browser), now=time.time() - 10)

    refused = post_comment(
        browser.htmx,
        reply_to=parent,
        body="Said it already.",
        rendered_at=stamp,
        csrfmiddlewaretoken=token,
    )

    assert refused.status_code == 422
    assert DUPLICATE in refused.content.decode()
    assert shown_stamp(refused) == stamp
    again = post_comment(
        browser.htmx, reply_to=parent, rendered_at=stamp, csrfmiddlewaretoken=token
    )
    assert again.status_code == 200


def test_a_form_sent_too_fast_keeps_its_stamp_and_posts_a_moment_later(
    make_client, article, monkeypatch
):
    browser, token = browser_on(make_client, article.get_absolute_url())
    stamp = form_stamp(csrf_secret(browser), now=time.time() - 1)

    refused = post_comment(browser.htmx, article, rendered_at=stamp, csrfmiddlewaretoken=token)

    assert refused.status_code == 422
    assert COMMENT_TOO_FAST in text(element(refused, "#comment-form"))
    assert shown_stamp(refused) == stamp
    later = time.time() + 3
    monkeypatch.setattr("comments.stamps.time.time", lambda: later)
    again = post_comment(browser.htmx, article, rendered_at=stamp, csrfmiddlewaretoken=token)
    assert again.status_code == 200


# --- Comments: a fresh stamp instead ---------------------------------------------------------


def other_browsers_stamp(browser):
    return form_stamp("b" * 32, now=time.time() - 10)


def tampered_stamp(browser):
    at, tag, signature = form_stamp(csrf_secret(browser), now=time.time() - 10).split(".")
    return f"{int(at) - 60}.{tag}.{signature}"


def expired_stamp(browser):
    return form_stamp(csrf_secret(browser), now=time.time() - MAX_AGE_SECONDS - 60)


def about_to_expire_stamp(browser):
    shown_at = time.time() - MAX_AGE_SECONDS + KEPT_STAMP_MIN_LIFE_SECONDS - 60
    return form_stamp(csrf_secret(browser), now=shown_at)


@pytest.mark.parametrize(
    "make_stamp", [other_browsers_stamp, tampered_stamp, expired_stamp, about_to_expire_stamp]
)
def test_a_stamp_not_good_for_this_browser_is_replaced_by_a_fresh_one(
    make_client, article, make_stamp
):
    browser, token = browser_on(make_client, article.get_absolute_url())
    sent = make_stamp(browser)

    refused = post_comment(
        browser.htmx, article, body="x", rendered_at=sent, csrfmiddlewaretoken=token
    )

    assert refused.status_code == 422
    fresh = shown_stamp(refused)
    assert fresh not in (sent, STAMP_PLACEHOLDER)
    assert not stamp_is_stale(fresh, csrf_secret(browser))
    assert stamp_is_too_fast(fresh)  # made just now
    assert not stamp_is_too_fast(fresh, now=time.time() + 3)


def test_an_expired_stamp_is_still_refused_as_expired(make_client, article):
    browser, token = browser_on(make_client, article.get_absolute_url())
    refused = post_comment(
        browser.htmx, article, rendered_at=expired_stamp(browser), csrfmiddlewaretoken=token
    )
    assert FORM_EXPIRED in refused.content.decode()


# --- Corrections -----------------------------------------------------------------------------


@pytest.mark.parametrize("with_htmx", [True, False])
def test_a_correction_fixed_and_sent_again_at_once_is_taken(make_client, seeded_article, with_htmx):
    browser, token = browser_on(make_client, correction_page(seeded_article))
    sender = browser.htmx if with_htmx else browser
    stamp = form_stamp(csrf_secret(browser), now=time.time() - 10)

    refused = send_correction(
        sender, seeded_article, explanation="Wrong.", rendered_at=stamp, csrfmiddlewaretoken=token
    )

    assert refused.status_code == 422
    assert shown_stamp(refused) == stamp
    fixed = send_correction(
        sender, seeded_article, rendered_at=shown_stamp(refused), csrfmiddlewaretoken=token
    )
    assert fixed.status_code in (200, 302)
    assert Correction.objects.count() == 1


def test_a_correction_with_another_browsers_stamp_gets_a_fresh_one(make_client, seeded_article):
    browser, token = browser_on(make_client, correction_page(seeded_article))
    sent = other_browsers_stamp(browser)

    refused = send_correction(
        browser, seeded_article, explanation="Wrong.", rendered_at=sent, csrfmiddlewaretoken=token
    )

    fresh = shown_stamp(refused)
    assert fresh not in (sent, STAMP_PLACEHOLDER)
    assert not stamp_is_stale(fresh, csrf_secret(browser))


# --- Refused attempts and the rate limits ----------------------------------------------------


@override_settings(EVR_COMMENTS_PER_MINUTE=2, EVR_COMMENTS_PER_HOUR=30)
def test_refused_comments_do_not_count_against_the_rate_limit(make_client, article, clock):
    browser, token = browser_on(make_client, article.get_absolute_url())
    secret = csrf_secret(browser)

    def send(body, *, shown_ago=10, **fields):
        stamp = form_stamp(secret, now=time.time() - shown_ago)
        return post_comment(
            browser.htmx, article, body=body, rendered_at=stamp, csrfmiddlewaretoken=token, **fields
        )

    for _ in range(3):
        assert send("Too quick.", shown_ago=0).status_code == 422  # too fast
        assert send("x").status_code == 422  # too short
        assert send("No name.", author_name="").status_code == 422
    assert send("The first comment.").status_code == 200
    for _ in range(3):
        assert send("The first comment.").status_code == 422  # the same text again
    assert send("The second comment.").status_code == 200

    over = send("The third comment.")
    assert over.status_code == 429
    assert Comment.objects.count() == 2


@override_settings(EVR_CORRECTIONS_PER_MINUTE=2, EVR_CORRECTIONS_PER_HOUR=10)
def test_refused_corrections_do_not_count_against_the_rate_limit(
    make_client, seeded_article, clock
):
    browser, token = browser_on(make_client, correction_page(seeded_article))
    secret = csrf_secret(browser)

    def send(*, shown_ago=10, **fields):
        stamp = form_stamp(secret, now=time.time() - shown_ago)
        return send_correction(
            browser.htmx, seeded_article, rendered_at=stamp, csrfmiddlewaretoken=token, **fields
        )

    for _ in range(3):
        quick = send(shown_ago=0)
        assert quick.status_code == 422
        assert CORRECTION_TOO_FAST in quick.content.decode()
        assert send(explanation="Wrong.").status_code == 422
        assert send(source_url="not a web address").status_code == 422
    assert send().status_code == 200
    assert send(anchor="p-4").status_code == 200

    over = send(anchor="p-5")
    assert over.status_code == 429
    assert Correction.objects.count() == 2
