"""Cached pages: every write a reader or an editor makes shows on the next request, each
reader keeps their own CSRF token, and cache hits and misses keep fixed query budgets."""

import re
import time
from unittest.mock import Mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from comments.models import Comment, Poll, PollChoice, Vote
from comments.polls.selectors import choices_with_counts
from comments.stamps import stamp_is_too_fast
from evsite import caching
from evsite.caching import (
    CSRF_PLACEHOLDER,
    DISCUSSION,
    PAGE_TTL,
    SHARED_VERSIONS_MAX_AGE,
    STAND_IN_RECHECK_SECONDS,
    STAND_IN_SECONDS,
    VERSION_KEY,
    local_pages,
)
from tests.conftest import element, elements, post_comment, text

ALWAYS = Poll.ResultsVisibility.ALWAYS


@pytest.fixture
def discussed(article, make_poll, add_comment, add_votes):
    """An article with a poll whose results everyone sees, two votes and a thread."""
    poll = make_poll(article=article, results_visibility=ALWAYS)
    add_votes(poll, 1, 1, 0)
    root = add_comment(article, "The first comment.")
    add_comment(article, "A reply to it.", parent=root)
    return article


@pytest.fixture
def editor(client, staff_user):
    client.force_login(staff_user)
    return client


def without_tokens(response):
    """A response's HTML less the CSRF tokens, which are masked anew for every response, and
    the form stamps, which say the second they were made."""
    html = re.sub(r'(csrfmiddlewaretoken" value=|"x-csrftoken": )"[^"]+"', "", response.text)
    return re.sub(r'"\d+\.[0-9a-f]{24}\.[\w-]+"', '""', html)


def votes_shown(response, poll):
    rows = elements(response, f"#poll-{poll.pk}-results li[data-choice-id]")
    return {int(row["data-choice-id"]): int(row["data-votes"]) for row in rows}


def comment_bodies(response):
    return [text(body) for body in elements(response, "#comments .comment__body")]


def test_a_reader_without_a_session_gets_a_shared_page_with_their_own_csrf_token(
    make_client, discussed, django_assert_num_queries
):
    first, second = make_client(), make_client()
    page = first.get(discussed.get_absolute_url())
    assert page["Cache-Control"] == "private, no-cache"  # it sets their CSRF cookie
    again = first.get(discussed.get_absolute_url())
    assert "public" in again["Cache-Control"] and "s-maxage=10" in again["Cache-Control"]
    assert "Cookie" in again["Vary"]
    with django_assert_num_queries(0):
        other = second.get(discussed.get_absolute_url())
    tokens = [
        element(response, "#comment-form [name=csrfmiddlewaretoken]")["value"]
        for response in (again, other)
    ]
    assert CSRF_PLACEHOLDER not in again.text + other.text
    assert tokens[0] != tokens[1]
    stamp = element(other, "#comment-form [name=rendered_at]")["value"]
    assert not stamp_is_too_fast(stamp, now=time.time() + 60)  # genuine, not the placeholder

    # Each reader's token works for their own session: a cached page still lets them post.
    strict = make_client(enforce_csrf_checks=True)
    strict.get(discussed.get_absolute_url())
    form = strict.get(discussed.get_absolute_url())
    token = element(form, "#comment-form [name=csrfmiddlewaretoken]")["value"]
    response = post_comment(strict, discussed, csrfmiddlewaretoken=token, body="Posted.")
    assert response.status_code == 302


def test_a_page_that_did_not_change_answers_304(client, discussed, monkeypatch):
    now = time.time()  # the ETag names the hour of the form stamp: one hour for the test
    monkeypatch.setattr("evsite.caching.time.time", lambda: now)
    client.get(discussed.get_absolute_url())
    page = client.get(discussed.get_absolute_url())
    unchanged = client.get(discussed.get_absolute_url(), headers={"If-None-Match": page["ETag"]})
    assert unchanged.status_code == 304
    post_comment(client.__class__(), discussed, body="Someone else wrote.")
    changed = client.get(discussed.get_absolute_url(), headers={"If-None-Match": page["ETag"]})
    assert changed.status_code == 200


