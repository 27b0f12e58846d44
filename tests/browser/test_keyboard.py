import pytest
from playwright.sync_api import expect

from .checks import assert_accessible, focused_element_description, tab_to

pytestmark = pytest.mark.browser


def focus_is_inside(page, selector):
    return page.evaluate(
        "selector => { const e = document.activeElement;"
        " return e !== document.body && !!e.closest(selector); }",
        selector,
    )


def test_keyboard_reader_votes_and_focus_stays_in_the_poll(page, seeded_article):
    poll = seeded_article.polls.get()
    first, second = poll.choices.order_by("position")[:2]
    page.goto(seeded_article.get_absolute_url())
    form = page.locator(f"#poll-{poll.pk}")

    tab_to(page, form.get_by_label(first.label, exact=False))
    page.keyboard.press("Space")
    expect(form.get_by_label(first.label, exact=False)).to_be_checked()
    page.keyboard.press("ArrowDown")
    expect(form.get_by_label(second.label, exact=False)).to_be_checked()
    tab_to(page, form.get_by_role("button", name="Vote"))
    page.keyboard.press("Enter")

    results = page.locator(f"#poll-{poll.pk}-results [data-choice-id='{second.pk}']")
    expect(results).to_have_attribute("data-votes", "1")
    assert focus_is_inside(page, f"#poll-{poll.pk}"), (
        "after voting the focus left the poll: " + focused_element_description(page)
    )
    assert_accessible(page, "poll after a keyboard vote")


def test_keyboard_reader_follows_a_fact_source(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    source_link = page.locator("#model-facts a.source-link[href^='#p-']").first
    anchor = source_link.get_attribute("href").removeprefix("#")

    tab_to(page, source_link)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{page.url.split('#')[0]}#{anchor}")
    expect(page.locator(f"[id='{anchor}']")).to_be_in_viewport()
