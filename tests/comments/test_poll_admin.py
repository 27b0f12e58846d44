import csv
import functools
import io
from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from tests.conftest import elements, text

CHANGELIST = "admin:comments_poll_changelist"


@pytest.fixture
def make_poll(make_poll):
    """Polls whose second choice looks like a spreadsheet formula, for the CSV exports."""
    return functools.partial(make_poll, labels=("Yes", "=A city niche", "No"))


@pytest.fixture
def editor_client(client, staff_user):
    client.force_login(staff_user)
    return client


def run_action(client, action, polls):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [poll.pk for poll in polls]},
        follow=action == "close_now",
    )


def cells(html, selector):
    """The text of each element the selector finds: the cells of a table."""
    return [text(cell) for cell in elements(html, selector)]


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_changelist_shows_vote_totals_without_a_query_per_poll(
    editor_client, make_article, make_poll, django_assert_max_num_queries, add_votes
):
    article = make_article()
    for number in range(6):
        add_votes(make_poll(article=article, question=f"Question {number}?"), 2, 1, number)

    with django_assert_max_num_queries(12):
        response = editor_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert "Question 5?" in response.text
    assert "8" in cells(response, "td.field-total_votes")
    assert "Open" in cells(response, "td.field-status")


def test_the_change_page_shows_counts_and_percentages_read_only(
    editor_client, make_poll, add_votes
):
    poll = make_poll()
    add_votes(poll, 1, 1, 1)

    response = editor_client.get(reverse("admin:comments_poll_change", args=[poll.pk]))

    assert response.status_code == 200
    html = response.text
    results = [cells(row, "th, td") for row in elements(html, "tr:has(> th[scope='row'])")]
    assert ["Yes", "1", "34%"] in results
    assert ["No", "1", "33%"] in results
    assert elements(html, '[name="choices-0-label"]')
    assert not elements(html, '[name="choices-0-vote_count"]')
    # The saved choices' rows, not the template row for adding another choice.
    shares = cells(html, "tr:not(.empty-form) > td.field-share")
    votes = cells(html, "tr:not(.empty-form) > td.field-votes")
    assert (votes, shares) == (["1", "1", "1"], ["34%", "33%", "33%"])


def test_close_now_closes_open_polls_and_leaves_others(editor_client, make_poll):
    open_poll = make_poll(question="Open?")
    scheduled = make_poll(question="Later?", opens_at=timezone.now() + timedelta(days=1))

    response = run_action(editor_client, "close_now", [open_poll, scheduled])

    assert "Closed 1 poll." in response.text
    assert "already closed or not yet open" in response.text
    open_poll.refresh_from_db()
    scheduled.refresh_from_db()
    assert open_poll.closes_at <= timezone.now()
    assert scheduled.closes_at is None
    page = editor_client.get(open_poll.get_absolute_url()).text
    assert "This poll closed on" in page


def test_results_export_lists_every_choice_with_votes_and_percent(
    editor_client, make_poll, add_votes
):
    poll = make_poll()
    add_votes(poll, 2, 1, 0)

    rows = read_csv(run_action(editor_client, "export_results_csv", [poll]))

    assert rows[0] == ["poll_id", "question", "status", "choice_id", "choice", "votes", "percent"]
    choices = list(poll.choices.order_by("position"))
    assert rows[1:] == [
        [str(poll.pk), poll.question, "open", str(choices[0].pk), "Yes", "2", "67"],
        [str(poll.pk), poll.question, "open", str(choices[1].pk), "'=A city niche", "1", "33"],
        [str(poll.pk), poll.question, "open", str(choices[2].pk), "No", "0", "0"],
    ]


def test_votes_per_day_export_groups_votes_by_day_and_choice(editor_client, make_poll, add_votes):
    poll = make_poll()
    today = timezone.now().replace(hour=12, minute=0)
    yesterday = today - timedelta(days=1)
    add_votes(poll, 2, 0, 1, created_at=yesterday)
    add_votes(poll, 1, 3, 0, created_at=today)

    rows = read_csv(run_action(editor_client, "export_votes_per_day_csv", [poll]))

    assert rows[0] == ["poll_id", "question", "date", "choice_id", "choice", "votes"]
    summary = [(row[2], row[4], row[5]) for row in rows[1:]]
    assert summary == [
        (yesterday.date().isoformat(), "Yes", "2"),
        (yesterday.date().isoformat(), "No", "1"),
        (today.date().isoformat(), "Yes", "1"),
        (today.date().isoformat(), "'=A city niche", "3"),
    ]


def test_readers_cannot_reach_the_poll_admin(client, reader, make_poll):
    make_poll()
    client.force_login(reader)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_an_editor_closes_a_poll_from_its_own_page(editor_client, make_poll):
    poll = make_poll()
    url = reverse("admin:comments_poll_change", args=[poll.pk])
    assert elements(editor_client.get(url), '[name="_close_now"]')
    opens = timezone.localtime(poll.opens_at)
    form = {
        "article": poll.article_id,
        "question": "Will small EVs sell in the US?",
        "description": "",
        "position": "0",
        "opens_at_0": opens.strftime("%Y-%m-%d"),
        "opens_at_1": opens.strftime("%H:%M:%S"),
        "closes_at_0": "",
        "closes_at_1": "",
        "allow_vote_change": "on",
        "results_visibility": poll.results_visibility,
        "choices-TOTAL_FORMS": "3",
        "choices-INITIAL_FORMS": "3",
        "_close_now": "Save and close voting now",
    }
    for index, choice in enumerate(poll.choices.order_by("position", "pk")):
        form.update(
            {
                f"choices-{index}-id": choice.pk,
                f"choices-{index}-poll": poll.pk,
                f"choices-{index}-label": choice.label,
                f"choices-{index}-position": choice.position,
            }
        )

    response = editor_client.post(url, form, follow=True)

    assert "Closed 1 poll." in response.text
    poll.refresh_from_db()
    assert poll.question == "Will small EVs sell in the US?", "the edit is saved too"
    assert poll.closes_at is not None and poll.closes_at <= timezone.now()
