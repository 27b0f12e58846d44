"""Reply notifications: who is emailed about a reply, once, and how they stop it."""

import logging
import re
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from comments import notifications, services
from comments.forms import NOTIFY_NEEDS_EMAIL
from comments.models import Comment
from comments.services import NO_ACCOUNT_EMAIL
from tests.conftest import element, elements, post_comment, text

SITE = "https://evreader.example"
# The links in emails lead to the site's address (EVR_SITE_URL), wherever the reply came in.
POSTED_AT = SITE
UNSUBSCRIBE_URL = re.compile(r"https?://[^/\s]+/accounts/unsubscribe/[^/\s]+/")


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EVR_SITE_URL = SITE
    settings.EVR_EMAIL_IN_BACKGROUND = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what waits for the transaction to commit (the emails), as a real request does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def opted_in(article, add_comment):
    """A guest's comment that asks for reply emails."""
    return add_comment(
        article,
        "Small EVs are the future.",
        author_name="Ana",
        email="ana@example.com",
        reader_token="ana-token",
        notify_replies=True,
    )


def reply(client, parent, committed, body="I disagree, and here is why.", **fields):
    with committed():
        response = post_comment(client, reply_to=parent, body=body, **fields)
    assert response.status_code in (200, 302), response.content.decode()[:500]
    return response


def unsubscribe_links(message):
    return UNSUBSCRIBE_URL.findall(message.body)


# --- Who is emailed --------------------------------------------------------------------------


def test_a_reply_emails_the_author_who_asked_once(make_client, opted_in, committed, mailoutbox):
    reply(make_client(token="bea-token"), opted_in, committed, author_name="Bea")

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ana@example.com"]
    assert "Bea replied to your comment" in message.subject
    assert "I disagree, and here is why." in message.body
    new_reply = Comment.objects.get(parent=opted_in)
    assert f"{POSTED_AT}/comments/{new_reply.pk}/" in message.body
    links = unsubscribe_links(message)
    assert len(links) == 1 and links[0].startswith(f"{POSTED_AT}/")
    assert message.extra_headers["List-Unsubscribe"] == f"<{links[0]}>"
    assert new_reply.reply_notice_sent_at is not None

    # Asked again about the same reply (a moderator approving it again...): no second email.
    with committed():
        notifications.reply_notices_queue([new_reply.pk])
    assert len(mailoutbox) == 1


def test_each_reply_is_its_own_email(make_client, opted_in, committed, mailoutbox):
    reply(make_client(token="bea-token"), opted_in, committed, author_name="Bea")
    reply(make_client(token="cem-token"), opted_in, committed, author_name="Cem")

    assert [message.to for message in mailoutbox] == [["ana@example.com"]] * 2


def test_a_reply_claimed_meanwhile_by_another_request_is_not_sent_again(
    opted_in, add_comment, monkeypatch
):
    late_reply = add_comment(opted_in.article, "Late.", parent=opted_in, reader_token="bea")
    read_first = notifications._recipient_for_reply
    other_request = []

    def other_request_claims_in_between(reply, answered):
        # This request has read the reply as unclaimed; another one claims it now.
        if not other_request:
            other_request.append(None)
            other_request[0] = notifications.reply_notices_claim([late_reply.pk])
        return read_first(reply, answered)

    monkeypatch.setattr(notifications, "_recipient_for_reply", other_request_claims_in_between)
    this_request = notifications.reply_notices_claim([late_reply.pk])

    assert (len(other_request[0]), len(this_request)) == (1, 0)


def test_nobody_is_emailed_about_their_own_reply(
    make_client, opted_in, committed, mailoutbox, reader
):
    # The same guest session...
    reply(make_client(token="ana-token"), opted_in, committed, author_name="Ana")
    # ...another browser of the same guest, known by the address they gave...
    reply(make_client(token="ana-phone"), opted_in, committed, email="ANA@example.com")
    # ...and an account with that address.
    reader.email = "ana@example.com"
    reader.save()
    account = make_client()
    account.force_login(reader)
    reply(account, opted_in, committed)

    assert Comment.objects.filter(parent=opted_in).count() == 3
    assert mailoutbox == []


