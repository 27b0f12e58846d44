import re

import pytest
from playwright.sync_api import expect

from comments.models import Comment

from .checks import (
    assert_accessible,
    assert_same_document,
    mark_document,
    tab_to,
    vnu_errors,
    vnu_missing_reason,
)
from .conftest import browser_required

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("readers_type_fast")]

QUOTE_OF_P3 = "The French brand's Ampere EV unit revealed"


@pytest.fixture
def page_without_js(reader_context):
    return reader_context(java_script_enabled=False).new_page()


def test_keyboard_reader_discusses_a_paragraph_and_sees_the_quote(page, seeded_article, screenshot):
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    form = page.locator("#comment-form")
    form.get_by_label("Your comment").fill("Started before choosing a paragraph.")

    discuss = page.locator("#p-3").get_by_role("link", name="Discuss paragraph 3")
    tab_to(page, discuss)
    page.keyboard.press("Enter")

    box = form.get_by_label("Your comment")
    expect(box).to_be_focused()
    expect(box).to_have_value("Started before choosing a paragraph.")  # nothing typed is lost
    anchor = form.get_by_label("Responding to paragraph 3 of the article")
    expect(anchor).to_be_checked()
    expect(form.locator("blockquote")).to_contain_text(QUOTE_OF_P3)
    expect(page.locator("#live-region")).to_have_text("Your comment will respond to paragraph 3.")
    assert_same_document(page)
    assert_accessible(page, "comment form responding to a paragraph")
    screenshot(form, "comment-form-on-a-paragraph")

    page.keyboard.press("Control+A")
    page.keyboard.type("Is the Twingo price really that low?")
    tab_to(page, form.get_by_label("Display name"), shift=True)
    page.keyboard.type("Ines")
    tab_to(page, form.get_by_role("button", name="Post comment"))
    page.keyboard.press("Enter")

    comment = page.locator("#comments .comment").filter(has_text="Twingo price")
    expect(comment).to_be_focused()
    quote = comment.locator("blockquote")
    expect(quote).to_contain_text(QUOTE_OF_P3)
    back = quote.get_by_role("link", name="Paragraph 3")
    expect(back).to_have_attribute("href", f"{seeded_article.get_absolute_url()}#p-3")
    expect(comment.get_by_role("link", name="Twingo")).to_have_attribute(
        "href", f"{seeded_article.get_absolute_url()}#model-renault-twingo"
    )
    assert Comment.objects.get().anchor == "p-3"
    expect(form.locator("input[name='anchor']")).to_have_count(0)  # the next one starts afresh
    assert_same_document(page)
    assert_accessible(page, "a comment on a paragraph")
    screenshot(comment, "comment-on-a-paragraph")

    tab_to(page, back)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#p-3$"))
    expect(page.locator("#p-3")).to_be_in_viewport()


def test_reader_lists_the_comments_on_a_paragraph_from_its_count(page, seeded_article):
    for number in range(2):
        Comment.objects.create(
            article=seeded_article, author_name="Ana", body=f"On p-3, {number}.", anchor="p-3"
        )
    Comment.objects.create(article=seeded_article, author_name="Bo", body="On the article.")
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)

    count = page.locator("#p-3").get_by_role("link", name="2 comments on paragraph 3")
    tab_to(page, count)
    page.keyboard.press("Enter")

    note = page.locator("#claim-filter")
    expect(note).to_be_focused()
    expect(note).to_contain_text("Comments on paragraph 3 of the article.")
    expect(page.locator("#comments > li")).to_have_count(2)
    expect(page.locator("#live-region")).to_have_text("Showing newest first, on paragraph 3.")
    assert_accessible(page, "the comments on a paragraph")

    note.get_by_role("link", name="Show all comments").click()
    expect(page.locator("#comments > li")).to_have_count(3)
    assert_same_document(page)


def test_reader_without_javascript_discusses_a_paragraph(page_without_js, seeded_article):
    page = page_without_js
    page.goto(seeded_article.get_absolute_url())

    with page.expect_navigation():
        page.locator("#p-3").get_by_role("link", name="Discuss paragraph 3").click()

    expect(page).to_have_url(re.compile(r"\?anchor=p-3#comment-form$"))
    form = page.locator("#comment-form")
    expect(form.get_by_label("Responding to paragraph 3 of the article")).to_be_checked()
    expect(form.locator("blockquote")).to_contain_text(QUOTE_OF_P3)
    form.get_by_label("Display name").fill("Noor")
    form.get_by_label("Your comment").fill("Posted with a plain form.")
    with page.expect_navigation():
        form.get_by_role("button", name="Post comment").click()

    comment = page.locator("#comments .comment").filter(has_text="Posted with a plain form.")
    expect(comment.locator("blockquote")).to_contain_text(QUOTE_OF_P3)

    page.goto(seeded_article.get_absolute_url())
    with page.expect_navigation():
        page.locator("#p-3").get_by_role("link", name="1 comment on paragraph 3").click()
    expect(page).to_have_url(re.compile(r"\?anchor=p-3#comments$"))
    expect(page.locator("#claim-filter")).to_contain_text("Comments on paragraph 3")
    expect(page.locator("#comments > li")).to_have_count(1)


def test_pages_and_fragments_of_discussing_a_paragraph_are_valid_html(
    page, seeded_article, html_capture
):
    reason = vnu_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(f"HTML check cannot run: {reason}")
        pytest.skip(f"HTML check skipped: {reason}")
    page.goto(f"{seeded_article.get_absolute_url()}?anchor=k-1")

    errors = vnu_errors(html_capture)
    assert not errors, f"Nu Html Checker found {len(errors)} errors:\n" + "\n".join(errors)
