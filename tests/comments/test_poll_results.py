import random
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from comments.models import Poll, PollChoice
from comments.polls.selectors import (
    article_poll_panels,
    counted_poll,
    largest_remainder_percentages,
)
from comments.readers import READER_TOKEN_SESSION_KEY, Reader
from tests.conftest import element, elements, first_element, text

Visibility = Poll.ResultsVisibility


def close(poll):
    poll.closes_at = timezone.now() - timedelta(minutes=1)
    poll.save()


# --- Largest-remainder rounding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([1, 1, 1], [34, 33, 33]),
        ([3, 2, 3], [38, 25, 37]),
        ([2, 1], [67, 33]),
        ([1, 0, 0, 0], [100, 0, 0, 0]),
        ([0, 0, 0], [0, 0, 0]),
        ([], []),
        ([1, 1, 1, 1, 1, 1, 1], [15, 15, 14, 14, 14, 14, 14]),
        ([995, 3, 2], [100, 0, 0]),
        ([2, 2, 1, 1], [33, 33, 17, 17]),
        ([994, 4, 2], [100, 0, 0]),
    ],
)
def test_percentages_use_largest_remainders(counts, expected):
    assert largest_remainder_percentages(counts) == expected


def test_percentages_always_add_up_to_exactly_100():
    generator = random.Random(20261126)
    for _ in range(500):
        counts = [generator.randint(0, 1000) for _ in range(generator.randint(1, 9))]
        percentages = largest_remainder_percentages(counts)
        assert sum(percentages) == (100 if sum(counts) else 0)
        assert all(
            abs(percent - count * 100 / sum(counts)) < 1
            for percent, count in zip(percentages, counts, strict=True)
            if sum(counts)
        )


# --- Reading a poll ------------------------------------------------------------------------


def test_a_poll_is_read_with_its_article_and_its_answers_counts_in_one_query(
    make_poll, django_assert_num_queries
):
    poll = make_poll(labels=("Later", "First"))
    later, first = poll.choices.order_by("position")
    PollChoice.objects.filter(pk=first.pk).update(position=0, vote_count=7)

    with django_assert_num_queries(1):
        found = counted_poll(poll.pk)
        assert found.article.headline == poll.article.headline

    assert [(choice.label, choice.vote_count) for choice in found.counted_choices] == [
        ("First", 7),
        ("Later", 0),
    ]
    assert all(choice.poll is found for choice in found.counted_choices)


def test_a_poll_without_answers_is_read_with_none_and_a_missing_one_is_none(make_poll):
    assert counted_poll(make_poll(labels=()).pk).counted_choices == []
    assert counted_poll(2_000_000_000) is None


# --- Visibility ----------------------------------------------------------------------------


def results_shown(client, poll):
    page = client.get(poll.article.get_absolute_url()).text
    return bool(elements(page, f"#poll-{poll.pk}-results") and elements(page, "[data-votes]"))


