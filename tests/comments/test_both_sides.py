"""The "Both sides" order: the first page alternates the most helpful threads of each poll
stance, the rest follow by helpfulness; it is the default once the poll has votes for two
answers; the heading shows how the comments split by stance, each a link to that filter."""

import itertools
import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from comments.readers import Reader
from comments.selectors import PAGE_SIZE, CommentSection, comment_counts
from tests.conftest import element, elements, post_comment, text

_minutes = itertools.count(1)


def add_threads(article, count, *, choice=None, show_stance=True, helpful=lambda n: 0):
    """`count` top-level comments by other readers, each older than the one before, with
    `helpful(n)` marks; they show the stance `choice` unless `show_stance` is False."""
    now = timezone.now()
    return Comment.objects.bulk_create(
        Comment(
            article=article,
            author_name=f"Reader {number}",
            reader_token="other-reader",
            body=f"{choice.label if choice else 'No stance'} thread {number}",
            created_at=now - timedelta(minutes=next(_minutes)),
            helpful_count=helpful(number),
            stance_choice=choice,
            show_stance=show_stance,
        )
        for number in range(count)
    )


def by_helpfulness(threads):
    return sorted(threads, key=lambda c: (-c.helpful_count, -c.created_at.timestamp(), -c.pk))


def pks(threads):
    return [thread.pk for thread in threads]


def top_level_ids(html):
    found = elements(html, '#comments > li.comment-thread > article[id^="c-"]')
    return [int(article["id"].removeprefix("c-")) for article in found]


def appended_ids(fragment):
    """The top-level threads a "Load more" fragment appends to the list."""
    found = elements(fragment, 'ol[hx-swap-oob="beforeend:#comments"] > li > article[id^="c-"]')
    return [int(article["id"].removeprefix("c-")) for article in found]


def announced(response):
    return json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]["message"]


def sort_shown(html):
    return element(html, "#comment-sort option[selected]")["value"]


@pytest.fixture
def choices(poll):
    yes, niche, no = poll.choices.order_by("position")
    return {"yes": yes, "niche": niche, "no": no}


@pytest.fixture
def debate(article, poll, choices, add_votes):
    """30 threads by "Yes" voters, 3 by "No" voters, 6 without a stance (some of them the
    most helpful of all) and 2 whose authors hide their "No": in the both-sides order, the
    first page opens with Yes, No, Yes, No, Yes, No, then all the others by helpfulness."""
    add_votes(poll, 5, 0, 2)
    yes = add_threads(article, 30, choice=choices["yes"], helpful=lambda n: (n * 7) % 11)
    no = add_threads(article, 3, choice=choices["no"], helpful=lambda n: [1, 4, 1][n])
    plain = add_threads(article, 6, helpful=lambda n: 20 - n)
    hidden = add_threads(article, 2, choice=choices["no"], show_stance=False, helpful=lambda n: 9)
    yes, no = by_helpfulness(yes), by_helpfulness(no)
    leading = [yes[0], no[0], yes[1], no[1], yes[2], no[2]]
    rest = by_helpfulness(set(yes + no + plain + hidden) - set(leading))
    return pks(leading + rest)


def follow_page_links(client, url):
    """The top-level threads of every page, reached by the "Next page" links (no JavaScript)."""
    pages = []
    while url:
        html = client.get(url).content.decode()
        pages.append(top_level_ids(html))
        following = elements(html, "#comment-pages a[rel=next]")
        url = following[0]["href"] if following else None
    return pages


def follow_load_more(client, url):
    """The first page's threads, then each batch that "Load more comments" appends (htmx)."""
    html = client.get(url).content.decode()
    batches = [top_level_ids(html)]
    more = elements(html, "#comment-pages .load-more")
    while more:
        fragment = client.htmx.get(more[0]["hx-get"]).content.decode()
        assert "<html" not in fragment
        batches.append(appended_ids(fragment))
        more = elements(fragment, "#comment-pages .load-more")
    return batches


def test_the_first_page_alternates_the_stances_then_follows_helpfulness(client, article, debate):
    pages = follow_page_links(client, f"{article.get_absolute_url()}?sort=both")

    assert [len(page) for page in pages] == [20, 20, 1]
    assert pages[0] == debate[:PAGE_SIZE]
    assert sum(pages, []) == debate
    html = client.get(f"{article.get_absolute_url()}?sort=both").content.decode()
    authors_voted = [text(badge) for badge in elements(html, "#comments > li > .comment")][:6]
    assert [("Voted: No" in shown) for shown in authors_voted] == [False, True] * 3


