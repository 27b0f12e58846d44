import pytest
from playwright.sync_api import expect

from .checks import assert_accessible, assert_same_document, mark_document

pytestmark = pytest.mark.browser


@pytest.fixture
def poll(seeded_article):
    return seeded_article.polls.get()


def result_for(page, poll, choice):
    return page.locator(f"#poll-{poll.pk}-results [data-choice-id='{choice.pk}']")


def vote(page, poll, choice, button="Vote"):
    form = page.locator(f"#poll-{poll.pk}")
    form.get_by_label(choice.label, exact=False).check()
    form.get_by_role("button", name=button).click()


def test_reader_votes_sees_their_choice_marked_and_changes_it(page, poll, screenshot):
    first, second = poll.choices.order_by("position")[:2]
    page.goto(poll.article.get_absolute_url())
    expect(page.locator(f"#poll-{poll.pk}")).to_be_visible()
    assert_accessible(page, "poll before voting")
    mark_document(page)

    vote(page, poll, first)

    expect(result_for(page, poll, first)).to_have_attribute("data-votes", "1")
    expect(result_for(page, poll, first)).to_contain_text("Your vote")
    assert_same_document(page)
    assert_accessible(page, "poll results after voting")
    screenshot(page.locator(f"#poll-{poll.pk}"), "poll-voted")

    page.reload()
    expect(result_for(page, poll, first)).to_have_attribute("data-votes", "1")
    expect(result_for(page, poll, first)).to_contain_text("Your vote")
    expect(page.get_by_label(first.label, exact=False)).to_be_checked()
    mark_document(page)

    vote(page, poll, second, button="Change my vote")

    expect(result_for(page, poll, second)).to_have_attribute("data-votes", "1")
    expect(result_for(page, poll, second)).to_contain_text("Your vote")
    expect(result_for(page, poll, first)).to_have_attribute("data-votes", "0")
    expect(result_for(page, poll, first)).not_to_contain_text("Your vote")
    assert_same_document(page)
    assert_accessible(page, "poll results after changing the vote")


def test_another_readers_vote_appears_after_the_refresh_interval(page, poll, reader_context):
    first, second = poll.choices.order_by("position")[:2]
    page.clock.install()
    page.goto(poll.article.get_absolute_url())
    vote(page, poll, first)
    expect(result_for(page, poll, second)).to_have_attribute("data-votes", "0")
    mark_document(page)

    other_reader = reader_context().new_page()
    other_reader.goto(poll.article.get_absolute_url())
    vote(other_reader, poll, second)
    expect(result_for(other_reader, poll, second)).to_have_attribute("data-votes", "1")
    expect(result_for(page, poll, second)).to_have_attribute("data-votes", "0")

    page.clock.run_for("00:16")

    expect(result_for(page, poll, second)).to_have_attribute("data-votes", "1")
    assert_same_document(page)
    assert_accessible(page, "poll results after the periodic refresh")
