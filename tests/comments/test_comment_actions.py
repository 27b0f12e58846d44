import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from comments.forms import form_stamp
from comments.models import Comment, CommentReport, HelpfulMark, Poll, PollChoice, Vote
from tests.comments.factories import add_comment as add

HTMX = {"HTTP_HX_REQUEST": "true"}
BADGE = '<span class="stance-badge">Voted: Yes</span>'


@pytest.fixture
def article(make_article):
    return make_article()


def guest_client(token, address="127.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    session = client.session
    session["evr_reader_token"] = token
    session.save()
    return client


def url(name, comment):
    return reverse(f"comments:{name}", kwargs={"pk": comment.pk})


# Editing


def test_author_edits_with_htmx_and_the_comment_shows_edited(client, article, reader):
    comment = add(article, user=reader, body="Tpyo here")
    client.force_login(reader)

    form = client.get(url("edit", comment), **HTMX).content.decode()
    assert f'id="edit-form-{comment.pk}"' in form
    assert ">\nTpyo here</textarea>" in form

    response = client.post(url("edit", comment), {"body": "Typo fixed"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<article id="c-{comment.pk}"')
    assert "Typo fixed" in html
    assert '<span class="comment__edited">edited</span>' in html
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at is not None) == ("Typo fixed", True)


def test_edit_without_js_redirects_to_the_comment(client, article, reader):
    comment = add(article, user=reader)
    client.force_login(reader)
    assert "<html" in client.get(url("edit", comment)).content.decode()
    response = client.post(url("edit", comment), {"body": "Better words"})
    assert response.status_code == 302
    assert response["Location"] == comment.get_absolute_url()


def test_saving_the_same_words_does_not_mark_the_comment_edited(client, article, reader):
    comment = add(article, user=reader, body="Nothing to fix")
    client.force_login(reader)

    response = client.post(url("edit", comment), {"body": "Nothing to fix"}, **HTMX)

    assert response.status_code == 200
    assert "comment__edited" not in response.content.decode()
    comment.refresh_from_db()
    assert comment.edited_at is None


def test_invalid_edit_keeps_the_text(client, article, reader):
    comment = add(article, user=reader)
    client.force_login(reader)
    response = client.post(url("edit", comment), {"body": "x"}, **HTMX)
    assert response.status_code == 422
    assert ">\nx</textarea>" in response.content.decode()
    comment.refresh_from_db()
    assert comment.body == "A comment."


def test_edit_window_closes(client, article, reader, settings):
    settings.EVR_COMMENT_EDIT_MINUTES = 15
    comment = add(article, user=reader, created_at=timezone.now() - timedelta(minutes=14))
    client.force_login(reader)
    assert client.get(url("edit", comment)).status_code == 200
    assert (
        f'href="{url("edit", comment)}"' in client.get(article.get_absolute_url()).content.decode()
    )

    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(minutes=16))

    assert (
        f'href="{url("edit", comment)}"'
        not in client.get(article.get_absolute_url()).content.decode()
    )
    response = client.post(url("edit", comment), {"body": "Too late"}, **HTMX)
    assert response.status_code == 403
    assert "first 15 minutes" in response.content.decode()
    assert response["HX-Retarget"] == f"#c-{comment.pk}-slot"
    comment.refresh_from_db()
    assert comment.body == "A comment."


def test_edit_that_adds_links_is_held_for_moderation(client, article, reader):
    comment = add(article, user=reader)
    client.force_login(reader)
    client.post(
        url("edit", comment), {"body": "http://a.example http://b.example http://c.example"}
    )
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


@pytest.mark.parametrize("action", ["edit", "delete", "stance"])
def test_nobody_changes_another_readers_comment(client, article, reader, make_user, action):
    comment = add(article, user=make_user("author"))
    client.force_login(reader)
    response = client.post(url(action, comment), {"body": "Hijacked"})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert (comment.body, comment.deleted_at, comment.show_stance) == ("A comment.", None, True)


def test_guests_cannot_change_signed_in_readers_comments(article, reader):
    comment = add(article, user=reader)
    assert Client().post(url("delete", comment)).status_code == 403


# Deleting


def test_guest_deletes_their_own_comment_any_time(article):
    comment = add(article, reader_token="guest-1", created_at=timezone.now() - timedelta(days=30))
    client = guest_client("guest-1")

    confirm = client.get(url("delete", comment))
    assert "Delete your comment?" in confirm.content.decode()

    response = client.post(url("delete", comment), **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "[deleted]" in html
    assert '<span id="comment-count" class="comment-count" hx-swap-oob="true">(0)</span>' in html
    comment.refresh_from_db()
    assert comment.deleted_at is not None
    assert Comment.objects.filter(pk=comment.pk).exists()  # soft delete
    assert f'id="c-{comment.pk}"' not in client.get(article.get_absolute_url()).content.decode()


def test_delete_without_js_redirects_to_the_discussion(article):
    comment = add(article, reader_token="guest-1")
    response = guest_client("guest-1").post(url("delete", comment))
    assert response.status_code == 302
    assert response["Location"] == f"{article.get_absolute_url()}#comments"


# Helpful marks


def test_helpful_toggles_once_per_reader(client, article, reader):
    comment = add(article)
    client.force_login(reader)

    marked = client.post(url("helpful", comment), **HTMX)
    assert marked.status_code == 200
    assert 'aria-pressed="true"' in marked.content.decode()
    assert '<span class="helpful__count">1</span>' in marked.content.decode()

    guest = guest_client("guest-2")
    guest.post(url("helpful", comment), **HTMX)
    comment.refresh_from_db()
    assert comment.helpful_count == 2

    unmarked = client.post(url("helpful", comment), **HTMX)
    assert 'aria-pressed="false"' in unmarked.content.decode()
    comment.refresh_from_db()
    assert comment.helpful_count == 1
    assert HelpfulMark.objects.get().reader_token == "guest-2"


def test_helpful_without_js_redirects_back(client, article):
    comment = add(article)
    response = client.post(url("helpful", comment))
    assert response.status_code == 302
    assert response["Location"] == comment.get_absolute_url()
    comment.refresh_from_db()
    assert comment.helpful_count == 1


def test_own_comment_cannot_be_marked_helpful(article):
    comment = add(article, reader_token="guest-1")
    response = guest_client("guest-1").post(url("helpful", comment), **HTMX)
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.helpful_count == 0


# Reports


def test_report_needs_a_reason(client, article):
    comment = add(article)
    form = client.get(url("report", comment), **HTMX).content.decode()
    assert f'id="report-form-{comment.pk}"' in form
    assert "Spam or advertising" in form

    response = client.post(url("report", comment), {"note": "hm"}, **HTMX)

    assert response.status_code == 422
    assert "Choose a reason." in response.content.decode()
    assert not CommentReport.objects.exists()


def test_one_address_cannot_hide_a_comment_by_clearing_cookies(article, settings):
    settings.EVR_REPORTS_TO_HIDE = 2
    comment = add(article)
    for token in ("fresh-session-1", "fresh-session-2", "fresh-session-3"):
        response = guest_client(token, "198.51.100.4").post(
            url("report", comment), {"reason": "spam"}, **HTMX
        )
        assert response.status_code == 200

    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED
    assert (comment.report_count, comment.reports.count()) == (1, 3)
    assert "198.51.100.4" not in {report.ip_hash for report in comment.reports.all()}

    guest_client("elsewhere", "203.0.113.8").post(url("report", comment), {"reason": "spam"})
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


def test_reports_from_distinct_readers_hide_the_comment(article, settings):
    settings.EVR_REPORTS_TO_HIDE = 3
    comment = add(article)

    first = guest_client("r-1", "192.0.2.1")
    assert first.post(url("report", comment), {"reason": "spam"}, **HTMX).status_code == 200
    again = first.post(url("report", comment), {"reason": "abuse"}, **HTMX)
    assert again.status_code == 409
    assert "already reported" in again.content.decode()
    guest_client("r-2", "192.0.2.2").post(url("report", comment), {"reason": "abuse"}, **HTMX)
    comment.refresh_from_db()
    assert (comment.status, comment.report_count) == (Comment.Status.APPROVED, 2)

    guest_client("r-3", "192.0.2.3").post(
        url("report", comment), {"reason": "off_topic", "note": "Ads"}
    )

    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    assert comment.report_count == 3
    assert "3 reader reports" in comment.hold_reason
    assert f'id="c-{comment.pk}"' not in Client().get(article.get_absolute_url()).content.decode()


def test_after_a_moderator_approves_only_new_reports_count(article, settings, staff_user):
    settings.EVR_REPORTS_TO_HIDE = 2
    comment = add(article)
    for number in (1, 2):
        guest_client(f"r-{number}", f"192.0.2.{number}").post(
            url("report", comment), {"reason": "spam"}, **HTMX
        )
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING

    moderator = Client()
    moderator.force_login(staff_user)
    moderator.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "approve", "_selected_action": [comment.pk]},
    )
    comment.refresh_from_db()
    assert (comment.status, comment.report_count) == (Comment.Status.APPROVED, 0)

    guest_client("r-3", "192.0.2.3").post(url("report", comment), {"reason": "abuse"}, **HTMX)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED, "one new report must not re-hide it"
    guest_client("r-4", "192.0.2.4").post(url("report", comment), {"reason": "abuse"}, **HTMX)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    assert comment.reports.count() == 4


