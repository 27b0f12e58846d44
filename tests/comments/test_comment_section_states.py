"""What the comment section's controls, notes and counts say in each state it can be in: the
order shown under a stance filter, a label the article no longer has, the counts after an
htmx post or delete, the page links after "Load more", and a stance nobody speaks for."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from tests.conftest import element, elements, post_comment, text


def announced(response):
    return json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]["message"]


def list_url(article):
    return reverse("comments:list", kwargs={"slug": article.slug})


def more_url(article):
    return reverse("comments:more", kwargs={"slug": article.slug})


def sort_shown(html):
    return element(html, "#comment-sort option[selected]")["value"]


def top_level_ids(html):
    found = elements(html, '#comments > li.comment-thread > article[id^="c-"]')
    return [int(article["id"].removeprefix("c-")) for article in found]


def appended_ids(fragment):
    found = elements(fragment, 'ol[hx-swap-oob="beforeend:#comments"] > li > article[id^="c-"]')
    return [int(article["id"].removeprefix("c-")) for article in found]


@pytest.fixture
def choices(poll):
    yes, niche, no = poll.choices.order_by("position")
    return {"yes": yes, "niche": niche, "no": no}


def add_threads(article, count, *, choice=None, helpful=lambda n: 0):
    now = timezone.now()
    return Comment.objects.bulk_create(
        Comment(
            article=article,
            author_name=f"Reader {number}",
            reader_token="other-reader",
            body=f"Thread {number}",
            created_at=now - timedelta(minutes=number + 1),
            helpful_count=helpful(number),
            stance_choice=choice,
            show_stance=choice is not None,
        )
        for number in range(count)
    )


# --- The sort control shows the order used under a stance filter -----------------------------


@pytest.fixture
def both_sides_debate(article, poll, choices, add_votes):
    """Both sides is the default (votes for two answers); "No" threads by helpfulness: 8, 5, 2."""
    add_votes(poll, 3, 0, 2)
    no = add_threads(article, 3, choice=choices["no"], helpful=lambda n: [2, 8, 5][n])
    add_threads(article, 4, choice=choices["yes"], helpful=lambda n: 10)
    return sorted(no, key=lambda comment: -comment.helpful_count)


def test_without_javascript_a_stance_filter_shows_most_helpful_as_the_order(
    client, article, choices, both_sides_debate
):
    for query in ({"sort": "both", "stance": choices["no"].pk}, {"stance": choices["no"].pk}):
        html = client.get(article.get_absolute_url(), query).content.decode()

        assert top_level_ids(html) == [comment.pk for comment in both_sides_debate]
        assert sort_shown(html) == "helpful"
        assert element(html, "#comment-stance option[selected]")["value"] == str(choices["no"].pk)

    # Both sides is still what the whole discussion opens with.
    assert sort_shown(client.get(article.get_absolute_url())) == "both"


def test_changing_the_stance_with_htmx_under_both_sides_updates_the_sort_control(
    htmx, article, choices, both_sides_debate
):
    response = htmx.get(
        list_url(article),
        {"sort": "both", "stance": choices["no"].pk},
        headers={"HX-Trigger": "comment-controls"},
    )

    assert top_level_ids(response) == [comment.pk for comment in both_sides_debate]
    controls = element(response, "#comment-controls")
    assert controls["hx-swap-oob"] == "true"
    assert sort_shown(controls) == "helpful"
    assert element(controls, "#comment-stance option[selected]")["value"] == str(choices["no"].pk)
    assert announced(response) == "Showing most helpful, voted: No."
    # A change that leaves the order as asked leaves the controls the reader is using alone.
    same = htmx.get(
        list_url(article),
        {"sort": "oldest", "stance": choices["no"].pk},
        headers={"HX-Trigger": "comment-controls"},
    )
    assert not elements(same, "#comment-controls")


def test_a_stance_link_under_both_sides_shows_most_helpful_in_the_controls(
    client, article, choices, both_sides_debate
):
    page = client.get(article.get_absolute_url())
    link = element(page, f"#stance-link-{choices['no'].pk}")

    response = client.htmx.get(link["hx-get"], headers={"HX-Trigger": link["id"]})

    assert sort_shown(element(response, "#comment-controls")) == "helpful"
    assert announced(response) == "Showing most helpful, voted: No."


# --- A label the article no longer has ----------------------------------------------------


@pytest.fixture
def discussed(article, add_comment):
    add_comment(article, "On paragraph 1.", anchor="p-1", minutes_ago=2)
    add_comment(article, "On the article.", minutes_ago=1)
    return article


def listed_bodies(html):
    return [text(body) for body in elements(html, "#comments .comment__body")]


def assert_whole_discussion(html):
    assert listed_bodies(html) == ["On the article.", "On paragraph 1."]
    assert not elements(html, "#claim-filter")
    assert "this part of the article" not in text(element(html, ".comments-empty"))


def test_an_old_link_to_a_removed_paragraph_shows_every_comment(client, htmx, discussed):
    assert_whole_discussion(client.get(f"{discussed.get_absolute_url()}?anchor=p-99"))

    for trigger in ("comment-controls", "claim-comments-p-99"):
        fragment = htmx.get(
            list_url(discussed), {"anchor": "p-99"}, headers={"HX-Trigger": trigger}
        )
        assert_whole_discussion(fragment)
        assert announced(fragment) == "Showing newest first."

    without_javascript = client.get(list_url(discussed), {"anchor": "p-99"}, follow=True)
    assert_whole_discussion(without_javascript)


def test_an_old_link_to_a_removed_paragraph_without_comments_says_there_are_none(client, article):
    html = client.get(f"{article.get_absolute_url()}?anchor=p-99")
    assert text(element(html, ".comments-empty")) == "No comments yet. Start the discussion."
    assert not elements(html, "#claim-filter")


# --- Counts updated in place after an htmx post or delete ---------------------------------


def claim_count_text(html, label):
    holder = element(html, f"#claim-count-{label}")
    return text(holder)


def stance_chips(html):
    return [text(chip) for chip in elements(html, "#stance-split li")]


@pytest.fixture
def writer(make_client, choices, add_vote):
    """A guest who voted "No" in the poll, so their comments show that stance."""
    add_vote(choices["no"], reader_token="writer-token")
    return make_client(token="writer-token")


def test_an_htmx_comment_on_a_paragraph_updates_its_count_and_the_stance_counts(
    writer, article, choices, add_comment
):
    add_comment(article, "A Yes voter.", stance_choice=choices["yes"])
    page = writer.get(article.get_absolute_url())
    assert claim_count_text(page, "p-2") == ""  # a place to update, empty for now
    assert stance_chips(page) == ["Yes: 1 comment", "A city niche: 0 comments", "No: 0 comments"]

    posted = post_comment(writer.htmx, article, body="On the second paragraph.", anchor="p-2")

    assert posted.status_code == 200
    count = element(posted, "#claim-count-p-2")
    assert count["hx-swap-oob"] == "true"
    assert text(count) == "1 comment on paragraph 2"
    split = element(posted, "#stance-split")
    assert split["hx-swap-oob"] == "true"
    assert stance_chips(split) == ["Yes: 1 comment", "A city niche: 0 comments", "No: 1 comment"]
    assert text(element(posted, "#comment-count")) == "(2)"
    # What the reload would show.
    page = writer.get(article.get_absolute_url())
    assert claim_count_text(page, "p-2") == "1 comment on paragraph 2"
    assert stance_chips(page) == stance_chips(split)


def test_the_first_comment_with_a_stance_brings_the_split_in(writer, article, choices):
    page = writer.get(article.get_absolute_url())
    assert not text(element(page, "#stance-split"))

    posted = post_comment(writer.htmx, article, body="First of all.")

    split = element(posted, "#stance-split")
    assert stance_chips(split) == ["Yes: 0 comments", "A city niche: 0 comments", "No: 1 comment"]
    assert not elements(posted, "[id^='claim-count-']")  # it responds to no paragraph


def test_a_reply_updates_the_stance_counts(writer, article, add_comment):
    parent = add_comment(article, "A thread on paragraph 1.", anchor="p-1")

    posted = post_comment(writer.htmx, reply_to=parent, body="A reply.")

    assert "No: 1 comment" in stance_chips(element(posted, "#stance-split"))
    assert not elements(posted, "[id^='claim-count-']")  # replies respond to no paragraph


def test_deleting_an_anchored_comment_with_htmx_updates_the_counts(
    writer, article, choices, add_comment
):
    add_comment(article, "A Yes voter on the first paragraph.", anchor="p-1")
    add_comment(article, "A Yes voter.", stance_choice=choices["yes"])
    post_comment(writer, article, body="On the first paragraph.", anchor="p-1")
    comment = Comment.objects.get(reader_token="writer-token")
    assert claim_count_text(writer.get(article.get_absolute_url()), "p-1") == (
        "2 comments on paragraph 1"
    )

    deleted = writer.htmx.post(reverse("comments:delete", kwargs={"pk": comment.pk}))

    assert deleted.status_code == 200
    count = element(deleted, "#claim-count-p-1")
    assert (count["hx-swap-oob"], text(count)) == ("true", "1 comment on paragraph 1")
    split = element(deleted, "#stance-split")
    assert stance_chips(split) == ["Yes: 1 comment", "A city niche: 0 comments", "No: 0 comments"]
    assert text(element(deleted, "#comment-count")) == "(2)"


def test_deleting_the_only_comment_on_a_paragraph_empties_its_count(writer, article):
    post_comment(writer, article, body="On the first paragraph.", anchor="p-1")
    comment = Comment.objects.get()

    deleted = writer.htmx.post(reverse("comments:delete", kwargs={"pk": comment.pk}))

    count = element(deleted, "#claim-count-p-1")
    assert (count["hx-swap-oob"], text(count)) == ("true", "")
    split = element(deleted, "#stance-split")  # no comment shows a stance any more
    assert (split["hx-swap-oob"], split.has_attr("hidden"), text(split)) == ("true", True, "")
    assert text(element(deleted, "#comment-count")) == "(0)"


def test_an_edit_held_for_moderation_takes_the_comment_out_of_its_paragraphs_count(
    client, article, reader, add_comment
):
    comment = add_comment(article, "On paragraph 2.", user=reader, anchor="p-2")
    client.force_login(reader)
    assert claim_count_text(client.get(article.get_absolute_url()), "p-2") == (
        "1 comment on paragraph 2"
    )

    edited = client.htmx.post(
        reverse("comments:edit", kwargs={"pk": comment.pk}),
        {"body": "http://a.example http://b.example http://c.example"},
    )

    assert announced(edited) == "Your changes were saved and are awaiting moderation."
    count = element(edited, "#claim-count-p-2")  # as other readers see it now: none
    assert (count["hx-swap-oob"], text(count)) == ("true", "")


def test_hiding_a_vote_with_htmx_updates_the_stance_counts(writer, article, choices, add_comment):
    add_comment(article, "A Yes voter.", stance_choice=choices["yes"])
    post_comment(writer, article, body="My view.")
    comment = Comment.objects.get(reader_token="writer-token")

    hidden = writer.htmx.post(reverse("comments:stance", kwargs={"pk": comment.pk}))
    assert "No: 0 comments" in stance_chips(element(hidden, "#stance-split"))

    shown = writer.htmx.post(reverse("comments:stance", kwargs={"pk": comment.pk}))
    assert "No: 1 comment" in stance_chips(element(shown, "#stance-split"))


def test_posting_with_htmx_costs_the_same_queries_however_long_the_discussion(
    make_client, article, choices, add_vote, django_assert_max_num_queries
):
    def post_as_new_writer(number):
        add_vote(choices["no"], reader_token=f"writer-{number}")
        writer = make_client(token=f"writer-{number}")
        with django_assert_max_num_queries(40) as queries:
            response = post_comment(writer.htmx, article, body="Short and sweet.", anchor="p-1")
        assert response.status_code == 200
        return len(queries)

    post_as_new_writer(0)  # the article's paragraphs are read once, then kept
    few = post_as_new_writer(1)
    add_threads(article, 60, choice=choices["yes"])
    for thread in Comment.objects.filter(article=article)[:20]:
        Comment.objects.create(
            article=article, parent=thread, depth=1, body="Reply.", author_name="R", anchor=""
        )
    assert post_as_new_writer(2) == few


# --- Page links after "Load more" ---------------------------------------------------------


def pages_nav(html):
    return element(html, "#comment-pages nav.pagination")


@pytest.mark.parametrize("sort", ["newest", "oldest", "helpful", "discussed", "both"])
def test_page_links_say_previous_and_next_in_every_order(client, article, sort):
    add_threads(article, 45)

    html = client.get(article.get_absolute_url(), {"sort": sort, "page": 2})

    nav = pages_nav(html)
    assert [text(link) for link in elements(nav, "a")] == ["Previous page", "Next page"]
    assert text(element(nav, ".pagination__current")) == "Page 2 of 3"


def test_after_load_more_the_page_links_say_what_is_on_screen(client, htmx, article):
    threads = add_threads(article, 45)
    first = client.get(article.get_absolute_url())
    load_more = element(first, "#comment-pages .load-more")

    second = htmx.get(load_more["hx-get"])

    nav = pages_nav(second)
    assert text(element(nav, ".pagination__current")) == "Pages 1–2 of 3"
    assert [text(link) for link in elements(nav, "a")] == ["Next page"]
    next_href = element(nav, "a[rel=next]")["href"]
    assert top_level_ids(client.get(next_href)) == [thread.pk for thread in threads[40:]]

    third = htmx.get(element(second, "#comment-pages .load-more")["hx-get"])
    assert appended_ids(third) == [thread.pk for thread in threads[40:]]
    assert text(element(pages_nav(third), ".pagination__current")) == "Pages 1–3 of 3"
    assert not elements(third, "#comment-pages .load-more")


def test_load_more_from_a_later_page_says_which_pages_are_on_screen(client, htmx, article):
    threads = add_threads(article, 65)
    second = client.get(article.get_absolute_url(), {"page": 2})
    load_more = element(second, "#comment-pages .load-more")

    third = htmx.get(load_more["hx-get"])

    assert appended_ids(third) == [thread.pk for thread in threads[40:60]]
    nav = pages_nav(third)
    assert text(element(nav, ".pagination__current")) == "Pages 2–3 of 4"
    previous = element(nav, "a[rel=prev]")
    assert text(previous) == "Previous page"
    assert top_level_ids(client.get(previous["href"])) == [thread.pk for thread in threads[:20]]
    following = client.get(element(nav, "a[rel=next]")["href"])
    assert top_level_ids(following) == [thread.pk for thread in threads[60:]]
    assert text(element(pages_nav(following), ".pagination__current")) == "Page 4 of 4"


# --- A stance nobody speaks for -------------------------------------------------------------


def test_a_stance_with_no_comments_is_plain_text_not_a_link(client, article, choices, add_comment):
    add_comment(article, stance_choice=choices["yes"])

    html = client.get(article.get_absolute_url())

    assert stance_chips(html) == ["Yes: 1 comment", "A city niche: 0 comments", "No: 0 comments"]
    links = elements(html, "#stance-split a")
    assert [text(link) for link in links] == ["Yes: 1 comment"]
    assert links[0]["href"] == f"{article.get_absolute_url()}?stance={choices['yes'].pk}#comments"
