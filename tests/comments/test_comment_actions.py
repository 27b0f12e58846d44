import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, CommentReport, HelpfulMark
from tests.conftest import element, elements, first_element, post_comment, text


def url(name, comment):
    return reverse(f"comments:{name}", kwargs={"pk": comment.pk})


# Editing


def test_author_edits_with_htmx_and_the_comment_shows_edited(htmx, article, reader, add_comment):
    comment = add_comment(article, user=reader, body="Tpyo here")
    htmx.force_login(reader)

    form = htmx.get(url("edit", comment))
    assert elements(form, f"#edit-form-{comment.pk}")
    assert text(element(form, 'textarea[name="body"]')) == "Tpyo here"

    response = htmx.post(url("edit", comment), {"body": "Typo fixed"})

    assert response.status_code == 200
    html = response.content.decode()
    shown = first_element(html)
    assert (shown.name, shown["id"]) == ("article", f"c-{comment.pk}")
    assert "Typo fixed" in html
    assert text(element(html, ".comment__edited")) == "edited"
    comment.refresh_from_db()
    assert (comment.body, comment.edited_at is not None) == ("Typo fixed", True)


def test_edit_without_js_redirects_to_the_comment(client, article, reader, add_comment):
    comment = add_comment(article, user=reader)
    client.force_login(reader)
    assert "<html" in client.get(url("edit", comment)).content.decode()
    response = client.post(url("edit", comment), {"body": "Better words"})
    assert response.status_code == 302
    assert response["Location"] == comment.get_absolute_url()


def test_saving_the_same_words_does_not_mark_the_comment_edited(htmx, article, reader, add_comment):
    comment = add_comment(article, user=reader, body="Nothing to fix")
    htmx.force_login(reader)

    response = htmx.post(url("edit", comment), {"body": "Nothing to fix"})

    assert response.status_code == 200
    assert not elements(response, ".comment__edited")
    comment.refresh_from_db()
    assert comment.edited_at is None


def test_invalid_edit_keeps_the_text(htmx, article, reader, add_comment):
    comment = add_comment(article, user=reader)
    htmx.force_login(reader)
    response = htmx.post(url("edit", comment), {"body": "x"})
    assert response.status_code == 422
    assert text(element(response, 'textarea[name="body"]')) == "x"
    comment.refresh_from_db()
    assert comment.body == "A comment."


def test_edit_window_closes(client, htmx, article, reader, settings, add_comment):
    settings.EVR_COMMENT_EDIT_MINUTES = 15
    comment = add_comment(article, user=reader, created_at=timezone.now() - timedelta(minutes=14))
    edit_link = f'[href="{url("edit", comment)}"]'
    client.force_login(reader)
    assert client.get(url("edit", comment)).status_code == 200
    assert elements(client.get(article.get_absolute_url()), edit_link)

    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(minutes=16))

    assert not elements(client.get(article.get_absolute_url()), edit_link)
    response = htmx.post(url("edit", comment), {"body": "Too late"})
    assert response.status_code == 403
    assert "first 15 minutes" in response.content.decode()
    assert response["HX-Retarget"] == f"#c-{comment.pk}-slot"
    comment.refresh_from_db()
    assert comment.body == "A comment."


def test_edit_that_adds_links_is_held_for_moderation(client, article, reader, add_comment):
    comment = add_comment(article, user=reader)
    client.force_login(reader)
    client.post(
        url("edit", comment), {"body": "http://a.example http://b.example http://c.example"}
    )
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


@pytest.mark.parametrize("action", ["edit", "delete", "stance"])
def test_nobody_changes_another_readers_comment(
    client, article, reader, make_user, add_comment, action
):
    comment = add_comment(article, user=make_user("author"))
    client.force_login(reader)
    response = client.post(url(action, comment), {"body": "Hijacked"})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert (comment.body, comment.deleted_at, comment.show_stance) == ("A comment.", None, True)


def test_guests_cannot_change_signed_in_readers_comments(client, article, reader, add_comment):
    comment = add_comment(article, user=reader)
    assert client.post(url("delete", comment)).status_code == 403


# Deleting


