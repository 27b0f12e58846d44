"""In the browser: tied shares on the poll chart (on a phone and a wide screen), the names a
screen reader lists for the fact cards' links, and what a reply on "My activity" answers;
axe and the HTML checker clean."""

import itertools
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from comments.models import Comment

from .checks import assert_accessible, vnu_errors, vnu_missing_reason
from .conftest import browser_required

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Passw0rd!"

# The grid lines (0%, 25%, 50%, 75%, 100%) and each line's end label and last marker, as drawn.
GEOMETRY = """chart => {
  const middle = element => {
    const box = element.getBoundingClientRect();
    return {top: box.top, bottom: box.bottom, left: box.left, right: box.right,
            y: box.top + box.height / 2};
  };
  const grid = [...chart.querySelectorAll(".poll-chart__grid line")].map(line => middle(line).y);
  const series = [...chart.querySelectorAll(".poll-chart__series")].map(group => {
    const marker = group.querySelector(".poll-chart__marker");
    const last = marker.getAttribute("d").match(/M[^M]+/g).pop();
    const probe = document.createElementNS("http://www.w3.org/2000/svg", "path");
    probe.setAttribute("d", last);
    group.append(probe);
    const box = middle(probe);
    probe.remove();
    const label = group.querySelector(".poll-chart__end");
    return {text: label.textContent, label: middle(label), marker: box};
  });
  return {grid, series};
}"""


@pytest.fixture
def tied_poll(seeded_article, add_votes):
    """The shipped poll: after this reader's vote for its last answer, 20% / 20% / 20% / 40%."""
    poll = seeded_article.polls.get()
    now = timezone.now()
    poll.opens_at = now - timedelta(days=7)
    poll.save()
    add_votes(poll, 1, 1, 0, 1, created_at=now - timedelta(days=6))
    add_votes(poll, 0, 0, 1, 0, created_at=now - timedelta(days=3))
    return poll


def drawn(page, poll):
    page.goto(poll.article.get_absolute_url())
    form = page.locator(f"#poll-{poll.pk}")
    form.get_by_label(list(poll.choices.order_by("position"))[-1].label, exact=False).check()
    form.get_by_role("button", name="Vote").click()
    chart = page.locator(f"#poll-{poll.pk}-results").get_by_role("img", name="How opinion moved")
    expect(chart).to_be_visible()
    return chart, chart.evaluate(GEOMETRY)


@pytest.mark.parametrize("width", [360, 1280])
def test_tied_shares_are_written_around_their_value_and_every_marker_shows(
    page, tied_poll, width, screenshot
):
    page.set_viewport_size({"width": width, "height": 900})

    chart, geometry = drawn(page, tied_poll)

    zero, hundred = geometry["grid"][0], geometry["grid"][-1]
    at = lambda percent: zero + (hundred - zero) * percent / 100  # noqa: E731
    series = geometry["series"]
    assert [line["text"] for line in series] == ["20%", "20%", "20%", "40%"]
    # Stacked a line of text apart (LABEL_GAP: 14 of the chart's 144 units from 0% to 100%)
    # around the value they share, the middle one on it.
    line_of_text = (zero - hundred) * 14 / 144
    tied = sorted(line["label"]["y"] for line in series[:3])
    assert tied[1] == pytest.approx(at(20), abs=2)
    for y in tied:
        assert abs(y - at(20)) <= line_of_text + 2
    # A text's box is its font's full height; digits fill about three quarters of it.
    labels = sorted((line["label"] for line in series), key=lambda box: box["top"])
    for upper, lower in itertools.pairwise(labels):
        height = upper["bottom"] - upper["top"]
        assert lower["y"] - upper["y"] >= 0.8 * height, "two share labels overlap"
    for a, b in itertools.combinations([line["marker"] for line in series[:3]], 2):
        apart = a["right"] <= b["left"] or b["right"] <= a["left"]
        apart = apart or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
        assert apart, "two end markers cover each other"
    assert_accessible(page, f"tied poll chart at {width} px")
    page.locator(f"#poll-{tied_poll.pk}-history").scroll_into_view_if_needed()
    screenshot(page.locator(f"#poll-{tied_poll.pk}-history"), "poll-chart-ties")


def link_names(region):
    """The names the accessibility tree gives the links in `region`, as a screen reader's
    links list shows them."""
    lines = re.findall(
        r"""^\s*- (?:'link "(.*)"'|link "(.*)"):?$""", region.aria_snapshot(), flags=re.MULTILINE
    )
    # A name with a colon or a quote is a single-quoted YAML string, its ' doubled.
    return [quoted.replace("''", "'") or plain for quoted, plain in lines]


def test_a_screen_reader_lists_each_fact_cards_links_by_their_fact(page, seeded_article):
    page.goto(seeded_article.get_absolute_url())
    cards = page.locator("li.fact")

    names = link_names(page.locator(".facts__columns"))

    discuss = [name for name in names if name.startswith("Discuss")]
    correct = [name for name in names if name.startswith("Suggest a correction")]
    assert len(discuss) == len(correct) == cards.count() > 10
    assert len(set(discuss)) == len(discuss)
    assert len(set(correct)) == len(correct)
    card = cards.filter(has_text="It will be positioned below the electric successor")
    link = card.get_by_role("link", name=re.compile("^Discuss this fact: “It will be positioned"))
    expect(link).to_have_text(re.compile("^Discuss"))
    expect(link).to_have_attribute("href", re.compile(r"anchor=fact-\d+"))
    assert_accessible(page, "fact cards")


def test_my_activity_says_whom_a_reply_answers(page, seeded_article, screenshot):
    get_user_model().objects.create_user("carla", email="carla@example.com", password=PASSWORD)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("carla")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Signed in as carla")
    carla = get_user_model().objects.get(username="carla")
    beas = Comment.objects.create(
        article=seeded_article, reader_token="bea", author_name="Bea", body="Too small to sell."
    )
    Comment.objects.create(
        article=seeded_article,
        user=carla,
        author_name="carla",
        parent=beas,
        depth=1,
        body="They will sell in cities.",
    )

    page.goto("/accounts/activity/")
    reply = page.get_by_role("article", name=re.compile("^Reply to Bea on "))
    expect(reply).to_contain_text("They will sell in cities.")
    assert_accessible(page, "my activity with a reply")
    screenshot(page, "activity-reply")
    reply.get_by_role("link", name="Bea", exact=True).click()

    expect(page).to_have_url(re.compile(f"#c-{beas.pk}$"))
    expect(page.locator(f"#c-{beas.pk}")).to_contain_text("Too small to sell.")


def test_the_pages_seen_here_are_valid_html(page, html_capture):
    reason = vnu_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(f"HTML check cannot run: {reason}")
        pytest.skip(f"HTML check skipped: {reason}")
    errors = vnu_errors(html_capture)
    assert not errors, f"Nu Html Checker found {len(errors)} errors:\n" + "\n".join(errors)