def test_a_signed_in_reader_replying_to_themselves_is_not_emailed(
    client, article, reader, add_comment, committed, mailoutbox
):
    reader.email = "reader@example.com"
    reader.save()
    own = add_comment(article, user=reader, notify_replies=True)
    client.force_login(reader)

    reply(client, own, committed)

    assert mailoutbox == []


def test_no_email_without_asking(make_client, article, add_comment, committed, mailoutbox):
    quiet = add_comment(article, email="quiet@example.com", reader_token="quiet")

    reply(make_client(token="bea-token"), quiet, committed)

    assert mailoutbox == []


def test_a_signed_in_reader_is_emailed_at_their_account_address(
    client, make_client, article, make_user, committed, mailoutbox
):
    author = make_user("carla", email="carla@example.com")
    client.force_login(author)
    with committed():
        post_comment(client, article, body="Tell me when you answer.", notify_replies="on")
    parent = Comment.objects.get()
    assert parent.notify_replies

    reply(make_client(token="bea-token"), parent, committed, author_name="Bea")

    assert [message.to for message in mailoutbox] == [["carla@example.com"]]


def test_a_guest_asks_for_emails_with_their_address(
    client, make_client, article, committed, mailoutbox
):
    with committed():
        post_comment(client, article, email="dan@example.com", notify_replies="on")
    parent = Comment.objects.get()
    assert (parent.notify_replies, parent.email) == (True, "dan@example.com")

    reply(make_client(token="bea-token"), parent, committed)

    assert [message.to for message in mailoutbox] == [["dan@example.com"]]


def test_a_reply_at_the_deepest_level_emails_whom_it_answers(
    make_client, article, add_comment, committed, mailoutbox
):
    top = add_comment(article, reader_token="top", email="top@example.com", notify_replies=True)
    middle = add_comment(article, parent=top, reader_token="mid", author_name="Mid")
    deepest = add_comment(
        article, parent=middle, reader_token="deep", email="deep@example.com", notify_replies=True
    )

    reply(make_client(token="bea-token"), deepest, committed)

    # Stored beside the comment it answers (threads nest three deep), mailed to its author.
    assert Comment.objects.get(reader_token="bea-token").parent == middle
    assert [message.to for message in mailoutbox] == [["deep@example.com"]]


# --- Held replies and parents ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "emailed"),
    [
        ("@Dee Ann I disagree.", "dee@example.com"),
        ("@Dee, no.", "dee-short@example.com"),
        ("@Deepak is right.", "mid@example.com"),
        ("I disagree with the answer above.", "mid@example.com"),
    ],
    ids=["names-the-longer-name", "names-the-shorter-name", "no-such-name", "names-no-one"],
)
def test_a_held_reply_at_the_deepest_level_emails_whom_it_answers_when_approved(
    article, add_comment, committed, mailoutbox, staff_user, body, emailed
):
    top = add_comment(article, reader_token="top")
    middle = add_comment(
        article, parent=top, reader_token="mid", email="mid@example.com", notify_replies=True
    )
    for name, address in [("Dee Ann", "dee@example.com"), ("Dee", "dee-short@example.com")]:
        add_comment(
            article,
            parent=middle,
            author_name=name,
            reader_token=address,
            email=address,
            notify_replies=True,
        )
    # As services.comment_create stores a reply to the deepest level: beside whom it answers.
    held = add_comment(
        article, body, parent=middle, reader_token="bea", status=Comment.Status.PENDING
    )

    with committed():
        services.comments_moderate(
            comments=Comment.objects.filter(pk=held.pk),
            status=Comment.Status.APPROVED,
            moderator=staff_user,
        )

    assert [message.to for message in mailoutbox] == [[emailed]]