def test_guest_deletes_their_own_comment_any_time(article, make_client, add_comment):
    comment = add_comment(
        article, reader_token="guest-1", created_at=timezone.now() - timedelta(days=30)
    )
    guest = make_client(token="guest-1")

    confirm = guest.get(url("delete", comment))
    assert "Delete your comment?" in confirm.content.decode()

    response = guest.htmx.post(url("delete", comment))

    assert response.status_code == 200
    html = response.content.decode()
    assert "[deleted]" in html
    count = element(html, "#comment-count")
    assert (text(count), count["hx-swap-oob"]) == ("(0)", "true")
    comment.refresh_from_db()
    assert comment.deleted_at is not None
    assert Comment.objects.filter(pk=comment.pk).exists()  # soft delete
    assert not elements(guest.get(article.get_absolute_url()), f"#c-{comment.pk}")


def test_delete_without_js_redirects_to_the_discussion(article, make_client, add_comment):
    comment = add_comment(article, reader_token="guest-1")
    response = make_client(token="guest-1").post(url("delete", comment))
    assert response.status_code == 302
    assert response["Location"] == f"{article.get_absolute_url()}#comments"


# Helpful marks


def test_helpful_toggles_once_per_reader(htmx, article, reader, make_client, add_comment):
    comment = add_comment(article)
    htmx.force_login(reader)
    button = f"#helpful-{comment.pk}-button"

    marked = htmx.post(url("helpful", comment))
    assert marked.status_code == 200
    assert element(marked, button)["aria-pressed"] == "true"
    assert text(element(marked, f"{button} .helpful__count")) == "1"

    make_client(token="guest-2", address="192.0.2.2").htmx.post(url("helpful", comment))
    comment.refresh_from_db()
    assert comment.helpful_count == 2

    unmarked = htmx.post(url("helpful", comment))
    assert element(unmarked, button)["aria-pressed"] == "false"
    comment.refresh_from_db()
    assert comment.helpful_count == 1
    assert HelpfulMark.objects.get().reader_token == "guest-2"


def test_helpful_without_js_redirects_back(client, article, add_comment):
    comment = add_comment(article)
    response = client.post(url("helpful", comment))
    assert response.status_code == 302
    assert response["Location"] == comment.get_absolute_url()
    comment.refresh_from_db()
    assert comment.helpful_count == 1


def test_own_comment_cannot_be_marked_helpful(article, make_client, add_comment):
    comment = add_comment(article, reader_token="guest-1")
    response = make_client(token="guest-1").htmx.post(url("helpful", comment))
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.helpful_count == 0


# Reports


def test_report_needs_a_reason(htmx, article, add_comment):
    comment = add_comment(article)
    form = htmx.get(url("report", comment))
    assert elements(form, f"#report-form-{comment.pk}")
    assert "Spam or advertising" in form.content.decode()

    response = htmx.post(url("report", comment), {"note": "hm"})

    assert response.status_code == 422
    assert "Choose a reason." in response.content.decode()
    assert not CommentReport.objects.exists()


def test_one_address_cannot_hide_a_comment_by_clearing_cookies(
    article, settings, make_client, add_comment
):
    settings.EVR_REPORTS_TO_HIDE = 2
    comment = add_comment(article)
    for token in ("fresh-session-1", "fresh-session-2", "fresh-session-3"):
        response = make_client(token=token, address="198.51.100.4").htmx.post(
            url("report", comment), {"reason": "spam"}
        )
        assert response.status_code == 200

    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED
    assert (comment.report_count, comment.reports.count()) == (1, 3)
    assert "198.51.100.4" not in {report.ip_hash for report in comment.reports.all()}

    make_client(token="elsewhere", address="203.0.113.8").post(
        url("report", comment), {"reason": "spam"}
    )
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


def test_reports_from_distinct_readers_hide_the_comment(
    article, settings, make_client, add_comment
):
    settings.EVR_REPORTS_TO_HIDE = 3
    comment = add_comment(article)

    first = make_client(token="r-1", address="192.0.2.1").htmx
    assert first.post(url("report", comment), {"reason": "spam"}).status_code == 200
    again = first.post(url("report", comment), {"reason": "abuse"})
    assert again.status_code == 409
    assert "already reported" in again.content.decode()
    make_client(token="r-2", address="192.0.2.2").htmx.post(
        url("report", comment), {"reason": "abuse"}
    )
    comment.refresh_from_db()
    assert (comment.status, comment.report_count) == (Comment.Status.APPROVED, 2)

    make_client(token="r-3", address="192.0.2.3").post(
        url("report", comment), {"reason": "off_topic", "note": "Ads"}
    )

    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    assert comment.report_count == 3
    assert "3 reader reports" in comment.hold_reason
    assert not elements(make_client().get(article.get_absolute_url()), f"#c-{comment.pk}")


