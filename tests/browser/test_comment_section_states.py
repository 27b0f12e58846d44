"""The comment section's controls and counts as a reader with JavaScript sees them change:
the sort control under a stance filter, the counts after posting, the page links after
"Load more"."""

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


@pytest.fixture
def poll(seeded_article):
    return seeded_article.polls.get()


def add_threads(article, count, *, choice=None):
    return Comment.objects.bulk_create(
        Comment(
            article=article,
            author_name=f"Reader {number}",
            reader_token="earlier-reader",
            body=f"Thread number {number}.",
            helpful_count=number,
            stance_choice=choice,
        )
        for number in range(count)
    )


def vote(page, poll, choice):
    form = page.locator(f"#poll-{poll.pk}")
    form.get_by_label(choice.label, exact=False).check()
    form.get_by_role("button", name="Vote").click()
    expect(page.locator(f"#poll-{poll.pk}-results")).to_contain_text("Your vote")


def test_choosing_a_stance_under_both_sides_shows_the_order_used(page, seeded_article, poll):
    first, last = poll.choices.order_by("position")[0], poll.choices.order_by("position").last()
    add_threads(seeded_article, 3, choice=first)
    add_threads(seeded_article, 2, choice=last)
    page.goto(seeded_article.get_absolute_url() + "?sort=both")
    mark_document(page)
    sort, stance = page.get_by_label("Sort by"), page.get_by_label("Show", exact=True)
    expect(sort).to_have_value("both")

    tab_to(page, stance)
    stance.select_option(label=f"Voted: {last.label}")

    expect(sort).to_have_value("helpful")
    expect(page.locator("#live-region")).to_have_text(f"Showing most helpful, voted: {last.label}.")
    expect(page.locator("#comments > li")).to_have_count(2)
    # The controls were renewed around the reader's choice: focus stays on it.
    expect(stance).to_be_focused()
    expect(stance).to_have_value(str(last.pk))
    assert_same_document(page)
    assert_accessible(page, "one stance, by helpfulness")


def test_posting_on_a_paragraph_updates_its_count_and_the_stance_counts(page, seeded_article, poll):
    first, last = poll.choices.order_by("position")[0], poll.choices.order_by("position").last()
    add_threads(seeded_article, 1, choice=first)
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    vote(page, poll, last)
    split = page.locator(".stance-split")
    expect(split.get_by_text(f"{last.label}: 0 comments")).to_be_visible()
    expect(split.get_by_role("link", name=f"{last.label}: 0 comments")).to_have_count(0)
    paragraph = page.locator("#p-3")
    expect(paragraph.get_by_role("link", name="comment on paragraph 3")).to_have_count(0)

    paragraph.get_by_role("link", name="Discuss paragraph 3").click()
    form = page.locator("#comment-form")
    expect(form.get_by_label("Responding to paragraph 3 of the article")).to_be_checked()
    # Focus moves to the text box once the swap settles: type only then, as a reader would.
    expect(form.get_by_label("Your comment")).to_be_focused()
    form.get_by_label("Display name").fill("Ines")
    form.get_by_label("Your comment").fill("Is that price right?")
    form.get_by_role("button", name="Post comment").click()

    expect(page.locator("#comments .comment").filter(has_text="price right")).to_be_focused()
    expect(paragraph.get_by_role("link", name="1 comment on paragraph 3")).to_be_visible()
    expect(split.get_by_role("link", name=f"{last.label}: 1 comment")).to_be_visible()
    expect(page.locator("#comment-count")).to_have_text("(2)")
    assert_same_document(page)
    assert_accessible(page, "counts updated after posting")


def test_after_load_more_the_page_links_say_what_is_on_screen(page, seeded_article):
    add_threads(seeded_article, 45)
    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    pages = page.get_by_role("navigation", name="Comment pages")
    expect(pages).to_contain_text("Page 1 of 3")

    page.get_by_role("link", name="Load more comments").click()

    expect(page.locator("#comments > li")).to_have_count(40)
    expect(pages).to_contain_text("Pages 1–2 of 3")
    expect(pages.get_by_role("link")).to_have_text(["Next page"])
    assert_same_document(page)


def test_pages_and_fragments_of_these_states_are_valid_html(page, html_capture):
    """After the scenarios above: every page and fragment they were sent."""
    reason = vnu_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(f"HTML check cannot run: {reason}")
        pytest.skip(f"HTML check skipped: {reason}")

    errors = vnu_errors(html_capture)
    assert not errors, f"Nu Html Checker found {len(errors)} errors:\n" + "\n".join(errors)
