from datetime import timedelta

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix
from django.utils import timezone

from articles.models import Article
from comments.models import Vote
from comments.polls import services as poll_services
from comments.polls.selectors import build_panel, with_counted_choices
from comments.polls.services import VoteOutcome, poll_vote
from comments.readers import Reader
from tests.conftest import element, elements, text


def vote_url(poll):
    return reverse("comments:poll_vote", kwargs={"pk": poll.pk})


def choice(poll, position):
    return poll.choices.get(position=position)


def votes_for(poll):
    return {row.label: row.votes.count() for row in poll.choices.order_by("position")}


# --- Voting with and without JavaScript ----------------------------------------------------


def votes_shown(html, choice):
    """The vote count the results show for `choice`."""
    return element(html, f'[data-choice-id="{choice.pk}"]')["data-votes"]


def test_htmx_vote_swaps_the_poll_block_to_results_with_the_readers_choice(htmx, poll):
    niche = choice(poll, 2)

    response = htmx.post(vote_url(poll), {"choice": niche.pk})

    assert response.status_code == 200
    html = response.text
    assert elements(html, f"#poll-{poll.pk}")
    assert elements(html, f"#poll-{poll.pk}-results")
    assert "<html" not in html
    assert votes_shown(html, niche) == "1"
    assert "✓ Your vote" in html
    assert "Your vote for “A city niche” is counted." in html
    assert Vote.objects.get(poll=poll).choice == niche


def test_vote_without_javascript_redirects_back_to_the_poll_on_the_article(client, poll):
    niche = choice(poll, 2)

    response = client.post(vote_url(poll), {"choice": niche.pk})

    assert response.status_code == 302
    assert response["Location"] == f"{poll.article.get_absolute_url()}#poll-{poll.pk}"
    page = client.get(response["Location"])
    assert "Your vote for “A city niche” is counted." in page.text
    assert votes_shown(page.text, niche) == "1"


def test_the_readers_choice_stays_marked_after_a_reload(client, poll):
    niche = choice(poll, 2)
    client.post(vote_url(poll), {"choice": niche.pk})

    page = client.get(poll.article.get_absolute_url()).text

    radio = element(page, f"#poll-{poll.pk}-choice-{niche.pk}")
    assert (radio["value"], radio.has_attr("checked")) == (str(niche.pk), True)
    yours = element(page, f'[data-choice-id="{niche.pk}"]')
    assert "A city niche ✓ Your vote" in text(yours)
    assert text(element(yours, "strong.poll__yours")) == "✓ Your vote"
    assert "Change my vote" in page


@pytest.mark.django_db(transaction=True)
def test_a_new_guests_session_is_written_with_their_vote_in_one_transaction(make_poll):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    poll = make_poll()
    guest = Client()
    niche = choice(poll, 2)

    with CaptureQueriesContext(connection) as captured:
        guest.post(vote_url(poll), {"choice": niche.pk}, headers={"HX-Request": "true"})

    statements = [query["sql"] for query in captured.captured_queries]
    writes = [sql for sql in statements if sql.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    sessions = [sql for sql in writes if "django_session" in sql]
    assert len(sessions) == 1 and sessions[0].startswith("INSERT")
    if connection.vendor == "sqlite":  # PostgreSQL's BEGIN is not among the statements
        assert [sql for sql in statements if sql.startswith("BEGIN")] == ["BEGIN IMMEDIATE"]
    page = guest.get(poll.article.get_absolute_url()).text
    assert element(page, f"#poll-{poll.pk}-choice-{niche.pk}").has_attr("checked")


def test_the_article_page_shows_the_poll_form_with_radio_choices(client, poll):
    page = client.get(poll.article.get_absolute_url()).text

    assert elements(page, f"form#poll-{poll.pk}")
    assert len(elements(page, 'input[type="radio"][name="choice"]')) == 3
    assert elements(page, f'[action="{vote_url(poll)}"]')
    assert elements(page, f'[hx-post="{vote_url(poll)}"]')
    assert elements(page, "legend")


def test_the_polls_addresses_follow_the_path_prefix_the_site_is_served_under(poll):
    panel = build_panel(with_counted_choices(poll), reader_choice_id=None, is_editor=False)
    assert panel.addresses.vote == vote_url(poll)  # worked out, and kept, without a prefix

    set_script_prefix("/news/")
    try:
        addresses = panel.addresses
    finally:
        clear_script_prefix()

    assert addresses.vote == f"/news{vote_url(poll)}"
    assert addresses.results == f"/news/polls/{poll.pk}/results/"
    assert addresses.page == f"/news/polls/{poll.pk}/"


def test_a_renamed_answer_shows_its_new_name_in_the_results(htmx, poll):
    niche = choice(poll, 2)
    htmx.post(vote_url(poll), {"choice": niche.pk})
    niche.refresh_from_db()
    niche.label = "Only in cities"
    niche.save()

    response = htmx.post(vote_url(poll), {"choice": niche.pk})

    bar = element(response.text, f'[data-choice-id="{niche.pk}"]')
    assert text(bar).startswith("Only in cities ✓ Your vote")
    assert bar["data-votes"] == "1"


# --- One vote per reader -------------------------------------------------------------------


def test_a_guest_session_counts_once_and_a_second_browser_counts_again(poll, htmx, make_client):
    other_browser = make_client()
    htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})
    again = htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})
    other_browser.htmx.post(vote_url(poll), {"choice": choice(poll, 3).pk})

    assert again.status_code == 200
    assert "stands" in again.text
    assert votes_for(poll) == {"Yes": 1, "A city niche": 0, "No": 1}
    poll.refresh_from_db()
    assert poll.refused_duplicates == 0


