import pytest
from playwright.sync_api import expect

from comments import services
from comments.readers import Reader
from comments.selectors import PAGE_SIZE

from .checks import assert_accessible, expect_focus_inside, tab_to

pytestmark = pytest.mark.browser


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
    expect_focus_inside(page, f"#poll-{poll.pk}", after="voting")
    assert_accessible(page, "poll after a keyboard vote")


def test_keyboard_reader_follows_a_fact_source(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    source_link = page.locator("#model-facts a.source-link[href^='#p-']").first
    anchor = source_link.get_attribute("href").removeprefix("#")

    tab_to(page, source_link)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{page.url.split('#')[0]}#{anchor}")
    expect(page.locator(f"[id='{anchor}']")).to_be_in_viewport()


@pytest.mark.usefixtures("readers_type_fast")
def test_keyboard_reader_loads_more_comments_then_comments_and_replies(page, seeded_article):
    earlier = [
        services.comment_create(
            article=seeded_article,
            parent=None,
            reader=Reader(),
            author_name="Earlier reader",
            body=f"Earlier comment number {number}.",
        )
        for number in range(1, PAGE_SIZE + 2)
    ]
    page.goto(seeded_article.get_absolute_url())
    comments = page.locator("#comments > li > .comment")
    expect(comments).to_have_count(PAGE_SIZE)

    tab_to(page, page.get_by_role("link", name="Load more comments"))
    page.keyboard.press("Enter")
    expect(comments).to_have_count(PAGE_SIZE + 1)
    expect_focus_inside(page, "#comment-section", after="loading more comments")

    form = page.locator("#comment-form")
    tab_to(page, form.get_by_label("Display name"), shift=True)
    page.keyboard.type("Kim")
    tab_to(page, form.get_by_label("Your comment"))
    page.keyboard.type("Typed without a mouse.")
    tab_to(page, form.get_by_role("button", name="Post comment"))
    page.keyboard.press("Enter")

    posted = page.locator("#comments .comment").filter(has_text="Typed without a mouse.")
    expect(posted).to_be_visible()
    expect(posted).to_be_focused()

    replied_to = page.locator(f"#c-{earlier[-1].pk}")
    tab_to(page, replied_to.get_by_role("link", name="Reply"))
    page.keyboard.press("Enter")
    reply_form = page.locator(f"#reply-form-{earlier[-1].pk}")
    expect(reply_form).to_be_visible()
    expect_focus_inside(page, f"#reply-form-{earlier[-1].pk}", after="opening the reply form")
    reply_box = reply_form.get_by_label(f"Your reply to {earlier[-1].author_name}")
    tab_to(page, reply_box)
    page.keyboard.type("A reply by keyboard.")
    tab_to(page, reply_form.get_by_role("button", name="Post reply"))
    page.keyboard.press("Space")

    reply = page.locator(f"#replies-{earlier[-1].pk} .comment")
    expect(reply).to_contain_text("A reply by keyboard.")
    expect(page.locator("#live-region")).to_have_text("Your reply was posted.")
    expect_focus_inside(page, f"#replies-{earlier[-1].pk}", after="replying")
    assert_accessible(page, "comments after keyboard use")
