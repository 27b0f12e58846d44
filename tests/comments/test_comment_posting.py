import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from comments.forms import form_stamp
from comments.models import Comment

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def article(make_article):
    return make_article()


def stamp(seconds_ago=10):
    return form_stamp(now=time.time() - seconds_ago)


def post_comment(client, article, *, htmx=True, **data):
    fields = {"author_name": "Guest Reader", "body": "Small EVs make sense in cities."}
    fields.update(data)
    fields.setdefault("rendered_at", stamp())
    url = reverse("comments:create", kwargs={"slug": article.slug})
    return client.post(url, fields, **(HTMX if htmx else {}))


def announced(response):
    return json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]


def test_htmx_post_returns_new_comment_cleared_form_and_count(client, article):
    response = post_comment(client, article, body="First!\nA second line.")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.APPROVED
    assert f'id="c-{comment.pk}"' in html
    assert 'hx-swap-oob="afterbegin:#comments"' in html
    assert '<span id="comment-count" class="comment-count" hx-swap-oob="true">(1)</span>' in html
    # The form comes back empty, ready for the next comment.
    assert 'id="comment-form"' in html
    assert "First!</textarea>" not in html
    assert announced(response) == {
        "message": "Your comment was posted.",
        "focus": f"#c-{comment.pk}",
    }


def test_no_js_post_redirects_to_the_comment_permalink(client, article):
    response = post_comment(client, article, htmx=False)

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == comment.get_absolute_url()
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0] == f"{article.get_absolute_url()}#c-{comment.pk}"
    assert f'id="c-{comment.pk}"' in page.content.decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x", "Write at least 2 characters (you wrote 1)."),
        ("   ", "Write something before posting."),
        ("y" * 5001, "Keep it under 5000 characters: you wrote 5001."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_invalid_body_is_refused_next_to_the_field_with_text_kept(
    client, article, body, message, htmx
):
    response = post_comment(client, article, body=body, htmx=htmx)

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html
    assert 'id="comment-body_error"' in html
    if body.strip():
        assert f">\n{body}</textarea>" in html
    assert ("<html" in html) is not htmx
    assert not Comment.objects.exists()


def test_guest_needs_a_display_name_and_email_is_never_shown(client, article):
    missing = post_comment(client, article, author_name="")
    assert missing.status_code == 422
    assert "Give a name to show with your comment." in missing.content.decode()

    post_comment(client, article, author_name="Ana", email="ana@example.com")
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Ana" in page
    assert "ana@example.com" not in page
    assert Comment.objects.get().email == "ana@example.com"


def test_a_guests_display_name_is_remembered_for_their_next_comment(client, article):
    response = post_comment(client, article, author_name="Ana")
    assert 'name="author_name" value="Ana"' in response.content.decode()
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'name="author_name" value="Ana"' in page
    assert (
        'name="author_name" value="Ana"'
        not in Client().get(article.get_absolute_url()).content.decode()
    )


def test_signed_in_reader_posts_under_their_account(client, article, reader):
    client.force_login(reader)
    page = client.get(article.get_absolute_url()).content.decode()
    assert 'name="author_name"' not in page

    post_comment(client, article, author_name="Someone Else")

    comment = Comment.objects.get()
    assert (comment.user, comment.author_name, comment.reader_token) == (reader, "reader", "")


def test_guest_comments_can_be_turned_off(client, article, settings):
    settings.EVR_GUEST_COMMENTS = False

    page = client.get(article.get_absolute_url()).content.decode()
    assert 'id="comment-form"' not in page
    assert "to join the discussion" in page
    assert post_comment(client, article).status_code == 403
    assert not Comment.objects.exists()


def test_over_the_rate_limit_answers_429_and_keeps_the_text(client, article, settings):
    settings.EVR_COMMENTS_PER_MINUTE = 2
    for number in range(2):
        assert post_comment(client, article, body=f"Comment number {number}").status_code == 200

    response = post_comment(client, article, body="One too many, but keep me")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "posting faster than the limit allows" in html
    assert ">\nOne too many, but keep me</textarea>" in html
    assert Comment.objects.count() == 2


def test_form_sent_faster_than_a_person_types_is_refused_and_restamped(
    client, article, monkeypatch
):
    response = post_comment(client, article, rendered_at=stamp(seconds_ago=1), body="Quick!")

    assert response.status_code == 422
    html = response.content.decode()
    assert "quicker than we expected" in html
    assert ">\nQuick!</textarea>" in html
    assert not Comment.objects.exists()

    # The form that came back carries a fresh stamp: sent again a few seconds later, it posts.
    new_stamp = html.split('name="rendered_at" value="')[1].split('"')[0]
    later = time.time() + 5
    monkeypatch.setattr("comments.forms.time.time", lambda: later)
    again = post_comment(client, article, rendered_at=new_stamp, body="Quick!")
    assert again.status_code == 200
    assert Comment.objects.get().body == "Quick!"


def test_tampered_timestamp_counts_as_too_fast_and_comes_back_valid(client, article, monkeypatch):
    response = post_comment(client, article, rendered_at="not-a-signed-value")
    assert response.status_code == 422
    assert not Comment.objects.exists()

    new_stamp = response.content.decode().split('name="rendered_at" value="')[1].split('"')[0]
    later = time.time() + 5
    monkeypatch.setattr("comments.forms.time.time", lambda: later)
    assert post_comment(client, article, rendered_at=new_stamp).status_code == 200


def test_filled_honeypot_is_kept_as_spam_visible_only_to_its_author(client, article):
    response = post_comment(client, article, website="http://spam.example", body="Buy now")

    comment = Comment.objects.get()
    assert comment.status == Comment.Status.SPAM
    assert "Awaiting moderation" in response.content.decode()
    assert f'id="c-{comment.pk}"' in client.get(article.get_absolute_url()).content.decode()
    assert f'id="c-{comment.pk}"' not in Client().get(article.get_absolute_url()).content.decode()


def test_honeypot_is_hidden_from_people_and_screen_readers(client, article):
    html = client.get(article.get_absolute_url()).content.decode()
    honeypot = html.split('class="hp-field"')[1].split("</div>")[0]
    assert 'aria-hidden="true"' in honeypot
    assert 'tabindex="-1"' in honeypot
    assert 'autocomplete="off"' in honeypot


def test_posting_requires_the_csrf_token(article):
    client = Client(enforce_csrf_checks=True)
    assert post_comment(client, article).status_code == 403
    assert not Comment.objects.exists()


def test_posting_needs_post(client, article):
    url = reverse("comments:create", kwargs={"slug": article.slug})
    assert client.get(url).status_code == 405


def test_comment_on_a_draft_article_is_not_found(client, make_article):
    draft = make_article(status="draft")
    assert post_comment(client, draft).status_code == 404


def test_contract_for_end_to_end_tests(client, article):
    post_comment(client, article)
    html = client.get(article.get_absolute_url()).content.decode()
    comment = Comment.objects.get()
    assert '<form id="comment-form"' in html
    assert '<textarea name="body"' in html
    assert 'name="author_name"' in html
    assert 'id="comments"' in html
    assert f'id="c-{comment.pk}" class="comment' in html


def test_a_long_account_name_is_shortened_to_fit_the_comment(client, article, make_user):
    client.force_login(make_user("u" * 150))

    response = post_comment(client, article)

    assert response.status_code == 200
    comment = Comment.objects.get()
    assert len(comment.author_name) == Comment._meta.get_field("author_name").max_length
    assert comment.author_name.startswith("uuu") and comment.author_name.endswith("…")