def test_load_more_shows_every_thread_once_in_the_same_order(client, article, debate):
    batches = follow_load_more(client, f"{article.get_absolute_url()}?sort=both")

    shown = sum(batches, [])
    assert [len(batch) for batch in batches] == [20, 20, 1]
    assert len(shown) == len(set(shown)), "a thread was shown twice"
    assert shown == debate, "a thread was skipped or moved"


def test_default_order_pages_the_same_way_without_a_sort_in_the_address(client, article, debate):
    assert sum(follow_page_links(client, article.get_absolute_url()), []) == debate
    assert sum(follow_load_more(client, article.get_absolute_url()), []) == debate


def test_threads_posted_after_the_first_page_neither_repeat_nor_push_others_along(
    client, article, debate, choices, add_comment
):
    first = client.get(article.get_absolute_url()).content.decode()
    next_url = element(first, "#comment-pages .load-more")["hx-get"]
    # Newer than the page the reader has: the most helpful of their sides by far.
    add_comment(article, stance_choice=choices["no"], helpful_count=500)
    add_comment(article, stance_choice=choices["yes"], helpful_count=500)
    add_comment(article, helpful_count=500)

    more = client.htmx.get(next_url).content.decode()

    assert appended_ids(more) == debate[PAGE_SIZE : 2 * PAGE_SIZE]


def test_with_a_stance_filter_it_is_that_stance_by_helpfulness(client, article, choices):
    no = add_threads(article, 4, choice=choices["no"], helpful=lambda n: [2, 8, 5, 0][n])
    add_threads(article, 5, choice=choices["yes"], helpful=lambda n: 10)
    add_threads(article, 1, choice=choices["no"], show_stance=False, helpful=lambda n: 9)

    html = client.get(
        article.get_absolute_url(), {"sort": "both", "stance": choices["no"].pk}
    ).content.decode()

    assert top_level_ids(html) == pks(by_helpfulness(no))
    list_url = reverse("comments:list", kwargs={"slug": article.slug})
    filtered = client.htmx.get(list_url, {"sort": "both", "stance": choices["no"].pk})
    assert announced(filtered) == "Showing most helpful, voted: No."
    assert announced(client.htmx.get(list_url, {"sort": "both"})) == "Showing both sides."


def test_three_stances_take_turns_while_two_have_threads_left(client, article, choices):
    yes = by_helpfulness(add_threads(article, 5, choice=choices["yes"], helpful=lambda n: n))
    niche = add_threads(article, 1, choice=choices["niche"])
    no = by_helpfulness(add_threads(article, 2, choice=choices["no"], helpful=lambda n: n))

    html = client.get(article.get_absolute_url(), {"sort": "both"}).content.decode()

    assert top_level_ids(html) == pks([yes[0], niche[0], no[0], yes[1], no[1], *yes[2:]])


def test_comments_that_hide_their_stance_form_no_side(client, article, choices):
    shown = add_threads(article, 3, choice=choices["yes"], helpful=lambda n: 3 + n)
    hidden = add_threads(article, 3, choice=choices["no"], show_stance=False, helpful=lambda n: n)

    html = client.get(article.get_absolute_url(), {"sort": "both"}).content.decode()

    assert top_level_ids(html) == pks(by_helpfulness(shown + hidden)), "one side: by helpfulness"


def test_replies_stay_in_their_threads(client, article, choices, add_comment):
    (yes,) = add_threads(article, 1, choice=choices["yes"])
    (no,) = add_threads(article, 1, choice=choices["no"])
    reply = add_comment(article, parent=yes, stance_choice=choices["no"], helpful_count=99)

    html = client.get(article.get_absolute_url(), {"sort": "both"}).content.decode()

    assert top_level_ids(html) == [yes.pk, no.pk]
    assert elements(html, f"#replies-{yes.pk} #c-{reply.pk}")


