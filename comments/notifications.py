"""Emails to readers who asked to hear about replies to their comments.

A reader opts in on each comment they post ("Email me when someone replies",
`Comment.notify_replies`): a signed-in reader at their account's address, a guest at the
address they gave. When a reply to such a comment is published (on posting, or when a
moderator approves it later), its author gets one email once the transaction commits:

- never about their own reply (the same account, guest session or address);
- never twice about one reply: the reply is claimed first (`reply_notice_sent_at`), in one
  UPDATE that only one request can win, and only the winner sends;
- never about a reply to a deleted or held comment, nor once they have unsubscribed.

Mail goes through Django's email backend in a short-lived thread (`EVR_EMAIL_IN_BACKGROUND`),
so a slow or failing mail server never holds up or breaks posting: a failure is logged and
that email is not sent again.

Every email carries one unsubscribe link (also in its `List-Unsubscribe` header): a signed
token naming the account, or a guest's address, that turns reply emails off on all their
comments with a single GET, no session needed.

Links in an email start with the address of the request that posted the reply (the reader's
`site_url`: the host and scheme they used, behind the trusted proxies), so they lead back to
the site the reader is on; only an email queued outside a request, or by a moderator's
approval, falls back to `EVR_SITE_URL`.
"""

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from .models import Comment

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "comments.notifications.unsubscribe"
EXCERPT_LENGTH = 300
SUBJECT_LENGTH = 150


@dataclass(frozen=True)
class Recipient:
    """Whom an email goes to, and what their unsubscribe token names: {"user": pk} for an
    account, {"comment": pk} for a guest (the comment replied to: the link, which servers may
    log, holds no address)."""

    email: str
    name: str
    key: dict

    @property
    def unsubscribe_url(self):
        return self.unsubscribe_url_at(settings.EVR_SITE_URL)

    def unsubscribe_url_at(self, site_url):
        token = signing.dumps(self.key, salt=UNSUBSCRIBE_SALT)
        return absolute_url(reverse("unsubscribe", kwargs={"token": token}), site_url=site_url)


def absolute_url(path, *, site_url=""):
    """`path` on the site at `site_url` ("https://evreader.example"), `EVR_SITE_URL` without
    one."""
    return f"{(site_url or settings.EVR_SITE_URL).rstrip('/')}{path}"


def reply_notice_recipient(comment):
    """Who is emailed about replies to `comment`: its author if they opted in on it and have
    an address; None otherwise."""
    if not comment.notify_replies:
        return None
    if comment.user_id is not None:
        user = comment.user
        if not user.is_active or not user.email:
            return None
        return Recipient(user.email, comment.author_name, {"user": user.pk})
    if comment.is_by_guest and comment.email:
        return Recipient(comment.email, comment.author_name, {"comment": comment.pk})
    return None


def _by_same_reader(reply, answered, recipient):
    if answered.user_id is not None and reply.user_id == answered.user_id:
        return True
    if answered.reader_token and reply.reader_token == answered.reader_token:
        return True
    reply_email = reply.user.email if reply.user_id is not None else reply.email
    return bool(reply_email) and reply_email.lower() == recipient.email.lower()


def _recipient_for_reply(reply, answered):
    if answered.status != Comment.Status.APPROVED or answered.is_deleted:
        return None
    recipient = reply_notice_recipient(answered)
    if recipient is None or _by_same_reader(reply, answered, recipient):
        return None
    return recipient


def reply_notices_queue(reply_pks, *, answered=None, site_url=""):
    """Once the current transaction commits, email the authors these replies answer, for the
    replies that are published then. `answered` is the comment a single reply was written to,
    when it is not its parent (a reply to the deepest level is stored beside it); `site_url`
    the address the emails' links start with (`EVR_SITE_URL` without one)."""
    pks = list(reply_pks)
    answered_pk = answered.pk if answered is not None else None
    transaction.on_commit(lambda: _notify(pks, answered_pk, site_url), robust=True)


def _notify(reply_pks, answered_pk=None, site_url=""):
    try:
        messages = reply_notices_claim(reply_pks, answered_pk=answered_pk, site_url=site_url)
    except Exception:
        logger.exception("Reply notices for comments %s could not be prepared.", reply_pks)
        return
    if not messages:
        return
    if settings.EVR_EMAIL_IN_BACKGROUND:
        threading.Thread(
            target=reply_notices_deliver, args=(messages,), name="reply-notices", daemon=True
        ).start()
    else:
        reply_notices_deliver(messages)


