import pytest
from playwright.sync_api import expect

from comments.models import Comment

from .checks import assert_accessible, assert_same_document, mark_document

pytestmark = pytest.mark.browser


def add_threads(article, choice, count, *, helpful_from):
    return Comment.objects.bulk_create(
        Comment(
            article=article,
            author_name=f"{choice.label} voter {number}",
            reader_token="earlier-reader",
            body=f"A {choice.label} view, number {number}.",
            helpful_count=helpful_from + number,
            stance_choice=choice,
        )
        for number in range(count)
    )


def test_reader_chooses_both_sides_and_follows_a_stance_link(page, seeded_article, screenshot):
    poll = seeded_article.polls.get()
    choices = list(poll.choices.order_by("position"))
    majority, minority = choices[0], choices[-1]
    add_threads(seeded_article, majority, 8, helpful_from=10)
    add_threads(seeded_article, minority, 2, helpful_from=0)

    page.goto(seeded_article.get_absolute_url())
    mark_document(page)
    split = page.locator(".stance-split")
    expect(split.get_by_role("link", name=f"{majority.label}: 8 comments")).to_be_visible()
    expect(split.get_by_role("link", name=f"{minority.label}: 2 comments")).to_be_visible()
    badges = page.locator("#comments > li > .comment .stance-badge")
    expect(page.get_by_label("Sort by")).to_have_value("newest")  # no votes yet

    page.get_by_label("Sort by").select_option(label="Both sides")

    expect(page.locator("#live-region")).to_have_text("Showing both sides.")
    expect(badges.nth(0)).to_have_text(f"Voted: {majority.label}")
    expect(badges.nth(1)).to_have_text(f"Voted: {minority.label}")
    expect(badges.nth(2)).to_have_text(f"Voted: {majority.label}")
    expect(badges.nth(3)).to_have_text(f"Voted: {minority.label}")
    expect(badges.nth(4)).to_have_text(f"Voted: {majority.label}")
    assert_same_document(page)
    assert_accessible(page, "comments in the both-sides order")
    screenshot(page.locator("#comment-section"), "comments-both-sides")

    split.get_by_role("link", name=f"{minority.label}: 2 comments").click()

    expect(badges).to_have_count(2)
    expect(badges).to_have_text([f"Voted: {minority.label}"] * 2)
    expect(page.locator("#comment-stance")).to_have_value(str(minority.pk))
    assert_same_document(page)
    assert_accessible(page, "comments of one stance, from the heading's link")
