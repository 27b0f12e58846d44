import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from tests.conftest import element, elements, first_element, text


def bulk_threads(article, count, *, replies_each=0):
    now = timezone.now()
    tops = Comment.objects.bulk_create(
        Comment(
            article=article,
            author_name=f"Reader {number}",
            reader_token="other-reader",
            body=f"Thread number {number}",
            created_at=now - timedelta(minutes=number),
            helpful_count=number % 7,
            reply_count=replies_each,
        )
        for number in range(count)
    )
    Comment.objects.bulk_create(
        Comment(
            article=article,
            parent=top,
            depth=1,
            author_name="Replier",
            reader_token="other-reader",
            body=f"Reply {index} to {top.body}",
            created_at=now,
        )
        for top in tops
        for index in range(replies_each)
    )
    return tops


def pks(comments):
    return [int(comment["id"].removeprefix("c-")) for comment in comments]


def comment_ids(html):
    return pks(elements(html, 'article[id^="c-"]'))


def top_level_ids(html):
    return pks(elements(html, '#comments > li.comment-thread > article[id^="c-"]'))


def test_heading_counts_the_comments(client, article, add_comment):
    top = add_comment(article)
    add_comment(article, parent=top)
    add_comment(article, status=Comment.Status.PENDING)
    html = client.get(article.get_absolute_url()).content.decode()
    assert text(element(html, "#comment-count")) == "(2)"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["new", "middle", "old"]),
        ("oldest", ["old", "middle", "new"]),
        ("helpful", ["middle", "old", "new"]),
        ("discussed", ["old", "new", "middle"]),
        ("nonsense", ["new", "middle", "old"]),
    ],
)
def test_sorting(client, htmx, article, sort, expected, add_comment):
    comments = {
        "old": add_comment(article, minutes_ago=30, helpful_count=2, reply_count=5),
        "middle": add_comment(article, minutes_ago=20, helpful_count=9),
        "new": add_comment(article, minutes_ago=10, reply_count=1),
    }
    names = {comment.pk: name for name, comment in comments.items()}

    page = client.get(article.get_absolute_url(), {"sort": sort}).content.decode()
    fragment = htmx.get(
        reverse("comments:list", kwargs={"slug": article.slug}), {"sort": sort}
    ).content.decode()

    assert [names[pk] for pk in top_level_ids(page)] == expected
    assert [names[pk] for pk in top_level_ids(fragment)] == expected
    assert "<html" not in fragment
    assert elements(fragment, "#comment-threads")


def test_list_url_without_htmx_goes_to_the_article_page(client, article):
    url = reverse("comments:list", kwargs={"slug": article.slug})
    response = client.get(url, {"sort": "oldest"})
    assert response.status_code == 302
    assert response["Location"] == f"{article.get_absolute_url()}?sort=oldest#comments"


def test_twenty_threads_a_page_with_page_links_and_load_more(client, htmx, article):
    tops = bulk_threads(article, 45)

    first = client.get(article.get_absolute_url()).content.decode()
    assert top_level_ids(first) == [top.pk for top in tops[:20]]
    assert "Page 1 of 3" in first
    more_url = reverse("comments:more", kwargs={"slug": article.slug})
    upto = max(top.pk for top in tops)
    assert elements(
        first,
        f'[hx-get="{more_url}?page=2&upto={upto}&sort=newest"][hx-target="#comments"]'
        '[hx-swap="beforeend"]',
    )
    assert elements(
        first, f'[href="{article.get_absolute_url()}?page=2&upto={upto}&sort=newest#comments"]'
    )

    second = client.get(article.get_absolute_url(), {"page": 2}).content.decode()
    assert top_level_ids(second) == [top.pk for top in tops[20:40]]

    more = htmx.get(more_url, {"page": 3})
    html = more.content.decode()
    assert "<html" not in html
    assert comment_ids(html) == [top.pk for top in tops[40:]]
    assert element(html, "#comment-pages")["hx-swap-oob"] == "true"
    assert "Load more" not in html  # that was the last page


def test_load_more_keeps_the_chosen_order(client, htmx, article):
    tops = bulk_threads(article, 25)
    more_url = reverse("comments:more", kwargs={"slug": article.slug})
    page = client.get(article.get_absolute_url(), {"sort": "oldest"}).content.decode()
    upto = max(top.pk for top in tops)
    assert elements(page, f'[hx-get="{more_url}?sort=oldest&page=2&upto={upto}"]')

    html = htmx.get(more_url, {"sort": "oldest", "page": 2}).content.decode()
    assert comment_ids(html) == [top.pk for top in reversed(tops)][20:]


