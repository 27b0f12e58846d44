"""A signed-in reader's "My activity" page: their comments, with status and replies."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment
from evsite.middleware import PERMISSIONS_POLICY
from tests.conftest import element, elements, text

ACTIVITY = "/accounts/activity/"


@pytest.fixture
def signed_in(client, reader):
    client.force_login(reader)
    return client


def items(page):
    return elements(page, 'article[id^="activity-"]')


def test_the_page_lives_at_its_address():
    assert reverse("account_activity") == ACTIVITY


def test_guests_are_sent_to_log_in(client):
    response = client.get(ACTIVITY)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={ACTIVITY}"


def test_own_comments_with_their_status_in_words_and_replies(
    signed_in, reader, make_user, article, add_comment
):
    approved = add_comment(article, "My approved words", user=reader, minutes_ago=50)
    add_comment(article, "My pending words", user=reader, minutes_ago=40, status="pending")
    add_comment(article, "My spam-held words", user=reader, minutes_ago=35, status="spam")
    add_comment(article, "My removed words", user=reader, minutes_ago=30, status="rejected")
    add_comment(article, "My deleted words", user=reader, minutes_ago=20, deleted_at=timezone.now())
    other = make_user("other")
    add_comment(article, "Someone else's comment", user=other)
    add_comment(article, "A reply to me", parent=approved, author_name="Bea", minutes_ago=10)
    add_comment(article, "A removed reply", parent=approved, minutes_ago=9, status="rejected")
    add_comment(article, "A waiting reply", parent=approved, minutes_ago=8, status="pending")
    add_comment(article, "A deleted reply", parent=approved, deleted_at=timezone.now())

    page = signed_in.get(ACTIVITY)

    assert page.status_code == 200
    assert "no-cache" in page["Cache-Control"]
    shown = {
        text(element(item, ".comment__body")): [text(s) for s in elements(item, ".comment__status")]
        for item in items(page)
    }
    assert shown == {
        "My deleted words": ["Approved", "Deleted by you"],
        "My removed words": ["Removed by a moderator"],
        "My spam-held words": ["Pending moderation"],
        "My pending words": ["Pending moderation"],
        "My approved words": ["Approved"],
    }
    replies = element(page, f"#activity-{approved.pk} ~ ol.replies")
    assert [text(body) for body in elements(replies, ".comment__body")] == ["A reply to me"]
    assert "Bea" in text(replies)
    assert "Someone else" not in page.content.decode()
    # Only comments the discussion shows have a link to it, and each link works.
    listed = element(page, f"#activity-{approved.pk}")
    assert element(listed, "a.comment__action")["href"] == approved.get_absolute_url()
    deleted = Comment.objects.get(body="My deleted words")
    assert not elements(element(page, f"#activity-{deleted.pk}"), "a.comment__action")
    for link in elements(page, "a.comment__action"):
        assert signed_in.get(link["href"], follow=True).status_code == 200, link["href"]


def test_own_held_replies_are_shown_as_pending(signed_in, reader, article, add_comment):
    mine = add_comment(article, "Mine", user=reader)
    add_comment(article, "My own follow-up", parent=mine, user=reader, status="pending")

    page = signed_in.get(ACTIVITY)

    replies = element(page, f"#activity-{mine.pk} ~ ol.replies")
    assert "Pending moderation" in text(replies)
    assert "My own follow-up" in text(replies)


def test_comments_are_paged_twenty_at_a_time_newest_first(signed_in, reader, article):
    now = timezone.now()
    Comment.objects.bulk_create(
        Comment(
            article=article,
            user=reader,
            author_name="reader",
            body=f"Comment number {n}",
            created_at=now - timedelta(minutes=n),
        )
        for n in range(25)
    )

    first = signed_in.get(ACTIVITY)
    second = signed_in.get(f"{ACTIVITY}?page=2")
    beyond = signed_in.get(f"{ACTIVITY}?page=99")

    first_bodies = [text(element(item, ".comment__body")) for item in items(first)]
    assert first_bodies == [f"Comment number {n}" for n in range(20)]
    second_bodies = [text(element(item, ".comment__body")) for item in items(second)]
    assert second_bodies == [f"Comment number {n}" for n in range(20, 25)]
    assert "Page 1 of 2" in text(element(first, "nav.pagination"))
    assert element(first, 'a[rel="next"]')["href"] == "?page=2"
    assert element(second, 'a[rel="prev"]')["href"] == "?page=1"
    assert len(items(beyond)) == 5
    assert "(25)" in text(element(first, "#my-comments-heading"))


def test_replies_to_a_comment_at_the_deepest_level_are_shown_under_it(
    signed_in, reader, article, add_comment
):
    top = add_comment(article, "Top")
    middle = add_comment(article, "Middle", parent=top, author_name="Mid")
    mine = add_comment(article, "My deepest words", parent=middle, user=reader)
    # Threads nest three deep: a reply to the deepest level is stored beside what it
    # answers, and names it first (services.comment_create).
    add_comment(article, f"@{mine.author_name} I agree.", parent=middle, author_name="Bea")
    add_comment(article, "A reply to Mid, not to me.", parent=middle, author_name="Cy")

    page = signed_in.get(ACTIVITY)

    replies = element(page, f"#activity-{mine.pk} ~ ol.replies")
    assert [text(body) for body in elements(replies, ".comment__body")] == [
        f"@{mine.author_name} I agree."
    ]


def test_the_page_costs_the_same_queries_however_many_comments_and_replies(
    signed_in, reader, article, add_comment, django_assert_num_queries
):
    def add(count):
        for n in range(count):
            mine = add_comment(article, f"Mine {n}", user=reader)
            add_comment(article, f"Reply {n}", parent=mine)
            add_comment(article, f"Another reply {n}", parent=mine)

    add(2)
    with CaptureQueriesContext(connection) as few:
        signed_in.get(ACTIVITY)
    add(30)
    with django_assert_num_queries(len(few)):
        page = signed_in.get(ACTIVITY)
    assert len(items(page)) == 20
    assert len(few) <= 8


def test_a_reader_with_no_comments_is_told_so(signed_in):
    page = signed_in.get(ACTIVITY)

    assert "You have not commented yet" in page.content.decode()


def test_the_account_area_links_to_the_page(signed_in, article):
    for url in (article.get_absolute_url(), reverse("account_data")):
        page = signed_in.get(url)
        assert elements(page, f'a[href="{ACTIVITY}"]'), url


def test_a_reader_stops_all_reply_emails_from_the_page(signed_in, reader, article, add_comment):
    reader.email = "reader@example.com"
    reader.save()
    asking = [add_comment(article, user=reader, notify_replies=True) for _ in range(2)]
    someone_else = add_comment(article, notify_replies=True, email="x@example.com")

    page = signed_in.get(ACTIVITY)
    assert "replies to 2 of your comments" in text(element(page, "main"))
    form = element(page, 'form[action="/accounts/activity/reply-emails/stop/"]')
    assert elements(form, 'input[name="csrfmiddlewaretoken"]')

    response = signed_in.post(form["action"], follow=True)

    assert response.redirect_chain[-1][0] == ACTIVITY
    assert "Reply emails are off" in response.content.decode()
    assert "You get no reply emails" in response.content.decode()
    assert not Comment.objects.filter(pk__in=[c.pk for c in asking], notify_replies=True)
    someone_else.refresh_from_db()
    assert someone_else.notify_replies


def test_stopping_reply_emails_needs_a_post_by_a_signed_in_reader(client, signed_in):
    assert signed_in.get("/accounts/activity/reply-emails/stop/").status_code == 405
    client.logout()
    response = client.post("/accounts/activity/reply-emails/stop/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_new_pages_carry_the_security_headers(signed_in, article):
    for url in (
        ACTIVITY,
        "/accounts/unsubscribe/not-a-token/",
        reverse("feed_articles"),
        reverse("feed_article_comments", kwargs={"slug": article.slug}),
    ):
        response = signed_in.get(url)
        assert "Content-Security-Policy" in response, url
        assert response["Permissions-Policy"] == PERMISSIONS_POLICY, url