def test_both_sides_becomes_the_default_once_two_answers_have_votes(
    make_client, article, poll, choices, add_votes
):
    older = add_threads(article, 2, choice=choices["yes"], helpful=lambda n: n)
    (newer_no,) = add_threads(article, 1, choice=choices["no"])
    newer_no.created_at = timezone.now()
    newer_no.save()
    reader = make_client()

    page = reader.get(article.get_absolute_url())
    assert sort_shown(page) == "newest"
    assert top_level_ids(page)[0] == newer_no.pk

    add_votes(poll, 3, 0, 0)
    assert sort_shown(reader.get(article.get_absolute_url())) == "newest", "one answer only"

    voter = make_client()
    voter.post(reverse("comments:poll_vote", kwargs={"pk": poll.pk}), {"choice": choices["no"].pk})

    page = reader.get(article.get_absolute_url())
    assert sort_shown(page) == "both"
    assert top_level_ids(page) == pks([older[1], newer_no, older[0]])
    fragment = reader.htmx.get(reverse("comments:list", kwargs={"slug": article.slug}))
    assert top_level_ids(fragment) == pks([older[1], newer_no, older[0]])
    # Any other order is still the reader's to choose.
    assert sort_shown(reader.get(article.get_absolute_url(), {"sort": "newest"})) == "newest"


def test_the_sort_control_offers_both_sides(client, article):
    html = client.get(article.get_absolute_url()).content.decode()
    option = element(html, '#comment-sort option[value="both"]')
    assert text(option) == "Both sides"
    assert element(html, 'label[for="comment-sort"]')


def test_a_permalink_goes_to_the_page_that_shows_its_thread_in_both_sides_order(
    client, article, debate, add_comment
):
    on_first_page, on_second_page = debate[5], debate[PAGE_SIZE + 3]
    reply = add_comment(article, parent=Comment.objects.get(pk=on_second_page))

    first = client.get(reverse("comments:permalink", kwargs={"pk": on_first_page}))
    second = client.get(reverse("comments:permalink", kwargs={"pk": reply.pk}))

    assert first["Location"] == f"{article.get_absolute_url()}#c-{on_first_page}"
    assert second["Location"] == f"{article.get_absolute_url()}?page=2#c-{reply.pk}"
    assert reply.pk in [
        int(found["id"].removeprefix("c-"))
        for found in elements(client.get(second["Location"]), "article[id^=c-]")
    ]


# --- How the discussion splits -------------------------------------------------------------


@pytest.fixture
def split(article, choices, add_comment):
    """Yes: two threads and a reply (3); No: one thread (1); A city niche: none. Held, deleted
    and hidden-stance comments, and comments without a stance, are not counted by stance."""
    yes = add_comment(article, stance_choice=choices["yes"])
    add_comment(article, stance_choice=choices["yes"])
    add_comment(article, parent=yes, stance_choice=choices["yes"])
    add_comment(article, parent=yes)
    add_comment(article, stance_choice=choices["no"])
    add_comment(article, stance_choice=choices["no"], show_stance=False)
    add_comment(article, stance_choice=choices["no"], status=Comment.Status.PENDING)
    add_comment(article, stance_choice=choices["no"], deleted_at=timezone.now())
    return article


def stance_links(html):
    return {text(link): link for link in elements(html, ".stance-split a")}


def test_the_heading_counts_comments_by_stance_with_links_to_the_filter(client, split, choices):
    html = client.get(split.get_absolute_url()).content.decode()

    links = stance_links(html)
    assert list(links) == ["Yes: 3 comments", "No: 1 comment"]
    chips = [text(chip) for chip in elements(html, ".stance-split li")]
    assert chips == ["Yes: 3 comments", "A city niche: 0 comments", "No: 1 comment"]
    assert text(element(html, "#comment-count")) == "(6)"
    list_url = reverse("comments:list", kwargs={"slug": split.slug})
    for label, choice in [("Yes: 3 comments", "yes"), ("No: 1 comment", "no")]:
        pk = choices[choice].pk
        assert links[label]["href"] == f"{split.get_absolute_url()}?stance={pk}#comments"
        assert links[label]["hx-get"] == f"{list_url}?stance={pk}"
        assert links[label]["hx-target"] == "#comment-threads"
    label = element(html, "#stance-split-label")
    assert element(html, ".stance-split ul")["aria-labelledby"] == label["id"]