def test_a_reader_with_a_session_is_never_shared_cacheable(client, discussed):
    post_comment(client, discussed, body="Now I have a session.")
    page = client.get(discussed.get_absolute_url())
    assert page["Cache-Control"] == "private, no-cache"
    assert "Now I have a session." in comment_bodies(page)


def test_an_editors_save_in_the_admin_shows_on_the_next_request(editor, make_client, discussed):
    reader = make_client()
    reader.get(discussed.get_absolute_url())
    paragraph = discussed.paragraphs.first()
    url = reverse("admin:articles_paragraph_change", args=[paragraph.pk])
    form = {"article": discussed.pk, "kind": paragraph.kind, "position": paragraph.position}
    response = editor.post(url, {**form, "text": "A corrected paragraph."})
    assert response.status_code == 302
    assert "A corrected paragraph." in reader.get(discussed.get_absolute_url()).text


def test_posting_replying_and_deleting_show_to_every_reader_at_once(client, make_client, discussed):
    other = make_client()
    other.get(discussed.get_absolute_url())
    post_comment(client, discussed, body="A new comment from me.")
    assert "A new comment from me." in comment_bodies(other.get(discussed.get_absolute_url()))

    mine = Comment.objects.get(body="A new comment from me.")
    post_comment(client, reply_to=mine, body="And a reply of mine.")
    assert "And a reply of mine." in comment_bodies(other.get(discussed.get_absolute_url()))

    client.post(reverse("comments:delete", kwargs={"pk": mine.pk}))
    shown = comment_bodies(other.get(discussed.get_absolute_url()))
    assert "A new comment from me." not in shown and "[deleted]" in shown


def test_an_edit_shows_to_every_reader_at_once(client, make_client, discussed):
    other = make_client()
    post_comment(client, discussed, body="Before the edit.")
    other.get(discussed.get_absolute_url())
    comment = Comment.objects.get(body="Before the edit.")
    client.post(reverse("comments:edit", kwargs={"pk": comment.pk}), {"body": "After the edit."})
    assert "After the edit." in comment_bodies(other.get(discussed.get_absolute_url()))


def test_moderation_in_the_admin_shows_on_the_next_request(editor, make_client, discussed):
    reader = make_client()
    assert "The first comment." in comment_bodies(reader.get(discussed.get_absolute_url()))
    comment = Comment.objects.get(body="The first comment.")
    editor.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "reject", "_selected_action": [comment.pk]},
    )
    assert "The first comment." not in comment_bodies(reader.get(discussed.get_absolute_url()))


def test_a_helpful_mark_shows_at_once(client, make_client, discussed):
    other = make_client()
    comment = Comment.objects.get(body="The first comment.")
    other.get(discussed.get_absolute_url())
    client.post(reverse("comments:helpful", kwargs={"pk": comment.pk}))
    page = other.get(discussed.get_absolute_url())
    assert text(element(page, f"#helpful-{comment.pk} .helpful__count")) == "1"
    mine = client.get(discussed.get_absolute_url())
    assert element(mine, f"#helpful-{comment.pk}-button")["aria-pressed"] == "true"


