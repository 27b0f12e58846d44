"""Follow-ups in the browser: asking for reply emails, "My activity", the unsubscribe page."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from comments import notifications
from comments.models import Comment

from .checks import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("readers_type_fast")]

PASSWORD = "a-long-Passw0rd!"


@pytest.fixture
def signed_in_page(page, db):
    get_user_model().objects.create_user("carla", email="carla@example.com", password=PASSWORD)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("carla")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Signed in as carla")
    return page


def test_a_guest_asks_for_reply_emails_and_is_told_to_give_an_address(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    form = page.locator("#comment-form")
    form.get_by_label("Display name").fill("Dan")
    form.get_by_label("Your comment").fill("Tell me when someone answers this.")
    form.get_by_label("Email me when someone replies").check()
    form.get_by_role("button", name="Post comment").click()

    email = page.locator("#comment-form").get_by_label("Email (optional, never shown)")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#comment-email_error")).to_contain_text("Give your email address")
    expect(page.locator("#comment-form").get_by_label("Your comment")).to_have_value(
        "Tell me when someone answers this."
    )
    assert_accessible(page, "comment form asking for an email address")

    email.fill("dan@example.com")
    page.locator("#comment-form").get_by_role("button", name="Post comment").click()
    expect(page.locator("#comments .comment").filter(has_text="Tell me when")).to_be_visible()
    comment = Comment.objects.get(author_name="Dan")
    assert (comment.notify_replies, comment.email) == (True, "dan@example.com")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_my_activity_lists_comments_and_stops_reply_emails(
    signed_in_page, seeded_article, screenshot, scheme
):
    page = signed_in_page
    page.emulate_media(color_scheme=scheme)
    carla = get_user_model().objects.get(username="carla")
    mine = Comment.objects.create(
        article=seeded_article,
        user=carla,
        author_name="carla",
        body="My view.",
        notify_replies=True,
    )
    Comment.objects.create(
        article=seeded_article, user=carla, author_name="carla", body="Held one.", status="pending"
    )
    Comment.objects.create(
        article=seeded_article,
        parent=mine,
        depth=1,
        reader_token="someone",
        author_name="Bea",
        body="I see it differently.",
    )

    page.get_by_role("navigation", name="Account").get_by_role("link", name="My activity").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My activity")
    expect(page.locator("main")).to_contain_text("Pending moderation")
    expect(page.locator("main")).to_contain_text("I see it differently.")
    assert_accessible(page, f"my activity, {scheme}")
    screenshot(page, "my-activity", scheme)

    page.get_by_role("button", name="Stop all reply emails").click()
    expect(page.locator(".messages")).to_contain_text("Reply emails are off")
    expect(page.locator("main")).to_contain_text("You get no reply emails")
    assert not Comment.objects.filter(user=carla, notify_replies=True).exists()


def test_the_unsubscribe_pages(page, seeded_article):
    comment = Comment.objects.create(
        article=seeded_article,
        reader_token="ana",
        author_name="Ana",
        email="ana@example.com",
        body="Mine.",
        notify_replies=True,
    )
    link = notifications.reply_notice_recipient(comment).unsubscribe_url
    path = link.split("://", 1)[1].split("/", 1)[1]

    page.goto(f"/{path}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reply emails stopped")
    assert_accessible(page, "unsubscribed")

    response = page.goto("/accounts/unsubscribe/not-a-real-token/")
    assert response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This unsubscribe link is not valid")
    assert_accessible(page, "bad unsubscribe link")
