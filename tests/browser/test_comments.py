import pytest
from playwright.sync_api import expect

from comments import services
from comments.forms import BODY_MIN_LENGTH
from comments.models import Comment
from comments.readers import Reader
from comments.selectors import PAGE_SIZE

from .checks import assert_accessible, assert_same_document, mark_document

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("readers_type_fast")]


def make_comments(article, count, *, author="Earlier reader"):
    return [
        services.comment_create(
            article=article,
            parent=None,
            reader=Reader(),
            author_name=author,
            body=f"Earlier comment number {number}.",
        )
        for number in range(1, count + 1)
    ]


def post_as_guest(page, name, body):
    form = page.locator("#comment-form")
    form.get_by_label("Display name").fill(name)
    form.get_by_label("Your comment").fill(body)
    form.get_by_role("button", name="Post comment").click()


def comment_with_text(page, text):
    return page.locator("#comments .comment").filter(has_text=text)


def test_guest_posts_a_comment_without_a_page_reload(page, seeded_article, screenshot):
    page.goto(seeded_article.get_absolute_url())
    expect(page.locator("#comment-form")).to_be_visible()
    assert_accessible(page, "article with the comment form")
    mark_document(page)

    post_as_guest(page, "Ana", "A Twingo-sized Nissan would sell well in Lisbon.")

    posted = comment_with_text(page, "A Twingo-sized Nissan would sell well in Lisbon.")
    expect(posted).to_be_visible()
    expect(posted).to_contain_text("Ana")
    expect(posted).to_have_id(f"c-{Comment.objects.get().pk}")
    expect(page.locator("#comment-count")).to_have_text("(1)")
    expect(page.locator("#comment-form").get_by_label("Your comment")).to_have_value("")
    expect(page.locator("#live-region")).to_have_text("Your comment was posted.")
    assert_same_document(page)
    assert_accessible(page, "after posting a comment")
    screenshot(page.locator("#comment-section"), "comment-posted")


def test_empty_comment_shows_the_error_and_keeps_what_was_typed(page, seeded_article, screenshot):
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    form = page.locator("#comment-form")
    form.get_by_label("Display name").fill("Ana")
    form.get_by_role("button", name="Post comment").click()

    body = page.locator("#comment-form").get_by_label("Your comment")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#comment-form .errorlist")).to_be_visible()
    expect(page.locator("#comment-form").get_by_label("Display name")).to_have_value("Ana")
    expect(body).to_be_focused()
    assert_same_document(page)
    assert_accessible(page, "comment form with an error")
    screenshot(page.locator("#comment-section"), "comment-error")

    body.fill("x")
    page.locator("#comment-form").get_by_role("button", name="Post comment").click()
    # The first error is still on screen until the answer to this post replaces the form:
    # wait for the new error, so what follows checks the answer, not the page before it.
    expect(page.locator("#comment-form .errorlist")).to_contain_text(
        f"at least {BODY_MIN_LENGTH} characters"
    )
    expect(page.locator("#comment-form").get_by_label("Your comment")).to_have_value("x")
    assert not Comment.objects.exists()


def test_reader_replies_to_a_comment(page, seeded_article):
    (earlier,) = make_comments(seeded_article, 1)
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)

    page.locator(f"#c-{earlier.pk}").get_by_role("link", name="Reply").click()
    reply_form = page.locator(f"#reply-form-{earlier.pk}")
    expect(reply_form).to_be_visible()
    # The focus moves once htmx has settled the form: to the first field a guest must fill.
    expect(reply_form.get_by_label("Display name")).to_be_focused()
    assert_accessible(page, "reply form open")
    reply_form.get_by_label("Display name").fill("Ben")
    reply_form.get_by_label(f"Your reply to {earlier.author_name}").fill(
        "In Lisbon parking is the real problem."
    )
    reply_form.get_by_role("button", name="Post reply").click()

    reply = page.locator(f"#replies-{earlier.pk} .comment")
    expect(reply).to_contain_text("In Lisbon parking is the real problem.")
    expect(reply).to_contain_text("Ben")
    expect(reply_form).to_have_count(0)
    assert_same_document(page)
    assert_accessible(page, "after posting a reply")


def test_reader_loads_more_comments_and_sorts_them(page, seeded_article):
    make_comments(seeded_article, PAGE_SIZE + 3)
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    comments = page.locator("#comments > li > .comment")
    expect(comments).to_have_count(PAGE_SIZE)

    page.get_by_role("link", name="Load more comments").click()

    expect(comments).to_have_count(PAGE_SIZE + 3)
    expect(page.get_by_role("link", name="Load more comments")).to_have_count(0)
    assert_same_document(page)
    assert_accessible(page, "after loading more comments")

    page.get_by_label("Sort by").select_option(label="Oldest first")

    expect(comments.first).to_contain_text("Earlier comment number 1.")
    assert_same_document(page)

    page.get_by_label("Sort by").select_option(label="Newest first")

    expect(comments.first).to_contain_text(f"Earlier comment number {PAGE_SIZE + 3}.")
    assert_same_document(page)
    assert_accessible(page, "after sorting the comments")


def test_author_edits_then_deletes_their_comment(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    post_as_guest(page, "Ana", "The Micra successor will be the bigger news.")
    expect(comment_with_text(page, "The Micra successor will be the bigger news.")).to_be_visible()
    comment = page.locator(f"#c-{Comment.objects.get().pk}")
    mark_document(page)

    comment.get_by_role("link", name="Edit").click()
    editor = comment.get_by_label("Your comment")
    expect(editor).to_be_focused()
    assert_accessible(page, "editing a comment")
    editor.fill("The Micra successor will be the bigger news in Europe.")
    comment.get_by_role("button", name="Save changes").click()

    expect(comment.locator(".comment__body")).to_have_text(
        "The Micra successor will be the bigger news in Europe."
    )
    expect(comment).to_contain_text("edited")
    assert_same_document(page)

    page.once("dialog", lambda dialog: dialog.accept())
    comment.get_by_role("link", name="Delete").click()

    expect(comment.locator(".comment__body")).to_have_text("[deleted]")
    expect(comment).not_to_contain_text("bigger news")
    assert_same_document(page)
    assert_accessible(page, "after deleting a comment")


def test_another_reader_reports_a_comment(page, seeded_article):
    (earlier,) = make_comments(seeded_article, 1)
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    comment = page.locator(f"#c-{earlier.pk}")

    comment.get_by_role("link", name="Report").click()
    report_form = page.locator(f"#report-form-{earlier.pk}")
    expect(report_form).to_be_visible()
    assert_accessible(page, "report form open")
    report_form.get_by_label("Off topic").check()
    report_form.get_by_role("button", name="Send report").click()

    expect(page.locator(f"#report-done-{earlier.pk}")).to_be_visible()
    assert earlier.reports.count() == 1
    assert_same_document(page)
    assert_accessible(page, "after reporting a comment")


def test_loading_more_after_posting_shows_no_comment_twice(page, seeded_article):
    make_comments(seeded_article, PAGE_SIZE + 1)
    page.goto(seeded_article.get_absolute_url())
    post_as_guest(page, "Ana", "Posted before loading more.")
    expect(comment_with_text(page, "Posted before loading more.")).to_be_visible()

    page.get_by_role("link", name="Load more comments").click()

    expect(page.get_by_role("link", name="Load more comments")).to_have_count(0)
    for comment in Comment.objects.all():
        expect(page.locator(f"#comments [id='c-{comment.pk}']")).to_have_count(1)
    expect(page.locator("#comments .comment")).to_have_count(PAGE_SIZE + 2)