def test_a_vote_and_a_changed_vote_show_at_once(client, make_client, discussed):
    poll = discussed.polls.get()
    yes, niche, _no = poll.choices.order_by("position")
    other = make_client()
    assert votes_shown(other.get(discussed.get_absolute_url()), poll)[yes.pk] == 1

    client.post(reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": yes.pk})
    assert votes_shown(other.get(discussed.get_absolute_url()), poll)[yes.pk] == 2
    mine = client.get(discussed.get_absolute_url())
    assert element(mine, f"#poll-{poll.pk}-choice-{yes.pk}").has_attr("checked")

    client.post(reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": niche.pk})
    shown = votes_shown(other.get(discussed.get_absolute_url()), poll)
    assert (shown[yes.pk], shown[niche.pk]) == (1, 2)
    results = other.htmx.get(reverse("comments:poll_results", kwargs={"pk": poll.pk}))
    assert votes_shown(results, poll)[niche.pk] == 2


def test_closing_a_poll_in_the_admin_shows_final_results_at_once(editor, make_client, discussed):
    poll = discussed.polls.get()
    reader = make_client()
    assert "Results so far" in reader.get(discussed.get_absolute_url()).text
    editor.post(
        reverse("admin:comments_poll_changelist"),
        {"action": "close_now", "_selected_action": [poll.pk]},
    )
    assert "Final results" in reader.get(discussed.get_absolute_url()).text


def test_a_reader_who_may_still_edit_sees_the_edit_link_go_when_the_window_closes(
    client, discussed, settings
):
    post_comment(client, discussed, body="Mine to edit.")
    comment = Comment.objects.get(body="Mine to edit.")
    edit_link = f'[href="{reverse("comments:edit", kwargs={"pk": comment.pk})}"]'
    assert elements(client.get(discussed.get_absolute_url()), edit_link)
    settings.EVR_COMMENT_EDIT_MINUTES = 0
    assert not elements(client.get(discussed.get_absolute_url()), edit_link)


@pytest.mark.parametrize("comments", [10, 200])
def test_article_page_queries_on_a_miss_and_a_hit_do_not_grow_with_comments(
    make_client, discussed, add_comment, comments, django_assert_max_num_queries
):
    for number in range(comments):
        add_comment(discussed, f"Comment number {number}.")
    reader = make_client()
    local_pages.clear()
    post_comment(make_client(), discussed, body="A write moves the versions on.")
    # Every cache is cold here but the threads' own: the article and its facts, corrections
    # and claims, the poll's counts and history, then the comment section.
    with django_assert_max_num_queries(16):
        reader.get(discussed.get_absolute_url())
    with django_assert_max_num_queries(0):
        reader.get(discussed.get_absolute_url())


def test_fragments_and_facts_json_hit_the_cache_without_queries(
    make_client, discussed, seeded_article, django_assert_num_queries
):
    reader = make_client()
    poll = discussed.polls.get()
    urls = [
        reverse("comments:poll_results", kwargs={"pk": poll.pk}),
        reverse("comments:more", kwargs={"slug": discussed.slug}) + "?page=1",
        reverse("articles:facts_json", kwargs={"slug": seeded_article.slug}),
    ]
    for url in urls:
        first = reader.htmx.get(url)
        assert first.status_code == 200
        with django_assert_num_queries(0):
            again = reader.htmx.get(url)
        assert without_tokens(again) == without_tokens(first)


def test_a_voter_with_a_session_reads_their_page_from_their_own_copy(
    client, discussed, django_assert_max_num_queries
):
    poll = discussed.polls.get()
    client.post(
        reverse("comments:poll_vote", kwargs={"pk": poll.pk}),
        {"choice": poll.choices.first().pk},
    )
    client.get(discussed.get_absolute_url())  # shows the "vote counted" message once
    client.get(discussed.get_absolute_url())
    with django_assert_max_num_queries(1):  # at most the session, when the cache lost it
        page = client.get(discussed.get_absolute_url())
    assert element(page, f"#poll-{poll.pk}-choice-{poll.choices.first().pk}").has_attr("checked")


def test_a_guest_with_a_session_gets_their_copy_as_the_view_gave_it(client, discussed, monkeypatch):
    now = time.time()  # one hour of form stamps for the ETags compared
    monkeypatch.setattr("evsite.caching.time.time", lambda: now)
    poll = discussed.polls.get()
    client.post(
        reverse("comments:poll_vote", kwargs={"pk": poll.pk}),
        {"choice": poll.choices.first().pk},
    )
    client.get(discussed.get_absolute_url())  # shows the "vote counted" message once
    results = reverse("comments:poll_results", kwargs={"pk": poll.pk})
    rendered = {url: client.htmx.get(url) for url in (discussed.get_absolute_url(), results)}

    def view_runs(*args, **kwargs):
        raise AssertionError("the view ran for a page the guest has a copy of")

    monkeypatch.setattr("django.urls.resolvers.URLResolver.resolve", view_runs)
    for url, first in rendered.items():
        again = client.htmx.get(url)
        assert without_tokens(again) == without_tokens(first)
        for header in ("Cache-Control", "ETag", "X-Frame-Options", "Content-Type"):
            assert again[header] == first[header]
        assert set(again["Vary"].split(", ")) == set(first["Vary"].split(", "))
        unchanged = client.htmx.get(url, headers={"If-None-Match": again["ETag"]})
        assert unchanged.status_code == 304


def test_a_guest_whose_session_has_gone_gets_the_page_and_loses_the_cookie(make_client, discussed):
    from django.contrib.sessions.backends.db import SessionStore

    kept = SessionStore()
    kept["some"] = "thing"  # a session with no reader token: its own copy of each page
    kept.save()
    holder = make_client()
    holder.cookies["sessionid"] = kept.session_key
    holder.get(discussed.get_absolute_url())
    holder.get(discussed.get_absolute_url())
    stale = make_client()
    stale.cookies["sessionid"] = "a" * 32  # a session that expired and was cleared away

    page = stale.get(discussed.get_absolute_url())

    assert page.status_code == 200
    assert page.cookies["sessionid"].value == ""  # deleted, as SessionMiddleware does


def test_vote_counters_match_the_votes_and_the_recount_reports_drift(client, discussed, capsys):
    poll = discussed.polls.get()
    yes = poll.choices.order_by("position").first()
    client.post(reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": yes.pk})
    counted = {choice.pk: choice.vote_count for choice in choices_with_counts().filter(poll=poll)}
    assert counted == {pk: Vote.objects.filter(choice_id=pk).count() for pk in counted}

    call_command("poll_recount", "--check")  # no drift: exits normally
    PollChoice.objects.filter(pk=yes.pk).update(vote_count=99)
    with pytest.raises(SystemExit):
        call_command("poll_recount", "--check")
    call_command("poll_recount")
    assert "counter 99, votes 2 (fixed)" in capsys.readouterr().out
    assert PollChoice.objects.get(pk=yes.pk).vote_count == 2


def test_cached_copies_expire_even_without_writes(make_client, discussed, monkeypatch):
    reader = make_client()
    reader.get(discussed.get_absolute_url())
    Comment.objects.filter(body="The first comment.").update(body="Changed behind our back.")
    assert "Changed behind our back." not in reader.get(discussed.get_absolute_url()).text
    later = time.monotonic() + 61
    monkeypatch.setattr("evsite.caching.time.monotonic", lambda: later)
    from django.core.cache import cache

    cache.clear()
    assert "Changed behind our back." in reader.get(discussed.get_absolute_url()).text


def test_a_comment_cannot_carry_a_placeholder_that_becomes_a_readers_token(client, discussed):
    body = f"See https://evil.example/?t=evr-csrf-token-placeholder and {len(CSRF_PLACEHOLDER)}"
    post_comment(client, discussed, body=body)  # held for a moderator: its author sees it
    page = client.get(discussed.get_absolute_url())
    shown = [text(node) for node in elements(page, "#comments .comment__body")]
    assert any("?t=evr-csrf-token-placeholder" in body for body in shown)
    assert not CSRF_PLACEHOLDER.startswith("evr-csrf-token")  # no reader can know it


def test_deleting_a_comment_or_an_account_in_the_admin_shows_at_once(
    editor, make_client, discussed, make_user, add_comment, add_vote
):
    reader = make_client()
    gone = Comment.objects.get(body="The first comment.")
    assert "The first comment." in comment_bodies(reader.get(discussed.get_absolute_url()))
    editor.post(reverse("admin:comments_comment_delete", args=[gone.pk]), {"post": "yes"})
    assert "The first comment." not in comment_bodies(reader.get(discussed.get_absolute_url()))

    leaving = make_user("leaving")
    poll = discussed.polls.get()
    add_vote(poll.choices.first(), user=leaving)
    add_comment(discussed, "Written before leaving.", user=leaving)
    counts = dict(PollChoice.objects.filter(poll=poll).values_list("pk", "vote_count"))
    editor.post(reverse("admin:auth_user_delete", args=[leaving.pk]), {"post": "yes"})
    assert dict(PollChoice.objects.filter(poll=poll).values_list("pk", "vote_count")) == counts
    assert Vote.objects.filter(poll=poll).count() == sum(counts.values())
    page = reader.get(discussed.get_absolute_url())
    assert "Deleted reader" in [text(node) for node in elements(page, ".comment__author")]


def test_readers_without_a_session_see_a_write_made_on_another_worker_within_a_second(
    client, discussed, add_comment, monkeypatch
):
    """A copy shared with readers who have no session may be a second old (a CDN may keep it
    ten): this worker checks its versions at most once a second. Writes made in this worker
    show at once (every other test here)."""
    url = discussed.get_absolute_url()
    assert "Posted elsewhere." not in client.get(url).text
    add_comment(discussed, "Posted elsewhere.")
    cache.incr(VERSION_KEY.format(DISCUSSION))  # as the other worker's write moves it on
    assert "Posted elsewhere." not in client.get(url).text
    later = time.monotonic() + SHARED_VERSIONS_MAX_AGE
    monkeypatch.setattr("evsite.caching.time.monotonic", lambda: later)
    assert "Posted elsewhere." in client.get(url).text


def test_while_another_worker_renders_a_page_again_readers_without_a_session_get_the_copy_before(
    make_client, client, discussed, monkeypatch
):
    url = discussed.get_absolute_url()
    reader = make_client()
    reader.get(url)
    post_comment(client, discussed, body="Written meanwhile.")
    monkeypatch.setattr("evsite.caching._claim_render", lambda key: None)  # another worker's

    stand_in = reader.get(url)
    assert stand_in.status_code == 200
    assert "Written meanwhile." not in comment_bodies(stand_in)
    assert "Written meanwhile." in comment_bodies(client.get(url))  # its author sees it

    monkeypatch.undo()  # that rendering is done, or this worker claims the next one
    later = time.monotonic() + STAND_IN_RECHECK_SECONDS  # when this worker looks again
    monkeypatch.setattr("evsite.caching.time.monotonic", lambda: later)
    assert "Written meanwhile." in comment_bodies(reader.get(url))


def test_a_copy_stands_in_for_a_few_seconds_at_most_whoever_renders_it(
    make_client, discussed, monkeypatch
):
    url = discussed.get_absolute_url()
    reader = make_client()
    reader.get(url)
    Comment.objects.filter(body="The first comment.").update(body="Changed behind our back.")
    monkeypatch.setattr("evsite.caching._claim_render", lambda key: None)  # held elsewhere
    later = time.time() + PAGE_TTL  # the copy is due to be rendered again
    monkeypatch.setattr("evsite.caching.time.time", lambda: later)
    assert "Changed behind our back." not in reader.get(url).text  # it stands in

    much_later = time.monotonic() + STAND_IN_SECONDS
    monkeypatch.setattr("evsite.caching.time.monotonic", lambda: much_later)
    assert "Changed behind our back." in reader.get(url).text


def test_a_rendering_that_ends_in_a_server_error_gives_its_claim_back(
    make_client, discussed, monkeypatch
):
    url = discussed.get_absolute_url()
    reader = make_client(raise_request_exception=False)
    reader.get(url)
    later = time.time() + PAGE_TTL  # the copy is due to be rendered again
    monkeypatch.setattr("evsite.caching.time.time", lambda: later)
    claims = []
    claim_render = caching._claim_render
    monkeypatch.setattr(
        "evsite.caching._claim_render", lambda key: claims.append(key) or claim_render(key)
    )
    monkeypatch.setattr("articles.views._render_article", Mock(side_effect=RuntimeError))

    assert reader.get(url).status_code == 500

    assert claims
    assert cache.get(caching.RENDER_CLAIM_KEY.format(claims[0])) is None


def test_a_copy_older_than_a_cdn_may_serve_it_never_stands_in(make_client, discussed, monkeypatch):
    url = discussed.get_absolute_url()
    reader = make_client()
    reader.get(url)
    Comment.objects.filter(body="The first comment.").update(body="Changed behind our back.")
    monkeypatch.setattr("evsite.caching._claim_render", lambda key: None)  # held elsewhere
    later = time.time() + PAGE_TTL + caching.KEPT_TO_STAND_IN
    monkeypatch.setattr("evsite.caching.time.time", lambda: later)

    assert "Changed behind our back." in reader.get(url).text