def test_a_held_reply_is_emailed_when_approved_not_before(
    make_client, opted_in, committed, mailoutbox, settings, staff_user
):
    settings.EVR_PREMODERATION = True
    reply(make_client(token="bea-token"), opted_in, committed, author_name="Bea")
    held = Comment.objects.get(parent=opted_in)
    assert held.status == Comment.Status.PENDING
    assert mailoutbox == []

    with committed():
        services.comments_moderate(
            comments=Comment.objects.filter(pk=held.pk),
            status=Comment.Status.APPROVED,
            moderator=staff_user,
        )
    assert [message.to for message in mailoutbox] == [["ana@example.com"]]

    with committed():
        services.comments_moderate(
            comments=Comment.objects.filter(pk=held.pk),
            status=Comment.Status.APPROVED,
            moderator=staff_user,
        )
    assert len(mailoutbox) == 1


def test_a_reply_rejected_by_a_moderator_is_never_emailed(
    opted_in, add_comment, committed, mailoutbox, staff_user
):
    held = add_comment(
        opted_in.article, parent=opted_in, reader_token="bea", status=Comment.Status.PENDING
    )
    with committed():
        services.comments_moderate(
            comments=Comment.objects.filter(pk=held.pk),
            status=Comment.Status.REJECTED,
            moderator=staff_user,
        )
    assert mailoutbox == []


@pytest.mark.parametrize(
    "parent_change",
    [{"deleted_at": timezone.now()}, {"status": Comment.Status.PENDING}],
    ids=["deleted", "held"],
)
def test_no_email_about_a_reply_to_a_deleted_or_held_comment(
    opted_in, add_comment, committed, mailoutbox, staff_user, parent_change
):
    held = add_comment(
        opted_in.article, parent=opted_in, reader_token="bea", status=Comment.Status.PENDING
    )
    Comment.objects.filter(pk=opted_in.pk).update(**parent_change)

    with committed():
        services.comments_moderate(
            comments=Comment.objects.filter(pk=held.pk),
            status=Comment.Status.APPROVED,
            moderator=staff_user,
        )
    assert mailoutbox == []


# --- The form --------------------------------------------------------------------------------


def test_comment_and_reply_forms_offer_the_checkbox(client, article, opted_in):
    page = client.get(article.get_absolute_url())
    checkbox = element(page, '#comment-form input[type="checkbox"][name="notify_replies"]')
    label = element(page, f'label[for="{checkbox["id"]}"]')
    assert "Email me when someone replies" in text(label)

    reply_form = client.get(f"/comments/{opted_in.pk}/reply/")
    assert elements(reply_form, 'form input[type="checkbox"][name="notify_replies"]')


@pytest.mark.parametrize("with_htmx", [True, False])
def test_a_guest_asking_for_emails_without_an_address_is_told_with_text_kept(
    client, article, with_htmx
):
    browser = client.htmx if with_htmx else client
    response = post_comment(browser, article, body="Keep these words.", notify_replies="on")

    assert response.status_code == 422
    html = response.content.decode()
    assert NOTIFY_NEEDS_EMAIL in text(element(html, "#comment-email_error"))
    assert text(element(html, 'textarea[name="body"]')) == "Keep these words."
    assert element(html, '[name="notify_replies"]').has_attr("checked")
    assert not Comment.objects.exists()


def test_a_signed_in_reader_without_an_email_is_told_with_text_kept(client, article, reader):
    assert reader.email == ""
    client.force_login(reader)

    response = post_comment(client.htmx, article, body="Keep these words.", notify_replies="on")

    assert response.status_code == 422
    html = response.content.decode()
    assert NO_ACCOUNT_EMAIL in text(element(html, "#comment-notify_replies_error"))
    assert text(element(html, 'textarea[name="body"]')) == "Keep these words."
    assert not Comment.objects.exists()


# --- Unsubscribing ---------------------------------------------------------------------------


def test_the_unsubscribe_link_works_with_one_get_and_no_session(
    make_client, opted_in, add_comment, committed, mailoutbox
):
    other_comment = add_comment(
        opted_in.article, reader_token="ana-phone", email="Ana@Example.com", notify_replies=True
    )
    someone_else = add_comment(
        opted_in.article, reader_token="eve", email="eve@example.com", notify_replies=True
    )
    reply(make_client(token="bea-token"), opted_in, committed)
    (link,) = unsubscribe_links(mailoutbox[0])

    stranger = make_client()  # no session, no cookie
    response = stranger.get(urlsplit(link).path)

    assert response.status_code == 200
    assert "Reply emails stopped" in text(element(response, "h1"))
    assert "no-cache" in response["Cache-Control"]
    assert "sessionid" not in response.cookies
    opted_in.refresh_from_db()
    other_comment.refresh_from_db()
    someone_else.refresh_from_db()
    assert (opted_in.notify_replies, other_comment.notify_replies) == (False, False)
    assert someone_else.notify_replies

    reply(make_client(token="cem-token"), opted_in, committed)
    assert len(mailoutbox) == 1