def test_a_stance_link_lists_that_stance_only(client, split, choices):
    href = stance_links(client.get(split.get_absolute_url()))["Yes: 3 comments"]["href"]

    html = client.get(href).content.decode()

    shown = Comment.objects.filter(pk__in=top_level_ids(html))
    assert shown.count() == 2
    assert {comment.stance_choice for comment in shown} == {choices["yes"]}
    assert element(html, "#comment-stance option[selected]")["value"] == str(choices["yes"].pk)


def test_with_htmx_a_stance_link_updates_the_filter_control_too(client, split, choices):
    link = stance_links(client.get(split.get_absolute_url()))["No: 1 comment"]

    fragment = client.htmx.get(link["hx-get"], headers={"HX-Trigger": link["id"]})

    assert "<html" not in fragment.content.decode()
    assert len(top_level_ids(fragment)) == 1
    controls = element(fragment, "#comment-controls")
    assert controls["hx-swap-oob"] == "true"
    assert element(controls, "#comment-stance option[selected]")["value"] == str(choices["no"].pk)
    # From the controls themselves, the form the reader is using is left in place.
    from_controls = client.htmx.get(link["hx-get"], headers={"HX-Trigger": "comment-controls"})
    assert not elements(from_controls, "#comment-controls")


def test_no_split_is_shown_before_a_comment_shows_a_stance(client, article, poll, add_comment):
    add_comment(article)
    html = client.get(article.get_absolute_url()).content.decode()
    assert not elements(html, ".stance-split")
    assert text(element(html, "#comment-count")) == "(1)"


def test_new_comments_show_in_the_split_for_every_reader(make_client, split, choices, add_vote):
    reader, writer = make_client(), make_client(token="writer-token")
    assert "No: 1 comment" in stance_links(reader.get(split.get_absolute_url()))
    add_vote(choices["no"], reader_token="writer-token")

    post_comment(writer, split, body="Too small for a family.")

    links = stance_links(reader.get(split.get_absolute_url()))
    assert "No: 2 comments" in links


def test_the_split_is_counted_in_one_query_and_kept_under_the_discussion_version(
    split, choices, django_assert_num_queries
):
    def section():
        request = RequestFactory().get(split.get_absolute_url())
        request.session = {}
        return CommentSection(request, split, reader=Reader())

    with django_assert_num_queries(1):
        counts = comment_counts(Reader(), split)
    assert counts["total"] == 6
    assert counts["by_stance"] == {choices["yes"].pk: 3, choices["no"].pk: 1}

    first = section()
    with django_assert_num_queries(1):
        assert [count for _, count in first.stance_split] == [3, 0, 1]
    again = section()
    with django_assert_num_queries(0):
        assert [count for _, count in again.stance_split] == [3, 0, 1]
        assert again.total == 6


# --- Query budgets -------------------------------------------------------------------------


def both_sides_requests(client, article):
    """The requests a reader makes reading the whole discussion in the both-sides order."""
    list_url = reverse("comments:list", kwargs={"slug": article.slug})
    more_url = reverse("comments:more", kwargs={"slug": article.slug})
    return [
        lambda: client.get(article.get_absolute_url(), {"sort": "both"}),
        lambda: client.get(article.get_absolute_url(), {"sort": "both", "page": 2}),
        lambda: client.htmx.get(list_url, {"sort": "both"}),
        lambda: client.htmx.get(more_url, {"sort": "both", "page": 2}),
        lambda: client.htmx.get(more_url, {"sort": "both", "page": 3}),
    ]


def discussion(make_article, make_poll, add_votes, add_comment, threads_per_side):
    article = make_article()
    poll = make_poll(article=article)
    add_votes(poll, 2, 1, 1)
    for choice in poll.choices.all():
        for thread in add_threads(article, threads_per_side, choice=choice, helpful=lambda n: n):
            add_comment(article, parent=thread, stance_choice=choice)
    add_threads(article, threads_per_side)
    return article


def test_both_sides_queries_do_not_grow_with_the_discussion(
    make_client, make_article, make_poll, add_votes, add_comment, django_assert_max_num_queries
):
    small = discussion(make_article, make_poll, add_votes, add_comment, threads_per_side=12)
    large = discussion(make_article, make_poll, add_votes, add_comment, threads_per_side=120)

    counts = {}
    for article in (small, large):
        counts[article] = []
        for request in both_sides_requests(make_client(), article):
            with django_assert_max_num_queries(16) as queries:
                assert request().status_code == 200
            counts[article].append(len(queries))

    assert counts[small] == counts[large]
