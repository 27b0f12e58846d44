"""A reader suggests a correction to a paragraph from the article page, with the keyboard
and without JavaScript; the editors' accepted correction shows under the article."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from articles.models import Correction

from .checks import assert_accessible, assert_same_document, mark_document, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("readers_type_fast")]

EXPLANATION = "Ampere said the price is below €20,000; the dollar figure is a conversion."


def test_keyboard_reader_suggests_a_correction_to_a_paragraph(page, seeded_article, screenshot):
    page.goto(seeded_article.get_absolute_url())
    suggest = page.locator("#p-3").get_by_role("link", name="Suggest a correction")

    tab_to(page, suggest)
    page.keyboard.press("Enter")

    form = page.locator("form#correction-form")
    expect(form).to_be_visible()
    expect(form.locator("blockquote")).to_contain_text("Ampere EV unit revealed")
    expect(form.locator("input[name=anchor]")).to_have_value("p-3")
    assert_accessible(page, "correction form")
    mark_document(page)

    # Sent empty first: the error is read out and focus goes to the box to fill.
    tab_to(page, form.get_by_role("button", name="Send suggestion"))
    page.keyboard.press("Enter")
    explanation = page.locator("#correction-form").get_by_label("What is wrong, and why?")
    expect(explanation).to_have_attribute("aria-invalid", "true")
    expect(explanation).to_be_focused()
    expect(page.locator("#live-region")).to_have_text("Say what is wrong and why before sending.")
    assert_accessible(page, "correction form with an error")
    screenshot(page.locator("#correction-form"), "correction-error")

    page.keyboard.type(EXPLANATION)
    page.keyboard.press("Tab")
    source = page.locator("#correction-form").get_by_label("A source that shows it (optional)")
    expect(source).to_be_focused()
    page.keyboard.type("https://example.com/ampere")
    tab_to(page, page.locator("#correction-form").get_by_role("button", name="Send suggestion"))
    page.keyboard.press("Enter")

    thanks = page.locator("#correction-sent")
    expect(thanks).to_contain_text("sent to the editors")
    expect(thanks).to_be_focused()
    expect(page.locator("#live-region")).to_have_text(
        "Thank you: your suggestion was sent to the editors."
    )
    expect(page.locator("#correction-form")).to_have_count(0)
    assert_same_document(page)
    assert_accessible(page, "correction sent")
    screenshot(page, "correction-sent")

    correction = Correction.objects.get()
    assert (correction.anchor, correction.explanation) == ("p-3", EXPLANATION)
    assert correction.source_url == "https://example.com/ampere"

    tab_to(page, thanks.get_by_role("link", name="Back to the article"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"{re.escape(seeded_article.get_absolute_url())}#p-3$"))
    expect(page.locator("#p-3")).to_be_in_viewport()


def test_reader_without_javascript_suggests_a_correction(reader_context, seeded_article):
    page = reader_context(java_script_enabled=False).new_page()
    page.goto(seeded_article.get_absolute_url())
    page.get_by_role("link", name="Suggest a correction", exact=True).click()

    form = page.locator("form#correction-form")
    form.get_by_label("Which part is wrong?").select_option("k-1")
    form.get_by_label("What is wrong, and why?").fill(EXPLANATION)
    form.get_by_role("button", name="Send suggestion").click()

    expect(page.locator("#correction-sent")).to_contain_text("sent to the editors")
    assert "/corrections/sent/" in page.url
    page.locator("#correction-sent").get_by_role("link", name="Back to the article").click()
    expect(page).to_have_url(re.compile(f"{re.escape(seeded_article.get_absolute_url())}#k-1$"))
    assert Correction.objects.get().anchor == "k-1"


def test_an_accepted_correction_reads_as_a_dated_note(page, seeded_article, screenshot):
    paragraph = seeded_article.paragraphs.get(kind="body", position=3)
    fact = seeded_article.facts.filter(attribute="").order_by("position").first()
    for anchor, target in (("p-3", {"paragraph": paragraph}), (f"fact-{fact.pk}", {"fact": fact})):
        Correction.objects.create(
            article=seeded_article,
            anchor=anchor,
            explanation="Wrong.",
            status=Correction.Status.ACCEPTED,
            change_note="An earlier version gave the price in dollars only.",
            decided_at=timezone.now(),
            **target,
        )
    page.goto(seeded_article.get_absolute_url())
    notes = page.get_by_role("region", name="Corrections")
    expect(notes.locator("li")).to_have_count(2)
    expect(notes).to_contain_text(timezone.localdate().strftime("%B %Y"))
    expect(page.locator(f"[id='fact-{fact.pk}'] .fact__corrected")).to_contain_text("Corrected")
    assert_accessible(page, "article with corrections")
    screenshot(notes, "corrections-note")

    notes.get_by_role("link", name="Paragraph 3").click()
    expect(page.locator("#p-3")).to_be_in_viewport()
