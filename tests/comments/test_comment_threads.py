import time

import pytest
from django.test import Client
from django.urls import reverse

from comments.forms import form_stamp
from comments.models import Comment
from tests.comments.factories import add_comment as add

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def article(make_article):
    return make_article()


def reply(client, parent, body="I agree.", htmx=True):
    url = reverse("comments:reply", kwargs={"pk": parent.pk})
    data = {"author_name": "Replier", "body": body, "rendered_at": form_stamp(time.time() - 10)}
    return client.post(url, data, **(HTMX if htmx else {}))


def test_reply_button_opens_the_form_under_the_comment(client, article):
    comment = add(article)
    url = reverse("comments:reply", kwargs={"pk": comment.pk})

    page = client.get(article.get_absolute_url()).content.decode()
    assert f'href="{url}" hx-get="{url}" hx-target="#c-{comment.pk}-slot"' in page

    fragment = client.get(url, **HTMX).content.decode()
    assert f'id="reply-form-{comment.pk}"' in fragment
    assert "Your reply to Someone" in fragment
    assert "<html" not in fragment

    full_page = client.get(url)
    assert full_page.status_code == 200
    assert "<html" in full_page.content.decode()
    assert f'action="{url}"' in full_page.content.decode()


def test_htmx_reply_is_added_to_its_thread(client, article):
    comment = add(article)

    response = reply(client, comment)

    assert response.status_code == 200
    new = Comment.objects.get(parent=comment)
    html = response.content.decode()
    assert f'hx-swap-oob="beforeend:#replies-{comment.pk}"' in html
    assert f'id="c-{new.pk}"' in html
    assert 'id="comment-form"' not in html  # the reply form closes; the main form is untouched
    assert new.depth == 1
    comment.refresh_from_db()
    assert comment.reply_count == 1


def test_no_js_reply_redirects_to_its_permalink(client, article):
    comment = add(article)
    response = reply(client, comment, htmx=False)
    new = Comment.objects.get(parent=comment)
    assert response.status_code == 302
    assert response["Location"] == new.get_absolute_url()


def test_threads_nest_three_levels_then_answer_by_name(client, article):
    top = add(article, author_name="Top")
    middle = add(article, parent=top, author_name="Middle")
    deepest = add(article, parent=middle, author_name="Deepest")

    response = reply(client, deepest, body="Not quite.")

    assert response.status_code == 200
    new = Comment.objects.latest("pk")
    assert (new.parent, new.depth) == (middle, 2)
    assert new.body == "@Deepest Not quite."
    assert f'hx-swap-oob="beforeend:#replies-{middle.pk}"' in response.content.decode()
    top.refresh_from_db()
    assert top.reply_count == 3, "every visible reply in the thread"


def test_page_shows_replies_inside_their_threads(client, article):
    top = add(article, body="Top level")
    middle = add(article, parent=top, body="Second level")
    add(article, parent=middle, body="Third level")

    html = client.get(article.get_absolute_url()).content.decode()

    thread = html.split(f'id="replies-{top.pk}"')[1]
    assert "Second level" in thread
    assert "Third level" in thread.split(f'id="replies-{middle.pk}"')[1]
    assert html.count('class="comment"') + html.count('class="comment ') == 3


def test_replies_to_deleted_or_held_comments_are_refused(client, article):
    deleted = add(article)
    add(article, parent=deleted)
    deleted.deleted_at = deleted.created_at
    deleted.save()
    held = add(article, status=Comment.Status.PENDING, reader_token="")
    held.user = None
    held.save()

    assert reply(client, deleted).status_code == 409
    assert reply(client, held).status_code == 404  # others cannot even see it
    assert Comment.objects.count() == 3


def test_comments_of_a_draft_article_cannot_be_replied_to(client, make_article):
    comment = add(make_article(status="draft"))
    assert reply(client, comment).status_code == 404
    assert client.get(reverse("comments:reply", kwargs={"pk": comment.pk})).status_code == 404


def test_most_discussed_counts_the_visible_replies_of_the_whole_thread(article, staff_user):
    from comments.readers import Reader
    from comments.services import comment_create, comment_delete

    def post(parent=None, status=Comment.Status.APPROVED, body="A reply here."):
        return comment_create(
            article=article,
            parent=parent,
            reader=Reader(token="guest-token"),
            author_name="Guest",
            body=body,
            status=status,
        )

    root = post(body="Top of the thread.")
    reply = post(root)
    nested = post(reply)
    post(nested)  # the deepest level: joins `nested`'s level
    held = post(root, status=Comment.Status.PENDING)
    root.refresh_from_db()
    assert root.reply_count == 3, "held replies are not counted"

    comment_delete(comment=nested, reader=Reader(token="guest-token"))
    root.refresh_from_db()
    assert root.reply_count == 2

    client = Client()
    client.force_login(staff_user)
    client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "approve", "_selected_action": [held.pk]},
    )
    root.refresh_from_db()
    assert root.reply_count == 3


def test_replies_under_a_rejected_comment_are_not_listed_counted_or_linked(client, article):
    root = add(article, body="Rejected root.", status=Comment.Status.REJECTED)
    reply = add(article, parent=root, body="An approved reply under it.")
    add(article, body="A normal comment.")

    html = client.get(article.get_absolute_url()).content.decode()
    assert "An approved reply under it." not in html
    assert 'class="comment-count">(1)</span>' in html
    assert client.get(reverse("comments:permalink", kwargs={"pk": reply.pk})).status_code == 404
