from django.urls import reverse

from comments.models import Comment
from tests.conftest import element, elements, post_comment, text


def test_reply_button_opens_the_form_under_the_comment(client, htmx, article, add_comment):
    comment = add_comment(article)
    url = reverse("comments:reply", kwargs={"pk": comment.pk})

    page = client.get(article.get_absolute_url()).content.decode()
    assert elements(page, f'[href="{url}"][hx-get="{url}"][hx-target="#c-{comment.pk}-slot"]')

    fragment = htmx.get(url).content.decode()
    assert elements(fragment, f"#reply-form-{comment.pk}")
    assert "Your reply to Someone" in fragment
    assert "<html" not in fragment

    full_page = client.get(url)
    assert full_page.status_code == 200
    assert "<html" in full_page.content.decode()
    assert elements(full_page, f'[action="{url}"]')


def test_htmx_reply_is_added_to_its_thread(htmx, article, add_comment):
    comment = add_comment(article)

    response = post_comment(htmx, reply_to=comment)

    assert response.status_code == 200
    new = Comment.objects.get(parent=comment)
    html = response.content.decode()
    assert elements(html, f'[hx-swap-oob="beforeend:#replies-{comment.pk}"]')
    assert elements(html, f"#c-{new.pk}")
    assert not elements(html, "#comment-form")  # the reply form closes; the main one stays
    assert new.depth == 1
    comment.refresh_from_db()
    assert comment.reply_count == 1


def test_no_js_reply_redirects_to_its_permalink(client, article, add_comment):
    comment = add_comment(article)
    response = post_comment(client, reply_to=comment)
    new = Comment.objects.get(parent=comment)
    assert response.status_code == 302
    assert response["Location"] == new.get_absolute_url()


def test_threads_nest_three_levels_then_answer_by_name(htmx, article, add_comment):
    top = add_comment(article, author_name="Top")
    middle = add_comment(article, parent=top, author_name="Middle")
    deepest = add_comment(article, parent=middle, author_name="Deepest")

    response = post_comment(htmx, reply_to=deepest, body="Not quite.")

    assert response.status_code == 200
    new = Comment.objects.latest("pk")
    assert (new.parent, new.depth) == (middle, 2)
    assert new.body == "@Deepest Not quite."
    assert elements(response, f'[hx-swap-oob="beforeend:#replies-{middle.pk}"]')
    top.refresh_from_db()
    assert top.reply_count == 3, "every visible reply in the thread"


def test_page_shows_replies_inside_their_threads(client, article, add_comment):
    top = add_comment(article, body="Top level")
    middle = add_comment(article, parent=top, body="Second level")
    add_comment(article, parent=middle, body="Third level")

    html = client.get(article.get_absolute_url()).content.decode()

    thread = element(html, f"#replies-{top.pk}")
    assert "Second level" in text(thread)
    assert "Third level" in text(element(thread, f"#replies-{middle.pk}"))
    assert len(elements(html, ".comment")) == 3


def test_replies_to_deleted_or_held_comments_are_refused(htmx, article, add_comment):
    deleted = add_comment(article)
    add_comment(article, parent=deleted)
    deleted.deleted_at = deleted.created_at
    deleted.save()
    held = add_comment(article, status=Comment.Status.PENDING, reader_token="")
    held.user = None
    held.save()

    assert post_comment(htmx, reply_to=deleted).status_code == 409
    assert post_comment(htmx, reply_to=held).status_code == 404  # others cannot even see it
    assert Comment.objects.count() == 3


def test_comments_of_a_draft_article_cannot_be_replied_to(client, htmx, make_article, add_comment):
    comment = add_comment(make_article(status="draft"))
    assert post_comment(htmx, reply_to=comment).status_code == 404
    assert client.get(reverse("comments:reply", kwargs={"pk": comment.pk})).status_code == 404


def test_most_discussed_counts_the_visible_replies_of_the_whole_thread(client, article, staff_user):
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

    client.force_login(staff_user)
    client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "approve", "_selected_action": [held.pk]},
    )
    root.refresh_from_db()
    assert root.reply_count == 3


def test_replies_under_a_rejected_comment_are_not_listed_counted_or_linked(
    client, article, add_comment
):
    root = add_comment(article, body="Rejected root.", status=Comment.Status.REJECTED)
    reply = add_comment(article, parent=root, body="An approved reply under it.")
    add_comment(article, body="A normal comment.")

    html = client.get(article.get_absolute_url()).content.decode()
    assert "An approved reply under it." not in html
    assert text(element(html, "#comment-count")) == "(1)"
    assert client.get(reverse("comments:permalink", kwargs={"pk": reply.pk})).status_code == 404