def test_own_comment_cannot_be_reported(article):
    comment = add(article, reader_token="guest-1")
    response = guest_client("guest-1").post(url("report", comment), {"reason": "spam"})
    assert response.status_code == 403


# Poll stance


@pytest.fixture
def poll(article):
    poll = Poll.objects.create(article=article, question="Will small EVs sell?")
    PollChoice.objects.bulk_create(
        [
            PollChoice(poll=poll, label="Yes", position=1),
            PollChoice(poll=poll, label="No", position=2),
        ]
    )
    return poll


def post(client, article, body):

    return client.post(
        reverse("comments:create", kwargs={"slug": article.slug}),
        {"author_name": "Voter", "body": body, "rendered_at": form_stamp(time.time() - 10)},
        **HTMX,
    )


def test_comment_carries_the_authors_vote_and_shows_a_changed_view(client, article, poll, reader):
    yes, no = poll.choices.all()
    vote = Vote.objects.create(poll=poll, choice=yes, user=reader)
    client.force_login(reader)

    html = post(client, article, "I voted yes.").content.decode()

    comment = Comment.objects.get()
    assert comment.stance_choice == yes
    assert BADGE in html
    assert "changed view" not in html

    vote.choice = no
    vote.save()
    page = Client().get(article.get_absolute_url()).content.decode()
    assert BADGE in page
    assert "changed view" in page


