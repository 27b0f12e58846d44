"""Reading how opinion moved: the chart under the poll results, on a phone, light and dark."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .checks import assert_accessible, vnu_errors, vnu_missing_reason
from .conftest import browser_required

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 800}
# WCAG 1.4.11: lines and markers need 3:1 against what they are drawn on.
CONTRAST = """element => {
  const rgb = text => text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  let surface = element;
  while (getComputedStyle(surface).backgroundColor === "rgba(0, 0, 0, 0)") {
    surface = surface.parentElement;
  }
  const [a, b] = [getComputedStyle(element).stroke, getComputedStyle(surface).backgroundColor]
    .map(rgb).map(luminance).sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture
def poll(seeded_article, add_votes):
    """The shipped poll, open for a week, with votes on several of its days."""
    poll = seeded_article.polls.get()
    now = timezone.now()
    poll.opens_at = now - timedelta(days=7)
    poll.save()
    add_votes(poll, 3, 1, 0, 0, created_at=now - timedelta(days=6))
    add_votes(poll, 1, 3, 2, 0, created_at=now - timedelta(days=4))
    add_votes(poll, 0, 2, 3, 1, created_at=now - timedelta(days=2))
    return poll


def vote(page, poll, choice):
    form = page.locator(f"#poll-{poll.pk}")
    form.get_by_label(choice.label, exact=False).check()
    form.get_by_role("button", name="Vote").click()


def today_row(page, poll):
    day = timezone.localdate().isoformat()
    return page.locator(f"#poll-{poll.pk}-results tbody tr").filter(
        has=page.locator(f"time[datetime='{day}']")
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_reader_votes_and_reads_how_opinion_moved_on_a_phone(page, poll, scheme, screenshot):
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme=scheme)
    choices = list(poll.choices.order_by("position"))
    page.goto(poll.article.get_absolute_url())
    results = page.locator(f"#poll-{poll.pk}-results")
    expect(results.get_by_role("img")).to_have_count(0)

    vote(page, poll, choices[3])

    chart = results.get_by_role("img", name="How opinion moved")
    expect(chart).to_be_visible()
    expect(results.get_by_role("table", name="Votes at the end of each day")).to_be_visible()
    # 4 + 6 + 6 earlier votes and this reader's: 17 in all, 2 of them for the last answer.
    expect(today_row(page, poll).locator("td").nth(3)).to_have_text("12% (2 votes)")
    expect(today_row(page, poll).locator("td").last).to_have_text("17")
    expect(chart).to_have_accessible_description(re.compile("“Not sure yet” went from 0% to 12%"))
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    for line in chart.locator("polyline").all():
        assert line.evaluate(CONTRAST) >= 3, f"a line is too faint in {scheme}"
    assert_accessible(page, f"poll chart at 360 px, {scheme}")
    page.locator(f"#poll-{poll.pk}-history").scroll_into_view_if_needed()
    screenshot(page.locator(f"#poll-{poll.pk}-results"), "poll-chart", scheme)
    page.locator(f"#poll-{poll.pk}-results").screenshot(path=f"/tmp/chart-360-{scheme}.png")


def test_the_chart_on_a_wide_screen_and_its_pages_are_valid_html(
    page, poll, html_capture, screenshot
):
    choices = list(poll.choices.order_by("position"))
    page.goto(poll.article.get_absolute_url())
    vote(page, poll, choices[0])
    results = page.locator(f"#poll-{poll.pk}-results")
    expect(results.get_by_role("img", name="How opinion moved")).to_be_visible()
    # The periodic refresh brings the same chart back.
    page.locator(f"#poll-{poll.pk}-refresh").click()
    expect(results.get_by_role("img", name="How opinion moved")).to_be_visible()
    assert_accessible(page, "poll chart at 1280 px")
    results.screenshot(path="/tmp/chart-1280-light.png")
    screenshot(results, "poll-chart")

    reason = vnu_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(f"HTML check cannot run: {reason}")
        pytest.skip(f"HTML check skipped: {reason}")
    errors = vnu_errors(html_capture)
    assert not errors, f"Nu Html Checker found {len(errors)} errors:\n" + "\n".join(errors)
