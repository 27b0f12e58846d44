import json
import time

import pytest
from django.urls import reverse

from comments.forms import form_stamp
from comments.models import Comment
from tests.conftest import element, elements, post_comment, text


def announced(response):
    return json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]


def test_htmx_post_returns_new_comment_cleared_form_and_count(htmx, article):
    response = post_comment(htmx, article, body="First!\nA second line.")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.APPROVED
    assert elements(html, f"#c-{comment.pk}")
    assert elements(html, '[hx-swap-oob="afterbegin:#comments"]')
    count = element(html, "#comment-count")
    assert (text(count), count["hx-swap-oob"]) == ("(1)", "true")
    # The form comes back empty, ready for the next comment.
    assert elements(html, "#comment-form")
    assert "First!" not in element(html, '#comment-form textarea[name="body"]').get_text()
    assert announced(response) == {
        "message": "Your comment was posted.",
        "focus": f"#c-{comment.pk}",
    }


def test_no_js_post_redirects_to_the_comment_permalink(client, article):
    response = post_comment(client, article)

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == comment.get_absolute_url()
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0] == f"{article.get_absolute_url()}#c-{comment.pk}"
    assert elements(page, f"#c-{comment.pk}")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x", "Write at least 2 characters (you wrote 1)."),
        ("   ", "Write something before posting."),
        ("y" * 5001, "Keep it under 5000 characters: you wrote 5001."),
    ],
)
@pytest.mark.parametrize("with_htmx", [True, False])
def test_invalid_body_is_refused_next_to_the_field_with_text_kept(
    client, htmx, article, body, message, with_htmx
):
    response = post_comment(htmx if with_htmx else client, article, body=body)

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert elements(html, '[aria-invalid="true"]')
    assert elements(html, "#comment-body_error")
    if body.strip():
        assert text(element(html, 'textarea[name="body"]')) == body
    assert ("<html" in html) is not with_htmx
    assert not Comment.objects.exists()


def test_guest_needs_a_display_name_and_email_is_never_shown(htmx, client, article):
    missing = post_comment(htmx, article, author_name="")
    assert missing.status_code == 422
    assert "Give a name to show with your comment." in missing.content.decode()

    post_comment(htmx, article, author_name="Ana", email="ana@example.com")
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Ana" in page
    assert "ana@example.com" not in page
    assert Comment.objects.get().email == "ana@example.com"


def test_a_guests_display_name_is_remembered_for_their_next_comment(
    htmx, client, article, make_client
):
    remembered = '[name="author_name"][value="Ana"]'
    response = post_comment(htmx, article, author_name="Ana")
    assert elements(response, remembered)
    page = client.get(article.get_absolute_url())
    assert elements(page, remembered)
    assert not elements(make_client().get(article.get_absolute_url()), remembered)


def test_signed_in_reader_posts_under_their_account(client, htmx, article, reader):
    client.force_login(reader)
    page = client.get(article.get_absolute_url())
    assert not elements(page, '[name="author_name"]')

    post_comment(htmx, article, author_name="Someone Else")

    comment = Comment.objects.get()
    assert (comment.user, comment.author_name, comment.reader_token) == (reader, "reader", "")


def test_guest_comments_can_be_turned_off(client, htmx, article, settings):
    settings.EVR_GUEST_COMMENTS = False

    page = client.get(article.get_absolute_url()).content.decode()
    assert not elements(page, "#comment-form")
    assert "to join the discussion" in page
    assert post_comment(htmx, article).status_code == 403
    assert not Comment.objects.exists()


def test_over_the_rate_limit_answers_429_and_keeps_the_text(htmx, article, settings):
    settings.EVR_COMMENTS_PER_MINUTE = 2
    for number in range(2):
        assert post_comment(htmx, article, body=f"Comment number {number}").status_code == 200

    response = post_comment(htmx, article, body="One too many, but keep me")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "posting faster than the limit allows" in html
    assert text(element(html, 'textarea[name="body"]')) == "One too many, but keep me"
    assert Comment.objects.count() == 2


def test_form_sent_faster_than_a_person_types_is_refused_and_restamped(htmx, article, monkeypatch):
    one_second_ago = form_stamp(now=time.time() - 1)
    response = post_comment(htmx, article, rendered_at=one_second_ago, body="Quick!")

    assert response.status_code == 422
    html = response.content.decode()
    assert "quicker than we expected" in html
    assert text(element(html, 'textarea[name="body"]')) == "Quick!"
    assert not Comment.objects.exists()

    # The form that came back carries a fresh stamp: sent again a few seconds later, it posts.
    new_stamp = element(html, '[name="rendered_at"]')["value"]
    later = time.time() + 5
    monkeypatch.setattr("comments.stamps.time.time", lambda: later)
    again = post_comment(htmx, article, rendered_at=new_stamp, body="Quick!")
    assert again.status_code == 200
    assert Comment.objects.get().body == "Quick!"


def test_tampered_timestamp_counts_as_too_fast_and_comes_back_valid(htmx, article, monkeypatch):
    response = post_comment(htmx, article, rendered_at="not-a-signed-value")
    assert response.status_code == 422
    assert not Comment.objects.exists()

    new_stamp = element(response, '[name="rendered_at"]')["value"]
    later = time.time() + 5
    monkeypatch.setattr("comments.stamps.time.time", lambda: later)
    assert post_comment(htmx, article, rendered_at=new_stamp).status_code == 200


def test_filled_honeypot_is_kept_as_spam_visible_only_to_its_author(
    client, htmx, article, make_client
):
    response = post_comment(htmx, article, website="http://spam.example", body="Buy now")

    comment = Comment.objects.get()
    assert comment.status == Comment.Status.SPAM
    assert "Awaiting moderation" in response.content.decode()
    assert elements(client.get(article.get_absolute_url()), f"#c-{comment.pk}")
    assert not elements(make_client().get(article.get_absolute_url()), f"#c-{comment.pk}")


def test_honeypot_is_hidden_from_people_and_screen_readers(client, article):
    honeypot = element(client.get(article.get_absolute_url()), ".hp-field")
    assert honeypot["aria-hidden"] == "true"
    field = element(honeypot, "input")
    assert (field["tabindex"], field["autocomplete"]) == ("-1", "off")


def test_posting_requires_the_csrf_token(article, make_client):
    strict = make_client(enforce_csrf_checks=True)
    assert post_comment(strict.htmx, article).status_code == 403
    assert not Comment.objects.exists()


def test_posting_needs_post(client, article):
    url = reverse("comments:create", kwargs={"slug": article.slug})
    assert client.get(url).status_code == 405


def test_comment_on_a_draft_article_is_not_found(htmx, make_article):
    draft = make_article(status="draft")
    assert post_comment(htmx, draft).status_code == 404


def test_contract_for_end_to_end_tests(client, htmx, article):
    post_comment(htmx, article)
    html = client.get(article.get_absolute_url()).content.decode()
    comment = Comment.objects.get()
    assert elements(html, "form#comment-form")
    assert elements(html, 'textarea[name="body"]')
    assert elements(html, '[name="author_name"]')
    assert elements(html, "#comments")
    assert elements(html, f"#c-{comment.pk}.comment")


def test_a_long_account_name_is_shortened_to_fit_the_comment(client, htmx, article, make_user):
    client.force_login(make_user("u" * 150))

    response = post_comment(htmx, article)

    assert response.status_code == 200
    comment = Comment.objects.get()
    assert len(comment.author_name) == Comment._meta.get_field("author_name").max_length
    assert comment.author_name.startswith("uuu") and comment.author_name.endswith("…")