def test_guest_stance_comes_from_their_session_vote(article, poll):
    yes = poll.choices.first()
    Vote.objects.create(poll=poll, choice=yes, reader_token="guest-v")
    post(guest_client("guest-v"), article, "Guest with a vote.")
    assert Comment.objects.get().stance_choice == yes
    post(guest_client("guest-w"), article, "Guest without a vote.")
    assert Comment.objects.latest("pk").stance_choice is None


def test_author_hides_and_shows_their_stance_badge(client, article, poll, reader):
    yes = poll.choices.first()
    comment = add(article, user=reader, stance_choice=yes)
    client.force_login(reader)

    hidden = client.post(url("stance", comment), **HTMX)
    assert BADGE not in hidden.content.decode()
    assert "Show my vote" in hidden.content.decode()
    assert BADGE not in Client().get(article.get_absolute_url()).content.decode()

    shown = client.post(url("stance", comment), **HTMX)
    assert BADGE in shown.content.decode()


def test_filter_by_stance(client, article, poll):
    yes, no = poll.choices.all()
    add(article, body="Yes voter", stance_choice=yes)
    add(article, body="No voter", stance_choice=no)
    add(article, body="Hidden yes voter", stance_choice=yes, show_stance=False)
    add(article, body="Did not vote")

    html = client.get(article.get_absolute_url(), {"stance": yes.pk}).content.decode()
    listing = html.split('id="comments"')[1]
    assert "Yes voter" in listing
    assert "No voter" not in listing
    assert "Hidden yes voter" not in listing
    assert "Did not vote" not in listing
    assert f'<option value="{yes.pk}" selected>Voted: Yes</option>' in html

    everything = client.get(article.get_absolute_url(), {"stance": "junk"}).content.decode()
    assert "Did not vote" in everything


def test_announcements_tell_screen_readers_what_happened(client, article, reader):
    comment = add(article, user=reader)
    client.force_login(reader)
    response = client.post(url("delete", comment), **HTMX)
    detail = json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]
    assert detail == {"message": "Your comment was deleted.", "focus": f"#c-{comment.pk}"}
