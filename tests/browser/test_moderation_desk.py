"""A moderator works the moderation desk in the admin: with the keyboard only, at desktop and
phone sizes, light and dark."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from comments.models import Comment, ModerationAction

from .checks import (
    assert_accessible,
    assert_same_document,
    expect_focus_inside,
    mark_document,
    tab_to,
)

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Passw0rd!"
VIEWPORTS = {"phone": {"width": 360, "height": 800}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def held_comments(seeded_article, make_user):
    """Five comments waiting for a moderator, oldest first: three by guests, two by accounts."""
    authors = [None, make_user("commenter-one"), None, make_user("commenter-two"), None]
    now = timezone.now()
    return [
        Comment.objects.create(
            article=seeded_article,
            user=author,
            reader_token="" if author else f"guest-token-{number}",
            author_name=author.username if author else f"Guest {number}",
            body=f"Held comment number {number}. Details at https://example.com/{number}",
            status=Comment.Status.PENDING,
            hold_reason="A guest's first comment with a link.",
            ip_hash=f"{number}" * 64,
            created_at=now - timezone.timedelta(minutes=50 - number),
        )
        for number, author in enumerate(authors)
    ]


def admin_log_in(page, user):
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def entry(page, comment):
    return page.locator(f"#entry-{comment.pk}")


def expect_done(page, comment, said):
    expect(entry(page, comment)).to_have_class(re.compile(r"\bdesk-entry--done\b"))
    expect(entry(page, comment).locator(".desk-notice")).to_have_text(said)
    expect(page.locator("#live-region")).to_have_text(said)


def test_a_moderator_clears_five_held_comments_with_the_keyboard_only(
    page, moderator, held_comments, screenshot
):
    first, second, third, fourth, fifth = held_comments
    admin_log_in(page, moderator)

    queue_link = page.get_by_role("link", name="Open the moderation queue")
    tab_to(page, queue_link)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/comments/comment/queue/$"))
    expect(page.locator(".desk-entry")).to_have_count(5)
    expect(page.locator("#desk-tabs [aria-current=page]")).to_have_text(re.compile(r"Held\s+5"))
    assert_accessible(page, "moderation queue with five held comments")
    screenshot(page, "moderation-queue")

    # Every action is a button Tab reaches.
    tab_to(page, entry(page, first).get_by_role("button", name="Approve"))
    page.keyboard.press("Enter")
    expect_done(page, first, "Approved the comment by Guest 0.")
    expect_focus_inside(page, f"#entry-{second.pk}", after="approving the first comment")

    # Letters typed into a note are the note, not shortcuts.
    note = entry(page, second).get_by_label("Note for the history (optional)")
    tab_to(page, note)
    page.keyboard.type("Reads like an advert")
    expect(note).to_have_value("Reads like an advert")
    expect(entry(page, second)).not_to_have_class(re.compile(r"\bdesk-entry--done\b"))
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("s")
    expect_done(page, second, "Marked the comment by commenter-one as spam.")
    expect_focus_inside(page, f"#entry-{third.pk}", after="marking the second as spam")

    page.keyboard.press("r")
    expect_done(page, third, "Rejected the comment by Guest 2.")
    expect_focus_inside(page, f"#entry-{fourth.pk}", after="rejecting the third")

    page.keyboard.press("k")
    expect(entry(page, third)).to_be_focused()
    page.keyboard.press("j")
    expect(entry(page, fourth)).to_be_focused()
    page.keyboard.press("a")
    expect_done(page, fourth, "Approved the comment by commenter-two.")
    expect_focus_inside(page, f"#entry-{fifth.pk}", after="approving the fourth")

    page.keyboard.press("s")
    expect_done(page, fifth, "Marked the comment by Guest 4 as spam.")
    expect(page.locator("#desk-tabs [aria-current=page]")).to_have_text(re.compile(r"Held\s+0"))
    # Everything fitted on one page: no link offers more, and focus stays on the last one done.
    expect(page.locator("#desk-next")).to_have_count(0)
    expect(entry(page, fifth)).to_be_focused()
    assert_accessible(page, "moderation queue with every comment done")

    page.reload()
    expect(page.locator(".desk-empty")).to_contain_text("Nothing waiting here")
    assert_accessible(page, "an empty held queue")

    statuses = {
        comment.pk: comment.status
        for comment in Comment.objects.filter(pk__in=[c.pk for c in held_comments])
    }
    assert statuses == {
        first.pk: Comment.Status.APPROVED,
        second.pk: Comment.Status.SPAM,
        third.pk: Comment.Status.REJECTED,
        fourth.pk: Comment.Status.APPROVED,
        fifth.pk: Comment.Status.SPAM,
    }
    assert ModerationAction.objects.filter(actor=moderator).count() == 5
    assert ModerationAction.objects.get(comment=second).reason == "Reads like an advert"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_queue_and_the_dashboard_read_well_at_every_size(
    page, moderator, held_comments, screenshot, viewport, scheme
):
    page.set_viewport_size(VIEWPORTS[viewport])
    page.emulate_media(color_scheme=scheme)
    admin_log_in(page, moderator)

    chart = page.get_by_role("img", name="Comments per hour over the last 48 hours")
    expect(chart).to_be_visible()
    assert_accessible(page, f"admin index with the dashboard, {viewport}, {scheme}")
    screenshot(page, "admin-dashboard", scheme)
    screenshot(page, "admin-dashboard-top", scheme, full_page=False)

    page.goto("/admin/comments/comment/queue/")
    expect(page.locator(".desk-entry")).to_have_count(5)
    assert_accessible(page, f"moderation queue, {viewport}, {scheme}")
    screenshot(page, "moderation-queue", scheme)
    screenshot(page, "moderation-queue-top", scheme, full_page=False)

    width = VIEWPORTS[viewport]["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    body = entry(page, held_comments[0]).locator(".desk-entry__body")
    # The text gets a real column: no word-a-line wrapping, even on a phone.
    assert body.bounding_box()["width"] >= min(width * 0.7, 560)


def test_without_javascript_a_moderator_acts_and_comes_back_to_the_queue(
    reader_context, moderator, held_comments
):
    # No axe check here: axe needs the page's JavaScript.
    page = reader_context(java_script_enabled=False).new_page()
    admin_log_in(page, moderator)
    page.goto("/admin/comments/comment/queue/")
    first, second, third = held_comments[:3]

    entry(page, first).get_by_label("Note for the history (optional)").fill("Fine after all")
    entry(page, first).get_by_role("button", name="Approve").click()
    expect(page.locator(".messagelist")).to_contain_text("Approved the comment by Guest 0.")
    expect(page).to_have_url(re.compile(r"/admin/comments/comment/queue/\?tab=held$"))
    expect(page.locator(".desk-entry")).to_have_count(4)

    entry(page, second).get_by_label("Tick the comment by commenter-one").check()
    entry(page, third).get_by_label("Tick the comment by Guest 2").check()
    page.get_by_label("Action").select_option(label="Reject")
    page.get_by_role("button", name="Apply to the ticked comments").click()
    expect(page.locator(".messagelist")).to_contain_text("Rejected 2 comments.")
    expect(page.locator(".desk-entry")).to_have_count(2)
    assert ModerationAction.objects.get(comment=first).reason == "Fine after all"


def test_bulk_actions_work_in_place(page, moderator, held_comments):
    admin_log_in(page, moderator)
    page.goto("/admin/comments/comment/queue/")
    mark_document(page)
    first, second = held_comments[:2]

    entry(page, first).get_by_label("Tick the comment by Guest 0").check()
    entry(page, second).get_by_label("Tick the comment by commenter-one").check()
    page.get_by_label("Action").select_option(label="Mark as spam")
    page.get_by_label("Note for the history (optional)").first.fill("A run of adverts")
    page.get_by_role("button", name="Apply to the ticked comments").click()

    expect(page.locator("#live-region")).to_have_text("Marked 2 comments as spam.")
    expect(page.locator(".desk-entry")).to_have_count(3)
    expect(page.locator("#desk-queue-heading")).to_be_focused()
    expect(page.locator("#desk-tabs [aria-current=page]")).to_have_text(re.compile(r"Held\s+3"))
    assert_same_document(page)
    assert_accessible(page, "moderation queue after a bulk action")
    assert set(
        ModerationAction.objects.filter(reason="A run of adverts").values_list(
            "comment_id", flat=True
        )
    ) == {first.pk, second.pk}


@pytest.mark.parametrize("javascript", [True, False])
def test_enter_in_a_note_keeps_the_note_and_does_nothing_else(
    reader_context, moderator, held_comments, javascript
):
    page = reader_context(java_script_enabled=javascript).new_page()
    admin_log_in(page, moderator)
    page.goto("/admin/comments/comment/queue/")
    first = held_comments[0]

    note = entry(page, first).get_by_label("Note for the history (optional)")
    note.fill("Checked the link")
    note.press("Enter")

    if javascript:
        expect(page.locator("#live-region")).to_contain_text("Press Tab to reach the actions")
    else:
        page.wait_for_timeout(500)  # time for a form post, were one sent
    expect(page).to_have_url(re.compile(r"/admin/comments/comment/queue/$"))
    expect(note).to_have_value("Checked the link")
    expect(entry(page, first)).not_to_have_class(re.compile(r"\bdesk-entry--done\b"))
    assert not ModerationAction.objects.exists()
    first.refresh_from_db()
    assert first.status == Comment.Status.PENDING
