"""How opinion moved: the poll's votes by day, as a chart with its table and in the JSON."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Poll, Vote
from comments.polls.history import MAX_HISTORY_POINTS, poll_history
from comments.polls.services import polls_recount
from evsite.caching import POLLS, bump, local_pages
from tests.conftest import element, elements, text

Visibility = Poll.ResultsVisibility
CELL = re.compile(r"^(\d+)% \((\d+) votes?\)$")


def day_at_noon(days_ago):
    """Noon (UTC, the site's time zone) `days_ago` days before today."""
    today = timezone.localdate()
    return datetime(today.year, today.month, today.day, 12, tzinfo=UTC) - timedelta(days_ago)


def results_url(poll):
    return reverse("comments:poll_results", kwargs={"pk": poll.pk})


def json_url(poll):
    return reverse("comments:poll_results_json", kwargs={"pk": poll.pk})


def vote(client, poll, position=1):
    choice = poll.choices.get(position=position)
    return client.post(reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": choice.pk})


def table_rows(html, poll):
    """{date: [(percent, votes) for each answer, or None on a day without votes], total}."""
    table = element(html, f"#poll-{poll.pk}-results table")
    rows = {}
    for row in table.select("tbody tr"):
        day = row.select_one("th time")["datetime"]
        cells = row.select("td")
        if cells[0].has_attr("colspan"):
            figures = None
        else:
            figures = [tuple(map(int, CELL.match(text(cell)).groups())) for cell in cells[:-1]]
        rows[day] = (figures, int(text(cells[-1])))
    return rows


@pytest.fixture
def history_poll(make_poll, add_votes):
    """Opened four days ago; votes on three of the five days, none today.

    Cumulative: day -4: 2/0/1, day -3: same, day -2: 2/0/1, day -1: 3/2/1, today: 3/2/1.
    """
    poll = make_poll(results_visibility=Visibility.ALWAYS, opens_at=day_at_noon(4))
    add_votes(poll, 2, 0, 0, created_at=day_at_noon(4))
    add_votes(poll, 0, 0, 1, created_at=day_at_noon(4) + timedelta(hours=11))  # 23:00
    add_votes(poll, 1, 2, 0, created_at=day_at_noon(1) - timedelta(hours=12))  # 00:00
    return poll


def expected_by_day(poll, counts_by_days_ago):
    choices = [str(pk) for pk in poll.choices.order_by("position").values_list("pk", flat=True)]
    return [
        {
            "date": timezone.localdate(day_at_noon(days_ago)).isoformat(),
            "choices": dict(zip(choices, counts, strict=True)),
        }
        for days_ago, counts in counts_by_days_ago
    ]


HISTORY = [(4, (2, 0, 1)), (3, (2, 0, 1)), (2, (2, 0, 1)), (1, (3, 2, 1)), (0, (3, 2, 1))]


# --- The numbers ---------------------------------------------------------------------------


def test_json_gives_cumulative_votes_for_every_day_since_the_poll_opened(client, history_poll):
    data = client.get(json_url(history_poll)).json()

    assert data["by_day"] == expected_by_day(history_poll, HISTORY)
    assert data["by_day_interval_days"] == 1
    last_day = data["by_day"][-1]["choices"]
    assert last_day == {str(row["id"]): row["votes"] for row in data["choices"]}


def test_the_table_beside_the_chart_has_the_same_numbers_newest_first(client, history_poll):
    page = client.get(history_poll.article.get_absolute_url())

    rows = table_rows(page, history_poll)
    days = [timezone.localdate(day_at_noon(days_ago)).isoformat() for days_ago, _ in HISTORY]
    assert list(rows) == days[::-1]
    assert rows[days[0]] == ([(67, 2), (0, 0), (33, 1)], 3)
    assert rows[days[2]] == rows[days[0]], "a day without votes carries the totals before it"
    assert rows[days[3]] == ([(50, 3), (33, 2), (17, 1)], 6)
    assert rows[days[4]] == rows[days[3]]
    bars = {
        int(bar["data-choice-id"]): int(bar["data-votes"])
        for bar in elements(page, f"#poll-{history_poll.pk}-results li[data-choice-id]")
    }
    assert [votes for _, votes in rows[days[4]][0]] == list(bars.values())
    headers = [text(th) for th in elements(page, f"#poll-{history_poll.pk}-results thead th")]
    assert headers == ["Date", "Yes", "A city niche", "No", "Total"]


def test_a_day_before_any_vote_says_so_in_the_table(client, make_poll, add_votes):
    poll = make_poll(results_visibility=Visibility.ALWAYS, opens_at=day_at_noon(2))
    add_votes(poll, 1, 0, 0, created_at=day_at_noon(1))

    rows = table_rows(client.get(poll.article.get_absolute_url()), poll)

    first_day = timezone.localdate(day_at_noon(2)).isoformat()
    assert rows[first_day] == (None, 0)
    assert "No votes yet" in text(element(client.get(results_url(poll)), "tbody tr:last-child"))


def test_a_changed_vote_counts_for_its_new_choice_from_the_day_it_was_cast(
    client, make_poll, add_vote
):
    poll = make_poll(results_visibility=Visibility.ALWAYS, opens_at=day_at_noon(3))
    yes, niche, no = poll.choices.order_by("position")
    changed = add_vote(yes, created_at=day_at_noon(3))
    add_vote(niche, created_at=day_at_noon(1))
    reader = Vote.objects.get(pk=changed.pk)
    reader.choice, reader.changed_at = no, day_at_noon(1)
    reader.save()
    polls_recount(polls=[poll])

    by_day = client.get(json_url(poll)).json()["by_day"]

    assert by_day == expected_by_day(
        poll, [(3, (0, 0, 1)), (2, (0, 0, 1)), (1, (0, 1, 1)), (0, (0, 1, 1))]
    )


def test_a_closed_poll_history_ends_on_its_closing_day(client, make_poll, add_votes):
    poll = make_poll(
        results_visibility=Visibility.ALWAYS,
        opens_at=day_at_noon(10),
        # Closing at midnight: its last day is the one before.
        closes_at=day_at_noon(7) - timedelta(hours=12),
    )
    add_votes(poll, 1, 1, 0, created_at=day_at_noon(9))

    by_day = client.get(json_url(poll)).json()["by_day"]

    assert [row["date"] for row in by_day] == [
        timezone.localdate(day_at_noon(days_ago)).isoformat() for days_ago in (10, 9, 8)
    ]


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_days_begin_and_end_at_midnight_in_the_sites_time_zone(
    client, make_poll, add_vote, settings, zone
):
    poll = make_poll(
        results_visibility=Visibility.ALWAYS,
        opens_at=datetime(2025, 6, 1, 12, tzinfo=UTC),
        closes_at=datetime(2025, 6, 4, 12, tzinfo=UTC),
    )
    yes, niche, _ = poll.choices.order_by("position")
    add_vote(yes, created_at=datetime(2025, 6, 2, 21, 30, tzinfo=UTC))  # 23:30 in Paris
    add_vote(niche, created_at=datetime(2025, 6, 2, 22, 30, tzinfo=UTC))  # 00:30 in Paris
    add_vote(niche, created_at=datetime(2025, 6, 3, 2, 30, tzinfo=UTC))  # 22:30 in New York

    def counts_by_date():
        by_day = client.get(json_url(poll)).json()["by_day"]
        return {row["date"]: tuple(row["choices"].values()) for row in by_day}

    assert counts_by_date() == {
        "2025-06-01": (0, 0, 0),
        "2025-06-02": (1, 1, 0),
        "2025-06-03": (1, 2, 0),
        "2025-06-04": (1, 2, 0),
    }
    settings.TIME_ZONE = zone
    # The site reads its zone once, at start-up: forget the pages cached before the change.
    local_pages.clear()
    cache.clear()
    expected = {
        "Europe/Paris": {
            "2025-06-01": (0, 0, 0),
            "2025-06-02": (1, 0, 0),
            "2025-06-03": (1, 2, 0),
            "2025-06-04": (1, 2, 0),
        },
        "America/New_York": {
            "2025-06-01": (0, 0, 0),
            "2025-06-02": (1, 2, 0),
            "2025-06-03": (1, 2, 0),
            "2025-06-04": (1, 2, 0),
        },
    }
    assert counts_by_date() == expected[zone]


def test_a_poll_open_for_years_is_sampled_weekly_ending_on_today(client, make_poll, add_votes):
    poll = make_poll(results_visibility=Visibility.ALWAYS, opens_at=day_at_noon(400))
    add_votes(poll, 3, 0, 0, created_at=day_at_noon(400))
    add_votes(poll, 0, 2, 0, created_at=day_at_noon(200))
    add_votes(poll, 0, 0, 1, created_at=day_at_noon(0))

    data = client.get(json_url(poll)).json()
    page = client.get(results_url(poll), headers={"HX-Request": "true"})

    by_day = data["by_day"]
    assert data["by_day_interval_days"] == 7
    assert len(by_day) <= MAX_HISTORY_POINTS
    dates = [datetime.fromisoformat(row["date"]).date() for row in by_day]
    assert {(later - earlier).days for earlier, later in itertools.pairwise(dates)} == {7}
    assert dates[-1] == timezone.localdate()
    assert list(by_day[-1]["choices"].values()) == [3, 2, 1]
    assert list(by_day[0]["choices"].values()) == [3, 0, 0]
    assert len(table_rows(page, poll)) == len(by_day)
    table = element(page, f"#poll-{poll.pk}-results table")
    assert "at the end of each week" in text(element(page, f"#{table['aria-labelledby']}"))
    for line in elements(page, f"#poll-{poll.pk}-results svg[role=img] polyline"):
        assert len(line["points"].split()) <= MAX_HISTORY_POINTS


# --- The chart -----------------------------------------------------------------------------


def test_the_chart_is_an_svg_image_named_and_described_next_to_its_table(client, history_poll):
    results = element(
        client.get(history_poll.article.get_absolute_url()), f"#poll-{history_poll.pk}-results"
    )

    chart = element(results, "svg[role=img]")
    name = " ".join(text(element(results, f"#{part}")) for part in chart["aria-labelledby"].split())
    assert name.startswith("How opinion moved")
    summary = text(element(results, f"#{chart['aria-describedby']}"))
    assert "“Yes” went from 67% to 50%" in summary
    assert "“A city niche” went from 0% to 33%" in summary
    assert chart["viewbox"] and chart["width"] == "100%"
    assert len(elements(chart, "polyline")) == 3
    assert element(results, "table")


def test_each_answer_has_its_own_line_style_and_marker_not_just_a_colour(client, history_poll):
    results = element(client.get(results_url(history_poll)), f"#poll-{history_poll.pk}-results")

    lines = elements(results, "svg[role=img] polyline")
    dashes = [line.get("stroke-dasharray", "solid") for line in lines]
    markers = [
        re.sub(r"[\d.,-]+", "#", marker["d"])  # the shape, wherever it is drawn
        for marker in elements(results, ".poll-chart__legend .poll-chart__marker")
    ]
    legend = [text(item) for item in elements(results, ".poll-chart__legend li")]
    assert len(set(dashes)) == len(set(markers)) == 3
    assert legend == ["Yes", "A city niche", "No"]
    for line in lines:  # the colour comes from the stylesheet; without it, the text colour
        assert line.parent["stroke"] == "currentColor"


def test_no_chart_before_the_first_vote(client, make_poll):
    poll = make_poll(results_visibility=Visibility.ALWAYS)

    results = element(client.get(poll.article.get_absolute_url()), f"#poll-{poll.pk}-results")
    data = client.get(json_url(poll)).json()

    assert not elements(results, "svg[role=img]")
    assert not elements(results, "table")
    assert {tuple(row["choices"].values()) for row in data["by_day"]} == {(0, 0, 0)}


# --- Who sees it ---------------------------------------------------------------------------


def test_the_chart_and_its_numbers_appear_only_once_the_results_may_be_seen(
    client, make_poll, add_votes
):
    poll = make_poll(results_visibility=Visibility.AFTER_VOTE, opens_at=day_at_noon(2))
    add_votes(poll, 2, 1, 0, created_at=day_at_noon(1))
    chart = f"#poll-{poll.pk}-results svg[role=img]"

    before = client.get(poll.article.get_absolute_url())
    hidden = client.get(json_url(poll))
    vote(client, poll, position=3)
    after = client.get(poll.article.get_absolute_url())
    shown = client.get(json_url(poll))

    assert not elements(before, chart)
    assert not elements(before, "table")
    assert hidden.status_code == 403
    assert "by_day" not in hidden.json()
    assert elements(after, chart)
    assert table_rows(after, poll)
    assert shown.json()["by_day"][-1]["choices"][str(poll.choices.get(position=3).pk)] == 1


def test_editors_only_results_keep_the_chart_from_readers(client, make_poll, add_votes, staff_user):
    poll = make_poll(results_visibility=Visibility.EDITORS)
    add_votes(poll, 1, 1, 0)
    chart = f"#poll-{poll.pk}-results svg[role=img]"

    assert not elements(client.get(poll.get_absolute_url()), chart)
    assert "by_day" not in client.get(json_url(poll)).json()
    client.force_login(staff_user)
    assert elements(client.get(poll.get_absolute_url()), chart)


# --- Caching and queries -------------------------------------------------------------------


def test_a_new_vote_shows_in_the_next_results_request(make_client, history_poll):
    watcher, voter = make_client(), make_client()
    today = timezone.localdate().isoformat()

    before = table_rows(watcher.htmx.get(results_url(history_poll)), history_poll)
    json_before = watcher.get(json_url(history_poll)).json()["by_day"][-1]
    vote(voter, history_poll, position=3)
    after = table_rows(watcher.htmx.get(results_url(history_poll)), history_poll)
    json_after = watcher.get(json_url(history_poll)).json()["by_day"][-1]

    assert before[today] == ([(50, 3), (33, 2), (17, 1)], 6)
    assert after[today] == ([(43, 3), (29, 2), (28, 2)], 7)
    no = str(history_poll.choices.get(position=3).pk)
    assert (json_before["choices"][no], json_after["choices"][no]) == (1, 2)


def by_day_queries(queries):
    return [sql for sql in queries if "django_datetime_cast_date" in sql or "AT TIME ZONE" in sql]


def test_the_earlier_days_are_counted_once_and_today_is_the_counters(
    history_poll, django_assert_num_queries
):
    choices = list(history_poll.choices.order_by("position"))
    choice_ids = [choice.pk for choice in choices]
    totals = [choice.vote_count for choice in choices]

    with django_assert_num_queries(1):  # the earlier days, by day
        first = poll_history(history_poll, choice_ids=choice_ids, totals=totals)
    with django_assert_num_queries(0):
        again = poll_history(history_poll, choice_ids=choice_ids, totals=[4, 2, 1])

    assert again.points[:-1] == first.points[:-1]
    assert [point.votes for point in (first.points[-1], again.points[-1])] == [(3, 2, 1), (4, 2, 1)]


def test_an_earlier_vote_deleted_redraws_the_earlier_days(client, history_poll):
    client.get(json_url(history_poll))
    Vote.objects.filter(poll=history_poll).order_by("created_at").first().delete()
    bump(POLLS)  # as the admin's deletion does, for the cached results

    by_day = client.get(json_url(history_poll)).json()["by_day"]

    assert by_day[:-1] == expected_by_day(
        history_poll, [(4, (1, 0, 1)), (3, (1, 0, 1)), (2, (1, 0, 1)), (1, (2, 2, 1))]
    )


def test_a_vote_today_does_not_count_the_earlier_days_again(make_client, history_poll):
    watcher = make_client()
    watcher.get(json_url(history_poll))
    vote(make_client(), history_poll, position=2)

    with CaptureQueriesContext(connection) as captured:
        by_day = watcher.get(json_url(history_poll)).json()["by_day"]

    queries = [query["sql"] for query in captured.captured_queries]
    assert not by_day_queries(queries)
    assert by_day == expected_by_day(
        history_poll,
        [(4, (2, 0, 1)), (3, (2, 0, 1)), (2, (2, 0, 1)), (1, (3, 2, 1)), (0, (3, 3, 1))],
    )


def test_a_changed_earlier_vote_redraws_the_earlier_days(client, history_poll):
    client.get(json_url(history_poll))
    first_yes = Vote.objects.filter(poll=history_poll).order_by("created_at").first()
    first_yes.choice = history_poll.choices.get(position=2)
    first_yes.save()
    polls_recount(polls=[history_poll])  # moves the polls version on, as a vote does

    by_day = client.get(json_url(history_poll)).json()["by_day"]

    assert by_day == expected_by_day(
        history_poll,
        [(4, (1, 1, 1)), (3, (1, 1, 1)), (2, (1, 1, 1)), (1, (2, 3, 1)), (0, (2, 3, 1))],
    )


def queries_for(client, url, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize(
    "url_for, headers",
    [(results_url, {"HX-Request": "true"}), (json_url, {})],
    ids=["html", "json"],
)
def test_results_queries_do_not_grow_with_votes_or_days(
    make_client, make_poll, add_votes, url_for, headers
):
    poll = make_poll(results_visibility=Visibility.ALWAYS, opens_at=day_at_noon(90))
    add_votes(poll, 1, 1, 1, created_at=day_at_noon(90))
    few = queries_for(make_client(), url_for(poll), **headers)
    for days_ago in range(0, 90, 3):
        add_votes(poll, 4, 2, 3, created_at=day_at_noon(days_ago))
    many = queries_for(make_client(), url_for(poll), **headers)

    assert len(many) == len(few) <= 6
    assert len(by_day_queries(many)) == 1