def answered_comments(replies):
    """{reply pk: the comment it answers} for `replies` (each with its parent selected).
    That is its parent, except for a reply to a comment at the deepest level: threads nest
    no deeper, so it is stored beside that comment and starts by naming it ("@Dee …",
    `services.comment_create`); it answers the latest earlier comment there by that name.
    One query for all of them, none when no reply is at the deepest level."""
    answered = {reply.pk: reply.parent for reply in replies}
    beside = [
        reply
        for reply in replies
        if reply.depth == Comment.MAX_DEPTH and reply.body.startswith("@")
    ]
    if not beside:
        return answered
    siblings = Comment.objects.filter(
        parent_id__in={reply.parent_id for reply in beside},
        pk__lt=max(reply.pk for reply in beside),
    ).select_related("user")
    by_parent = {}
    for sibling in siblings:
        by_parent.setdefault(sibling.parent_id, []).append(sibling)
    for reply in beside:
        named = [
            sibling
            for sibling in by_parent.get(reply.parent_id, ())
            if sibling.pk < reply.pk and _names(reply.body, sibling.author_name)
        ]
        if named:
            # "@Jo Ann" names Jo Ann rather than Jo; the latest comment by that name.
            answered[reply.pk] = max(
                named, key=lambda sibling: (len(sibling.author_name), sibling.pk)
            )
    return answered


def _names(body, author_name):
    """Whether `body` starts by naming `author_name`: "@name", then no letter or digit."""
    prefix = f"@{author_name}"
    return body.startswith(prefix) and not body[len(prefix) : len(prefix) + 1].isalnum()


def reply_notices_claim(reply_pks, *, answered_pk=None, site_url=""):
    """The emails to send about these replies, each reply claimed so that no other request
    sends it too. Replies already claimed, held, deleted or not replies are left out."""
    replies = list(
        Comment.objects.filter(
            pk__in=reply_pks,
            parent__isnull=False,
            status=Comment.Status.APPROVED,
            deleted_at__isnull=True,
            reply_notice_sent_at__isnull=True,
        ).select_related("user", "article", "parent__user")
    )
    if answered_pk is not None:
        answered_given = Comment.objects.select_related("user").filter(pk=answered_pk).first()
        answered_by_reply = {reply.pk: answered_given or reply.parent for reply in replies}
    else:
        answered_by_reply = answered_comments(replies)
    messages = []
    for reply in replies:
        recipient = _recipient_for_reply(reply, answered_by_reply[reply.pk])
        if recipient is None:
            continue
        claimed = Comment.objects.filter(pk=reply.pk, reply_notice_sent_at__isnull=True).update(
            reply_notice_sent_at=timezone.now()
        )
        if claimed:
            messages.append(reply_notice_message(reply, recipient, site_url=site_url))
    return messages


def _quoted(text):
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def reply_notice_message(reply, recipient, *, site_url=""):
    article = reply.article
    unsubscribe_url = recipient.unsubscribe_url_at(site_url)
    context = {
        "recipient": recipient,
        "replier": reply.author_name,
        "excerpt": _quoted(Truncator(reply.body).chars(EXCERPT_LENGTH)),
        "article": article,
        "reply_url": absolute_url(reply.get_absolute_url(), site_url=site_url),
        "unsubscribe_url": unsubscribe_url,
        "site_name": settings.EVR_SITE_NAME,
    }
    subject = f"{reply.author_name} replied to your comment on “{article.headline}”"
    return EmailMessage(
        subject=Truncator(" ".join(subject.split())).chars(SUBJECT_LENGTH),
        body=render_to_string("comments/email/reply_notice.txt", context),
        to=[recipient.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def reply_notices_deliver(messages):
    """Send these emails; a failure is logged, never raised (the reply is already posted)."""
    try:
        with get_connection() as connection:
            connection.send_messages(messages)
    except Exception:
        logger.exception("%d reply notice email(s) could not be sent.", len(messages))


# Unsubscribing


def reply_notices_stop(*, user=None, guest_comment_pk=None):
    """Turn reply emails off on every comment of this account, or of the guest who wrote
    this comment (every guest comment with its address). Returns how many had them on."""
    if user is not None:
        comments = Comment.objects.filter(user=user)
    else:
        guest_comment = Comment.objects.filter(pk=guest_comment_pk, user__isnull=True).first()
        if guest_comment is None:
            return 0
        same_guest = Q(pk=guest_comment.pk)
        if guest_comment.email:
            same_guest |= Q(user__isnull=True, email__iexact=guest_comment.email)
        comments = Comment.objects.filter(same_guest)
    return comments.filter(notify_replies=True).update(notify_replies=False)


def reply_notices_unsubscribe(token):
    """Turn off the reply emails of whoever `token` names (from an email's unsubscribe link).
    Raises `signing.BadSignature` for a token this site did not make."""
    key = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if isinstance(key, dict) and type(key.get("user")) is int:
        return reply_notices_stop(user=key["user"])
    if isinstance(key, dict) and type(key.get("comment")) is int:
        return reply_notices_stop(guest_comment_pk=key["comment"])
    raise signing.BadSignature("Not an unsubscribe token.")


def reply_notices_count(*, user):
    """How many of this account's comments ask for reply emails."""
    return Comment.objects.filter(user=user, notify_replies=True).count()
