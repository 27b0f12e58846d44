import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def page_without_js(reader_context):
    # axe cannot run here: its checks need the page's JavaScript.
    return reader_context(java_script_enabled=False).new_page()


def test_reader_without_javascript_votes_with_a_plain_form_post(page_without_js, seeded_article):
    page = page_without_js
    poll = seeded_article.polls.get()
    choice = poll.choices.order_by("position").first()
    page.goto(seeded_article.get_absolute_url())
    form = page.locator(f"#poll-{poll.pk}")

    form.get_by_label(choice.label, exact=False).check()
    with page.expect_navigation():
        form.get_by_role("button", name="Vote").click()

    expect(page).to_have_url(
        re.compile(re.escape(f"{seeded_article.get_absolute_url()}#poll-{poll.pk}") + "$")
    )
    result = page.locator(f"#poll-{poll.pk}-results [data-choice-id='{choice.pk}']")
    expect(result).to_have_attribute("data-votes", "1")
    expect(result).to_contain_text("Your vote")
    expect(page.get_by_role("status").filter(has_text="vote")).to_be_visible()


def test_fact_sources_are_highlighted_without_javascript(page_without_js, seeded_article):
    page = page_without_js
    page.goto(seeded_article.get_absolute_url())
    source_link = page.locator("#model-facts a.source-link[href^='#p-']").first
    anchor = source_link.get_attribute("href").removeprefix("#")

    source_link.click()

    paragraph = page.locator(f"[id='{anchor}']")
    expect(paragraph).to_be_in_viewport()
    expect(page.locator(f"[id='{anchor}']:target")).to_have_count(1)
    expect(paragraph).not_to_have_css("background-color", "rgba(0, 0, 0, 0)")


@pytest.mark.usefixtures("readers_type_fast")
def test_reader_without_javascript_comments_and_fixes_an_error(page_without_js, seeded_article):
    page = page_without_js
    page.goto(seeded_article.get_absolute_url())
    form = page.locator("#comment-form")
    form.get_by_label("Display name").fill("Noor")
    with page.expect_navigation():
        form.get_by_role("button", name="Post comment").click()

    body = page.get_by_label("Your comment")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Display name")).to_have_value("Noor")

    body.fill("Works fine with scripts blocked.")
    with page.expect_navigation():
        page.get_by_role("button", name="Post comment").click()

    posted = page.locator("#comments .comment").filter(has_text="Works fine with scripts blocked.")
    expect(posted).to_contain_text("Noor")
    expect(page.get_by_role("status").filter(has_text="Your comment was posted.")).to_be_visible()
