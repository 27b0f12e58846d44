import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .checks import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("readers_type_fast")]

PASSWORD = "a-long-Passw0rd!"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_sign_up_and_log_in_pages_with_and_without_errors(page, db, screenshot, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(reverse("signup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign up")
    assert_accessible(page, f"sign-up page, {scheme}")

    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, f"sign-up page with errors, {scheme}")
    screenshot(page, "signup-errors", scheme)

    page.goto(reverse("login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert_accessible(page, f"log-in page, {scheme}")

    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("nobody")
    assert_accessible(page, f"log-in page with an error, {scheme}")
    screenshot(page, "login-error", scheme)


def test_reader_signs_up_from_the_article_and_comments_under_their_name(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign up").click()

    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(re.escape(seeded_article.get_absolute_url()) + "$"))
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Signed in as ana")
    form = page.locator("#comment-form")
    expect(form.get_by_label("Display name")).to_have_count(0)
    form.get_by_label("Your comment").fill("Signed up just to say: bring it to Canada too.")
    form.get_by_role("button", name="Post comment").click()

    posted = page.locator("#comments .comment").filter(has_text="bring it to Canada too")
    expect(posted).to_contain_text("ana")
    expect(posted.locator(".comment__tag")).to_have_count(0)
    assert_accessible(page, "signed-in reader after commenting")


def test_reader_logs_in_and_out(page, seeded_article, reader):
    page.goto(seeded_article.get_absolute_url())
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill(reader.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(seeded_article.headline)
    account = page.get_by_role("navigation", name="Account")
    expect(account).to_contain_text(f"Signed in as {reader.username}")

    account.get_by_role("button", name="Log out").click()
    expect(account.get_by_role("link", name="Log in")).to_be_visible()