def test_comments_posted_meanwhile_do_not_repeat_a_thread_on_the_next_page(
    client, htmx, article, add_comment
):
    tops = bulk_threads(article, 25)
    first = client.get(article.get_absolute_url()).content.decode()
    shown = top_level_ids(first)
    upto = max(top.pk for top in tops)
    add_comment(article, body="Posted after the page was shown")

    more = htmx.get(
        reverse("comments:more", kwargs={"slug": article.slug}), {"page": 2, "upto": upto}
    ).content.decode()

    assert comment_ids(more) == [top.pk for top in tops[20:]]
    assert not set(shown) & set(comment_ids(more))


def test_out_of_range_page_shows_the_last_page(client, article):
    tops = bulk_threads(article, 21)
    html = client.get(article.get_absolute_url(), {"page": "99"}).content.decode()
    assert top_level_ids(html) == [tops[-1].pk]
    assert client.get(article.get_absolute_url(), {"page": "abc"}).status_code == 200


def test_load_more_past_the_last_page_adds_no_thread_again(htmx, article):
    tops = bulk_threads(article, 21)
    upto = max(top.pk for top in tops)
    # A thread of the first page is hidden after the reader loaded it: one page is left.
    Comment.objects.filter(pk=tops[0].pk).update(status=Comment.Status.REJECTED)

    more = htmx.get(
        reverse("comments:more", kwargs={"slug": article.slug}), {"page": 2, "upto": upto}
    )

    assert more.status_code == 200
    html = more.content.decode()
    assert comment_ids(html) == []
    assert "Load more" not in html
    assert json.loads(more["HX-Trigger-After-Settle"])["evr:announce"] == {
        "message": "No more comments to load."
    }


def test_new_comment_poll(htmx, article, add_comment):
    first = add_comment(article)
    url = reverse("comments:new", kwargs={"slug": article.slug})

    assert htmx.get(url, {"since": first.pk, "known": 0}).status_code == 204

    add_comment(article, body="Another reader's comment")
    add_comment(article, body="And another")
    response = htmx.get(url, {"since": first.pk, "known": 0})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 new comments — show" in html
    assert elements(html, f'[hx-get*="since={first.pk}&known=2"]')
    # Nothing changed since the last poll: nothing to swap.
    assert htmx.get(url, {"since": first.pk, "known": 2}).status_code == 204
    assert htmx.get(url, {"since": "x"}).status_code == 400


def test_new_comment_poll_ignores_the_readers_own_comments(htmx, article, reader, add_comment):
    htmx.force_login(reader)
    first = add_comment(article)
    add_comment(article, user=reader, reader_token="")
    url = reverse("comments:new", kwargs={"slug": article.slug})
    assert htmx.get(url, {"since": first.pk, "known": 0}).status_code == 204


def test_page_polls_for_new_comments_every_20_seconds(client, article, add_comment):
    latest = add_comment(article)
    html = client.get(article.get_absolute_url()).content.decode()
    url = reverse("comments:new", kwargs={"slug": article.slug})
    assert elements(html, f'[hx-get="{url}?since={latest.pk}&known=0"][hx-trigger="every 20s"]')


def test_show_new_comments_switches_to_newest_and_updates_the_controls(htmx, article, add_comment):
    old = add_comment(article, minutes_ago=5)
    new = add_comment(article)
    url = reverse("comments:list", kwargs={"slug": article.slug})
    response = htmx.get(url, {"sort": "newest"}, headers={"HX-Trigger": "show-new-comments"})
    html = response.content.decode()
    assert top_level_ids(html) == [new.pk, old.pk]
    assert element(html, "form#comment-controls")["hx-swap-oob"] == "true"
    announced = json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]
    assert announced["focus"] == f"#c-{new.pk}"