def test_an_account_unsubscribes_all_its_comments(
    make_client, article, make_user, add_comment, committed, mailoutbox
):
    author = make_user("carla", email="carla@example.com")
    first = add_comment(article, user=author, notify_replies=True)
    second = add_comment(article, user=author, notify_replies=True)
    reply(make_client(token="bea-token"), first, committed)
    (link,) = unsubscribe_links(mailoutbox[0])

    assert make_client().get(urlsplit(link).path).status_code == 200

    assert not Comment.objects.filter(pk__in=[first.pk, second.pk], notify_replies=True).exists()


def test_mail_programs_can_unsubscribe_with_a_post(make_client, opted_in):
    link = notifications.reply_notice_recipient(opted_in).unsubscribe_url
    browserless = make_client(enforce_csrf_checks=True)

    response = browserless.post(urlsplit(link).path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    opted_in.refresh_from_db()
    assert not opted_in.notify_replies


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        signing.dumps({"user": 1}, salt="another.purpose"),
        signing.dumps({"comment": 1}, salt=notifications.UNSUBSCRIBE_SALT) + "x",
        signing.dumps(["user", 1], salt=notifications.UNSUBSCRIBE_SALT),
    ],
    ids=["garbage", "other-salt", "tampered", "wrong-shape"],
)
def test_a_bad_unsubscribe_link_gets_a_clear_400(client, opted_in, token):
    response = client.get(f"/accounts/unsubscribe/{token}/")

    assert response.status_code == 400
    assert "This unsubscribe link is not valid" in text(element(response, "h1"))
    assert "Nothing was changed" in response.content.decode()
    opted_in.refresh_from_db()
    assert opted_in.notify_replies


def test_a_tampered_token_cannot_name_someone_else(client, opted_in, add_comment):
    victim = add_comment(opted_in.article, reader_token="vic", email="v@x.org", notify_replies=True)
    token = signing.dumps({"comment": opted_in.pk}, salt=notifications.UNSUBSCRIBE_SALT)
    signature = token.rsplit(":", 1)[1]
    forged = signing.dumps({"comment": victim.pk}, salt="x").rsplit(":", 1)[0] + ":" + signature

    assert client.get(f"/accounts/unsubscribe/{forged}/").status_code == 400
    victim.refresh_from_db()
    assert victim.notify_replies


# --- Mail that cannot be sent ----------------------------------------------------------------


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("The mail server is down.")


class SlowBackend(LocmemBackend):
    def send_messages(self, messages):
        time.sleep(1.5)
        return super().send_messages(messages)


def test_a_mail_server_that_fails_never_breaks_posting(
    make_client, opted_in, committed, settings, caplog
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    browser = make_client(token="bea-token")

    with caplog.at_level(logging.ERROR, logger="comments.notifications"):
        response = reply(browser, opted_in, committed, body="Posted all the same.")

    assert response.status_code == 302
    assert Comment.objects.filter(parent=opted_in, body="Posted all the same.").exists()
    assert "could not be sent" in caplog.text
    assert "ana@example.com" not in caplog.text


def test_a_slow_mail_server_never_slows_posting(
    make_client, opted_in, committed, settings, mailoutbox
):
    settings.EVR_EMAIL_IN_BACKGROUND = True
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    browser = make_client(token="bea-token")

    started = time.monotonic()
    reply(browser, opted_in, committed)
    assert time.monotonic() - started < 1.2

    for thread in threading.enumerate():
        if thread.name == "reply-notices":
            thread.join(timeout=10)
    assert [message.to for message in mailoutbox] == [["ana@example.com"]]
