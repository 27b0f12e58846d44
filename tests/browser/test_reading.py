import pytest
from playwright.sync_api import expect

from comments import services
from comments.readers import Reader

from .checks import assert_accessible

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
HIGHLIGHT_DIFFERS = """([target, other]) => {
  const look = (element) => {
    const style = getComputedStyle(element);
    return [style.backgroundColor, style.boxShadow, style.outlineStyle].join("|");
  };
  return look(target) !== look(other);
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_reader_follows_a_fact_to_its_highlighted_source(
    page, seeded_article, screenshot, viewport, scheme
):
    page.set_viewport_size(VIEWPORTS[viewport])
    page.emulate_media(color_scheme=scheme)
    page.goto(seeded_article.get_absolute_url())

    expect(page.get_by_role("heading", level=1)).to_have_text(seeded_article.headline)
    expect(page.get_by_role("heading", name="Key points")).to_be_visible()
    facts_table = page.get_by_role("table", name="Car models in this article")
    expect(facts_table).to_be_visible()
    assert_accessible(page, f"article, {viewport}, {scheme}")
    screenshot(page, "article", scheme)
    screenshot(page, "article-top", scheme, full_page=False)
    screenshot(facts_table, "model-facts-table", scheme)

    source_link = facts_table.locator("a.source-link[href^='#p-']").first
    anchor = source_link.get_attribute("href").removeprefix("#")
    source_link.click()

    expect(page).to_have_url(f"{page.url.split('#')[0]}#{anchor}")
    paragraph = page.locator(f"[id='{anchor}']")
    expect(paragraph).to_be_in_viewport()
    other_paragraph = page.locator(f".article__body p:not([id='{anchor}'])").first
    page.wait_for_function(
        HIGHLIGHT_DIFFERS, arg=[paragraph.element_handle(), other_paragraph.element_handle()]
    )
    assert_accessible(page, f"highlighted source, {viewport}, {scheme}")
    screenshot(page, "fact-source-highlighted", scheme, full_page=False)


def test_key_point_sources_are_highlighted_too(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    key_point_link = page.locator("#model-facts a.source-link[href^='#k-']").first
    anchor = key_point_link.get_attribute("href").removeprefix("#")
    key_point_link.click()

    key_point = page.locator(f"[id='{anchor}']")
    expect(key_point).to_be_in_viewport()
    other = page.locator(f".key-points li:not([id='{anchor}'])").first
    page.wait_for_function(
        HIGHLIGHT_DIFFERS, arg=[key_point.element_handle(), other.element_handle()]
    )


@pytest.mark.usefixtures("readers_type_fast")
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_discussion_after_voting_and_with_a_form_error(
    page, seeded_article, screenshot, viewport, scheme
):
    poll = seeded_article.polls.get()
    parent = services.comment_create(
        article=seeded_article,
        parent=None,
        reader=Reader(),
        author_name="Marta",
        body="A small Nissan at Twingo prices would finally make sense for my commute.",
    )
    services.comment_create(
        article=seeded_article,
        parent=parent,
        reader=Reader(),
        author_name="Sam",
        body="Only if the range is enough for the motorway home.",
    )
    page.set_viewport_size(VIEWPORTS[viewport])
    page.emulate_media(color_scheme=scheme)
    page.goto(seeded_article.get_absolute_url())

    choice = poll.choices.order_by("position").first()
    page.locator(f"#poll-{poll.pk}").get_by_label(choice.label, exact=False).check()
    page.locator(f"#poll-{poll.pk}").get_by_role("button", name="Vote").click()
    expect(page.locator(f"#poll-{poll.pk}-results")).to_contain_text("Your vote")
    page.locator("#comment-form").get_by_role("button", name="Post comment").click()
    expect(page.locator("#comment-form .errorlist").first).to_be_visible()

    assert_accessible(page, f"voted, comments and a form error, {viewport}, {scheme}")
    screenshot(page.locator(".discussion"), "discussion", scheme)