def vote(client, poll, position=1):
    choice = poll.choices.get(position=position)
    return client.post(reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": choice.pk})


def test_results_after_voting_are_hidden_until_the_reader_votes(client, make_poll, add_votes):
    poll = make_poll()
    add_votes(poll, 2, 1, 0)

    page = client.get(poll.article.get_absolute_url()).text
    assert "Results appear once you have voted." in page
    assert not elements(page, "[data-votes]")
    assert not elements(page, '[hx-trigger="every 15s"]'), "nothing to refresh before voting"
    assert "Refresh results" not in page

    vote(client, poll)
    assert results_shown(client, poll)
    assert elements(client.get(poll.article.get_absolute_url()), '[hx-trigger="every 15s"]')


def test_results_always_visible_are_shown_before_voting(client, make_poll, add_votes):
    poll = make_poll(results_visibility=Visibility.ALWAYS)
    add_votes(poll, 2, 1, 0)

    assert results_shown(client, poll)


def test_results_after_closing_stay_hidden_after_voting_until_the_poll_closes(client, make_poll):
    poll = make_poll(results_visibility=Visibility.AFTER_CLOSE)
    vote(client, poll)

    page = client.get(poll.article.get_absolute_url()).text
    assert "Results appear when the poll closes." in page
    assert not elements(page, "[data-votes]")

    close(poll)
    assert results_shown(client, poll)


def test_editors_only_results_are_never_shown_to_readers_but_are_to_staff(
    client, make_poll, staff_user
):
    poll = make_poll(results_visibility=Visibility.EDITORS)
    vote(client, poll)
    close(poll)

    page = client.get(poll.article.get_absolute_url()).text
    assert "shown to editors only" in page
    assert not elements(page, "[data-votes]")
    json_response = client.get(reverse("comments:poll_results_json", kwargs={"pk": poll.pk}))
    assert json_response.status_code == 403
    assert "votes" not in json_response.json()["choices"][0]

    client.force_login(staff_user)
    assert results_shown(client, poll)


# --- Results block, refresh and closing ----------------------------------------------------


def test_results_show_counts_percentages_total_and_the_integrity_line(client, make_poll, add_votes):
    poll = make_poll(results_visibility=Visibility.ALWAYS)
    add_votes(poll, 1, 1, 1)
    Poll.objects.filter(pk=poll.pk).update(refused_duplicates=4, refused_over_cap=2)

    page = client.get(poll.article.get_absolute_url()).text

    figures = [text(count.parent) for count in elements(page, ".poll__result-count")]
    assert "34% (1 vote)" in figures
    assert [share.split()[0] for share in figures].count("33%") == 2
    assert "3 votes in total." in page
    assert "One vote per account or browser. 4 duplicate and 2 over-limit attempts refused." in page
    assert "Results so far" in page


def test_open_poll_results_refresh_every_15_seconds(htmx, make_poll, add_votes):
    poll = make_poll(results_visibility=Visibility.ALWAYS)
    add_votes(poll, 0, 2, 0)

    response = htmx.get(reverse("comments:poll_results", kwargs={"pk": poll.pk}))

    assert response.status_code == 200
    html = response.text
    results = first_element(html)
    assert (results.name, results["id"]) == ("div", f"poll-{poll.pk}-results")
    assert "<html" not in html
    assert elements(html, '[hx-trigger="every 15s"]')
    second = poll.choices.get(position=2)
    assert element(html, f'[data-choice-id="{second.pk}"]')["data-votes"] == "2"
    assert "HX-Retarget" not in response.headers


def test_a_poll_that_closed_while_open_on_the_page_swaps_to_its_final_state(htmx, make_poll):
    poll = make_poll(results_visibility=Visibility.ALWAYS)
    close(poll)

    response = htmx.get(reverse("comments:poll_results", kwargs={"pk": poll.pk}))

    assert response.headers["HX-Retarget"] == f"#poll-{poll.pk}"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert elements(response, f"form#poll-{poll.pk}")
    assert "every 15s" not in response.text
    assert "Final results" in response.text


def test_a_closed_poll_says_so_shows_final_results_and_stops_refreshing(
    client, make_poll, add_votes
):
    poll = make_poll()
    add_votes(poll, 1, 0, 3)
    close(poll)

    page = client.get(poll.article.get_absolute_url()).text

    assert "This poll closed on" in page
    assert "These are the final results." in page
    assert "Final results" in page
    assert "every 15s" not in page
    assert not elements(page, ".poll__submit")
    third = poll.choices.get(position=3)
    assert element(page, f'[data-choice-id="{third.pk}"]')["data-votes"] == "3"


def test_the_poll_page_works_on_its_own_and_as_a_fragment(client, htmx, make_poll):
    poll = make_poll()
    url = poll.get_absolute_url()

    page = client.get(url)
    fragment = htmx.get(url)

    assert "<html" in page.text
    assert elements(page, f"#poll-{poll.pk}")
    assert poll.article.headline in page.text
    assert "<html" not in fragment.text
    shown = first_element(fragment)
    assert (shown.name, shown["id"]) == ("form", f"poll-{poll.pk}")
    assert "HX-Request" in page.headers["Vary"]


def test_polls_not_yet_open_are_left_off_the_article_page(client, make_poll):
    poll = make_poll(opens_at=timezone.now() + timedelta(days=2), question="Coming soon?")

    page = client.get(poll.article.get_absolute_url()).text

    assert "Coming soon?" not in page


# --- JSON ----------------------------------------------------------------------------------


def test_results_json_gives_the_same_numbers_as_the_page(client, make_poll, add_votes):
    poll = make_poll(results_visibility=Visibility.ALWAYS)
    add_votes(poll, 2, 1, 0)
    vote(client, poll, position=2)

    data = client.get(f"/polls/{poll.pk}/results.json").json()

    choices = list(poll.choices.order_by("position"))
    assert data["id"] == poll.pk
    assert data["status"] == "open"
    assert data["total_votes"] == 4
    assert data["your_choice_id"] == choices[1].pk
    assert [(row["id"], row["votes"], row["percent"]) for row in data["choices"]] == [
        (choices[0].pk, 2, 50),
        (choices[1].pk, 2, 50),
        (choices[2].pk, 0, 0),
    ]
    assert data["refused_duplicates"] == 0


def test_results_json_follows_the_visibility_setting(client, make_poll, add_votes):
    poll = make_poll()
    add_votes(poll, 1, 0, 0)
    url = reverse("comments:poll_results_json", kwargs={"pk": poll.pk})

    hidden = client.get(url)
    vote(client, poll)
    shown = client.get(url)

    assert hidden.status_code == 403
    assert hidden.json()["results_visible"] is False
    assert "total_votes" not in hidden.json()
    assert shown.status_code == 200
    assert shown.json()["total_votes"] == 2


# --- Query budget --------------------------------------------------------------------------


def section_request(user=None, token=""):
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    if token:
        request.session[READER_TOKEN_SESSION_KEY] = token
    return request


@pytest.mark.parametrize("number_of_polls", [1, 4])
def test_the_poll_section_needs_three_queries_however_many_polls_and_votes(
    make_article, make_poll, number_of_polls, django_assert_num_queries, add_votes, add_vote
):
    article = make_article()
    polls = [make_poll(article=article, question=f"Q{n}?") for n in range(number_of_polls)]
    for poll in polls:
        add_votes(poll, 5, 3, 8)
    add_vote(polls[0].choices.first(), reader_token="me")
    request = section_request(token="me")

    with django_assert_num_queries(3):
        panels = article_poll_panels(Reader.from_request(request), article)

    assert [panel.poll for panel in panels] == polls
    assert panels[0].reader_choice_id == polls[0].choices.first().pk
    assert panels[0].total_votes == 17
    assert [row.votes for row in panels[-1].choices][1:] == [3, 8]


def test_the_article_page_poll_block_renders_within_a_fixed_budget(
    client, seeded_article, django_assert_max_num_queries, add_votes
):
    poll = seeded_article.polls.get()
    add_votes(poll, 40, 30, 20, 10)
    vote(client, poll)
    url = seeded_article.get_absolute_url()

    # The poll, its choices, the reader's vote; then its history by day, not cached yet.
    with django_assert_max_num_queries(4 + 3):
        response = client.get(poll.get_absolute_url())

    assert response.status_code == 200
    assert client.get(url).status_code == 200