def test_a_signed_in_reader_counts_once_from_any_browser(client, poll, reader, htmx, make_client):
    second_browser = make_client()
    client.force_login(reader)
    second_browser.force_login(reader)

    htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})
    second_browser.htmx.post(vote_url(poll), {"choice": choice(poll, 3).pk})

    vote = Vote.objects.get(poll=poll)
    assert vote.user == reader
    assert vote.reader_token == ""
    assert vote.choice == choice(poll, 3)
    assert votes_for(poll) == {"Yes": 0, "A city niche": 0, "No": 1}


def test_changing_a_vote_moves_it_and_never_counts_it_twice(poll, htmx):
    htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    response = htmx.post(vote_url(poll), {"choice": choice(poll, 2).pk})

    assert response.status_code == 200
    assert "Your vote is now “A city niche”." in response.text
    assert votes_shown(response.text, choice(poll, 1)) == "0"
    assert votes_shown(response.text, choice(poll, 2)) == "1"
    assert votes_for(poll) == {"Yes": 0, "A city niche": 1, "No": 0}
    assert Vote.objects.get(poll=poll).changed_at is not None


def test_when_votes_cannot_change_a_second_vote_is_refused_and_counted(make_poll, htmx):
    poll = make_poll(allow_vote_change=False)
    htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    response = htmx.post(vote_url(poll), {"choice": choice(poll, 2).pk})

    assert response.status_code == 409
    assert elements(response, f"#poll-{poll.pk}")
    assert "votes here cannot be changed" in response.text
    assert "1 duplicate and 0 over-limit attempts refused." in response.text
    assert votes_for(poll) == {"Yes": 1, "A city niche": 0, "No": 0}
    poll.refresh_from_db()
    assert poll.refused_duplicates == 1


def test_when_votes_cannot_change_the_form_is_locked_after_voting(client, make_poll):
    poll = make_poll(allow_vote_change=False)
    client.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    page = client.get(poll.article.get_absolute_url()).text

    assert "Votes in this poll cannot be changed." in page
    assert element(page, ".poll__fieldset").has_attr("disabled")
    assert not elements(page, ".poll__submit")


def test_the_database_refuses_a_second_vote_row_for_the_same_reader(poll, reader):
    from django.db import IntegrityError, transaction

    Vote.objects.create(poll=poll, choice=choice(poll, 1), user=reader)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(poll=poll, choice=choice(poll, 2), user=reader)
    Vote.objects.create(poll=poll, choice=choice(poll, 1), reader_token="guest-a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(poll=poll, choice=choice(poll, 2), reader_token="guest-a")


def test_a_parallel_request_of_the_same_reader_that_wins_the_insert_is_not_a_500(
    poll, monkeypatch, add_vote
):
    """The other request commits its vote between our lookup and our insert."""

    def other_request_votes_first(*args, **kwargs):
        add_vote(choice(poll, 1), reader_token="racer")
        return False

    monkeypatch.setattr(poll_services, "_over_ip_cap", other_request_votes_first)

    result = poll_vote(poll=poll, choice=choice(poll, 2), reader=Reader(token="racer", ip_hash="h"))

    assert result.outcome == VoteOutcome.CHANGED
    assert Vote.objects.filter(poll=poll).count() == 1
    assert Vote.objects.get(poll=poll).choice == choice(poll, 2)


# --- The per-IP soft cap -------------------------------------------------------------------


def test_the_ip_cap_refuses_new_votes_over_the_limit_and_counts_them(
    poll, settings, htmx, make_client
):
    settings.EVR_POLL_VOTES_PER_IP = 2
    browsers = [make_client(address="203.0.113.9") for _ in range(3)]

    statuses = [
        browser.htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk}) for browser in browsers
    ]

    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert "Too many votes have come from your network" in statuses[2].text
    assert elements(statuses[2], f"#poll-{poll.pk}")
    assert Vote.objects.filter(poll=poll).count() == 2
    poll.refresh_from_db()
    assert poll.refused_over_cap == 1
    elsewhere = make_client(address="198.51.100.7")
    assert elsewhere.post(vote_url(poll), {"choice": choice(poll, 1).pk}).status_code == 302


def test_the_ip_cap_lets_a_reader_change_their_vote_and_forgets_old_votes(
    poll, settings, htmx, make_client
):
    settings.EVR_POLL_VOTES_PER_IP = 1
    htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    assert htmx.post(vote_url(poll), {"choice": choice(poll, 2).pk}).status_code == 200
    Vote.objects.update(created_at=timezone.now() - timedelta(hours=1, minutes=1))
    newcomer = make_client()
    assert newcomer.post(vote_url(poll), {"choice": choice(poll, 3).pk}).status_code == 302
    assert Vote.objects.filter(poll=poll).count() == 2