def test_permalink_lands_on_the_right_page(client, article):
    tops = bulk_threads(article, 45, replies_each=1)
    reply_on_page_3 = Comment.objects.get(parent=tops[41])

    response = client.get(reply_on_page_3.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"] == f"{article.get_absolute_url()}?page=3#c-{reply_on_page_3.pk}"
    page = client.get(response["Location"]).content.decode()
    assert elements(page, f"#c-{reply_on_page_3.pk}")
    first = client.get(tops[0].get_absolute_url())
    assert first["Location"] == f"{article.get_absolute_url()}#c-{tops[0].pk}"


def test_permalink_with_htmx_returns_the_comment(htmx, article, add_comment):
    comment = add_comment(article)
    shown = first_element(htmx.get(comment.get_absolute_url()))
    assert (shown.name, shown["id"]) == ("article", f"c-{comment.pk}")


def test_permalink_of_an_unknown_or_hidden_comment_is_not_found(client, article, add_comment):
    held = add_comment(article, status=Comment.Status.PENDING)
    assert client.get(held.get_absolute_url()).status_code == 404
    assert client.get(reverse("comments:permalink", kwargs={"pk": 999999})).status_code == 404


@pytest.fixture
def moderator(make_user):
    user = make_user("moderator", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_comment"))
    return user


def test_held_comments_show_to_their_author_and_moderators_only(
    client, article, moderator, make_client, add_comment
):
    token = "author-token"
    author = make_client(token=token)
    pending = add_comment(
        article, body="Waiting", status=Comment.Status.PENDING, reader_token=token
    )
    spam = add_comment(article, body="Spammy", status=Comment.Status.SPAM, reader_token=token)
    rejected = add_comment(
        article, body="Rejected", status=Comment.Status.REJECTED, reader_token=token
    )

    as_author = author.get(article.get_absolute_url()).content.decode()
    assert comment_ids(as_author) == [rejected.pk, spam.pk, pending.pk]
    assert as_author.count("Awaiting moderation") == 2
    assert "A moderator removed this comment" in as_author  # that it was, never why

    assert comment_ids(client.get(article.get_absolute_url()).content.decode()) == []

    client.force_login(moderator)
    as_moderator = client.get(article.get_absolute_url()).content.decode()
    assert comment_ids(as_moderator) == [rejected.pk, spam.pk, pending.pk]
    assert "Rejected" in [text(status) for status in elements(as_moderator, ".comment__status")]


def test_staff_without_the_moderation_permission_see_only_approved(
    client, article, make_user, add_comment
):
    add_comment(article, status=Comment.Status.PENDING)
    client.force_login(make_user("editor", is_staff=True))
    assert comment_ids(client.get(article.get_absolute_url()).content.decode()) == []


def test_deleted_comment_with_replies_stays_as_deleted(client, article, add_comment):
    parent = add_comment(article, body="Soon gone", author_name="Leaver")
    child = add_comment(article, parent=parent, body="A reply that stays")
    lonely = add_comment(article, body="Gone without a trace")
    Comment.objects.filter(pk__in=[parent.pk, lonely.pk]).update(deleted_at=timezone.now())

    html = client.get(article.get_absolute_url()).content.decode()

    assert comment_ids(html) == [parent.pk, child.pk]
    assert "[deleted]" in html
    assert "Soon gone" not in html
    assert "Leaver" not in html
    assert "Gone without a trace" not in html


def test_deleted_chain_is_kept_while_a_grandchild_lives(client, article, add_comment):
    top = add_comment(article)
    middle = add_comment(article, parent=top)
    bottom = add_comment(article, parent=middle, body="Still here")
    Comment.objects.filter(pk__in=[top.pk, middle.pk]).update(deleted_at=timezone.now())
    html = client.get(article.get_absolute_url()).content.decode()
    assert comment_ids(html) == [top.pk, middle.pk, bottom.pk]


def capture_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("signed_in", [False, True])
def test_page_of_threads_costs_the_same_queries_at_20_and_2000_comments(
    client, htmx, make_article, reader, signed_in, django_assert_max_num_queries
):
    if signed_in:
        client.force_login(reader)
    small, large = make_article(), make_article()
    bulk_threads(small, 10, replies_each=1)  # 20 comments
    bulk_threads(large, 1000, replies_each=1)  # 2,000 comments

    counts = {}
    for article in (small, large):
        list_url = reverse("comments:list", kwargs={"slug": article.slug})
        # Cold caches: the car model names that comments link (once per content version).
        with django_assert_max_num_queries(9):
            htmx.get(list_url)
        counts[article.pk] = (
            capture_queries(htmx, list_url),
            capture_queries(client, article.get_absolute_url()),
        )

    assert counts[small.pk] == counts[large.pk]