def test_after_a_moderator_approves_only_new_reports_count(
    article, settings, staff_user, make_client, add_comment
):
    settings.EVR_REPORTS_TO_HIDE = 2
    comment = add_comment(article)

    def report(number, reason):
        make_client(token=f"r-{number}", address=f"192.0.2.{number}").htmx.post(
            url("report", comment), {"reason": reason}
        )

    for number in (1, 2):
        report(number, "spam")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING

    moderator = make_client()
    moderator.force_login(staff_user)
    moderator.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "approve", "_selected_action": [comment.pk]},
    )
    comment.refresh_from_db()
    assert (comment.status, comment.report_count) == (Comment.Status.APPROVED, 0)

    report(3, "abuse")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED, "one new report must not re-hide it"
    report(4, "abuse")
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING
    assert comment.reports.count() == 4


def test_own_comment_cannot_be_reported(article, make_client, add_comment):
    comment = add_comment(article, reader_token="guest-1")
    response = make_client(token="guest-1").post(url("report", comment), {"reason": "spam"})
    assert response.status_code == 403


# Poll stance


@pytest.fixture
def poll(make_poll, article):
    return make_poll(article=article, labels=("Yes", "No"))


def stance_badges(html):
    return [text(badge) for badge in elements(html, ".stance-badge")]


def test_comment_carries_the_authors_vote_and_shows_a_changed_view(
    htmx, article, poll, reader, make_client, add_vote
):
    yes, no = poll.choices.all()
    vote = add_vote(yes, user=reader)
    htmx.force_login(reader)

    html = post_comment(htmx, article, body="I voted yes.").content.decode()

    comment = Comment.objects.get()
    assert comment.stance_choice == yes
    assert "Voted: Yes" in stance_badges(html)
    assert "changed view" not in html

    vote.choice = no
    vote.save()
    page = make_client().get(article.get_absolute_url()).content.decode()
    assert "Voted: Yes" in stance_badges(page)
    assert "changed view" in page


def test_guest_stance_comes_from_their_session_vote(article, poll, make_client, add_vote):
    yes = poll.choices.first()
    add_vote(yes, reader_token="guest-v")
    post_comment(make_client(token="guest-v").htmx, article, body="Guest with a vote.")
    assert Comment.objects.get().stance_choice == yes
    post_comment(make_client(token="guest-w").htmx, article, body="Guest without a vote.")
    assert Comment.objects.latest("pk").stance_choice is None


def test_author_hides_and_shows_their_stance_badge(
    htmx, article, poll, reader, make_client, add_comment
):
    yes = poll.choices.first()
    comment = add_comment(article, user=reader, stance_choice=yes)
    htmx.force_login(reader)

    hidden = htmx.post(url("stance", comment))
    assert "Voted: Yes" not in stance_badges(hidden)
    assert "Show my vote" in hidden.content.decode()
    assert "Voted: Yes" not in stance_badges(make_client().get(article.get_absolute_url()))

    shown = htmx.post(url("stance", comment))
    assert "Voted: Yes" in stance_badges(shown)


def test_filter_by_stance(client, article, poll, add_comment):
    yes, no = poll.choices.all()
    add_comment(article, body="Yes voter", stance_choice=yes)
    add_comment(article, body="No voter", stance_choice=no)
    add_comment(article, body="Hidden yes voter", stance_choice=yes, show_stance=False)
    add_comment(article, body="Did not vote")

    html = client.get(article.get_absolute_url(), {"stance": yes.pk}).content.decode()
    listing = text(element(html, "#comments"))
    assert "Yes voter" in listing
    assert "No voter" not in listing
    assert "Hidden yes voter" not in listing
    assert "Did not vote" not in listing
    chosen = element(html, f'option[value="{yes.pk}"]')
    assert (text(chosen), chosen.has_attr("selected")) == ("Voted: Yes", True)

    everything = client.get(article.get_absolute_url(), {"stance": "junk"}).content.decode()
    assert "Did not vote" in everything


def test_announcements_tell_screen_readers_what_happened(htmx, article, reader, add_comment):
    comment = add_comment(article, user=reader)
    htmx.force_login(reader)
    response = htmx.post(url("delete", comment))
    detail = json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]
    assert detail == {"message": "Your comment was deleted.", "focus": f"#c-{comment.pk}"}