def test_an_ip_cap_of_zero_turns_the_cap_off(poll, settings, make_client):
    settings.EVR_POLL_VOTES_PER_IP = 0
    for _ in range(25):
        make_client().post(vote_url(poll), {"choice": choice(poll, 1).pk})

    assert Vote.objects.filter(poll=poll).count() == 25


# --- Bad input -----------------------------------------------------------------------------


def test_voting_without_a_choice_is_a_400_answered_in_the_poll_block(poll, htmx):
    response = htmx.post(vote_url(poll), {})

    assert response.status_code == 400
    assert elements(response, f"#poll-{poll.pk}")
    assert "<html" not in response.text
    assert "Please choose one of the answers before voting." in response.text
    assert not Vote.objects.exists()


def test_a_choice_from_another_poll_is_a_400(poll, make_poll, htmx):
    other_poll = make_poll(article=poll.article, question="Another question?")

    for value in (choice(other_poll, 1).pk, "not-a-number", "999999"):
        response = htmx.post(vote_url(poll), {"choice": value})
        assert response.status_code == 400
        assert "That answer is not part of this poll." in response.text
    assert not Vote.objects.exists()


def test_bad_input_without_javascript_gets_the_poll_page_with_the_message(client, poll):
    response = client.post(vote_url(poll), {})

    assert response.status_code == 400
    assert "<html" in response.text
    assert elements(response, f"#poll-{poll.pk}")
    assert "Please choose one of the answers before voting." in response.text


def test_a_closed_poll_refuses_votes_with_a_message_and_its_final_results(
    make_poll, htmx, add_vote
):
    poll = make_poll(
        opens_at=timezone.now() - timedelta(days=3), closes_at=timezone.now() - timedelta(days=1)
    )
    add_vote(choice(poll, 3), reader_token="earlier")

    response = htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    assert response.status_code == 409
    assert "voting has ended" in response.text
    assert "Final results" in response.text
    assert votes_shown(response.text, choice(poll, 3)) == "1"
    assert Vote.objects.count() == 1


def test_a_poll_not_yet_open_refuses_votes(make_poll, htmx):
    poll = make_poll(opens_at=timezone.now() + timedelta(days=1))

    response = htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    assert response.status_code == 409
    assert "This poll opens for voting on" in response.text
    assert not Vote.objects.exists()


def test_get_on_the_vote_url_is_a_405_that_explains(client, poll):
    response = client.get(vote_url(poll))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "Votes are sent with the poll" in response.text


@pytest.mark.parametrize("name", ["poll", "poll_vote", "poll_results", "poll_results_json"])
def test_a_missing_poll_is_a_404(client, db, name):
    url = reverse(f"comments:{name}", kwargs={"pk": 424242})
    response = client.post(url) if name == "poll_vote" else client.get(url)
    assert response.status_code == 404


def test_a_poll_on_an_unpublished_article_is_not_found(client, make_article, make_poll):
    draft = make_article(status=Article.Status.DRAFT)
    poll = make_poll(article=draft)

    assert client.post(vote_url(poll), {"choice": choice(poll, 1).pk}).status_code == 404
    assert not Vote.objects.exists()


def test_voting_needs_a_csrf_token(poll, htmx, make_client):
    strict = make_client(enforce_csrf_checks=True)
    response = strict.htmx.post(vote_url(poll), {"choice": choice(poll, 1).pk})

    assert response.status_code == 403
    assert not Vote.objects.exists()


# --- The poll as a vote reads it -----------------------------------------------------------


def test_a_poll_closed_between_two_votes_refuses_the_second(htmx, make_client, poll):
    niche = choice(poll, 2)
    assert htmx.post(vote_url(poll), {"choice": niche.pk}).status_code == 200

    type(poll).objects.filter(pk=poll.pk).update(closes_at=timezone.now())
    other = make_client().htmx
    response = other.post(vote_url(poll), {"choice": niche.pk})

    assert response.status_code == 409
    assert "voting has ended" in response.text
    assert votes_for(poll)["A city niche"] == 1


def test_an_article_unpublished_between_two_votes_hides_its_poll(htmx, make_client, poll):
    niche = choice(poll, 2)
    assert htmx.post(vote_url(poll), {"choice": niche.pk}).status_code == 200

    Article.objects.filter(pk=poll.article_id).update(status=Article.Status.DRAFT)
    response = make_client().htmx.post(vote_url(poll), {"choice": niche.pk})

    assert response.status_code == 404
    assert votes_for(poll)["A city niche"] == 1


@pytest.mark.parametrize("pk", [2**63, 10**30])
def test_a_poll_number_too_big_for_any_row_is_not_found(client, pk):
    for path in (f"/polls/{pk}/", f"/polls/{pk}/results/", f"/polls/{pk}/results.json"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/polls/{pk}/vote/", {"choice": 1}).status_code == 404
