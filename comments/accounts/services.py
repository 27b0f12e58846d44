"""Readers' accounts: how often one may try to sign in or sign up, a reader's own data, and
closing an account.

Throttles count with the project's one limiter (`comments.ratelimit`, in the shared cache, so
every worker and server counts the same attempts) and refuse with `Refused(status=429)`,
which a form shows like any other error and a view answers with 429 and `Retry-After`.

- Sign-in: only failures count (a wrong username or password), against the account tried
  (its username, normalised) and against the address (hashed). The failure that goes over a
  limit locks that account or address until the limit's window ends: every sign-in to it is
  then refused before any password is checked, the right one included. A successful sign-in
  uses none of the allowance.
- Sign-up: each account created, and each attempt with a username that is already taken
  (the one answer that tells whether an account exists), counts against the address.
"""

import hashlib
import hmac
import math
import secrets
import time
import unicodedata

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from evsite.caching import DISCUSSION, POLLS, bump

from ..models import Comment, CommentReport, HelpfulMark, Vote
from ..models.comments import DELETED_READER_PREFIX
from ..ratelimit import CACHE_ERRORS, rate_limit_retry_after
from ..readers import Reader
from ..refusals import Refused

LOGIN_FAILED_ACTION = "login-failed"
SIGNUP_ACTION = "signup"
LOGIN_LOCK_KEY = "evr:login-lock:{}"
# What the cache raises when it cannot answer: Redis errors, OSError from the file cache.
_local_locks = {}  # lock key: expiry, in this worker, while the shared cache cannot answer

DELETED_AUTHOR_NAME = "Deleted reader"

TOO_MANY_LOGINS = (
    "Too many failed sign-in attempts. For your security, signing in is paused: "
    "wait {wait}, then try again."
)
TOO_MANY_SIGNUPS = "Too many sign-ups from your network. Wait {wait}, then try again."
STAFF_CANNOT_CLOSE = "Staff accounts cannot be deleted here: ask an administrator to close yours."


def _setting(name, default):
    return getattr(settings, name, default)


def login_window():
    """The seconds over which failed sign-ins are counted (and a lock lasts at most)."""
    return max(1, int(_setting("EVR_LOGIN_WINDOW_MINUTES", 15))) * 60


def wait_in_words(seconds):
    """ "45 seconds", "1 minute", "15 minutes": how long to wait, rounded up."""
    if seconds < 60:
        return f"{seconds} second{pluralize(seconds)}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{pluralize(minutes)}"


def username_identity(username):
    """The limiter's name for a username as tried: NFKC, case-folded and trimmed, so that
    "Reader" and "reader " count together; hashed with the address salt (as readers.ip_hash),
    so the cache holds no username."""
    normalised = unicodedata.normalize("NFKC", username or "").casefold().strip()
    if not normalised:
        return ""
    salt = settings.EVR_IP_HASH_SALT.encode()
    return "account:" + hmac.new(salt, normalised.encode(), hashlib.sha256).hexdigest()[:40]


def _login_limits(*, username, ip_hash):
    """(identity, most failures per window) for the account tried and for the address."""
    return [
        (username_identity(username), int(_setting("EVR_LOGIN_FAILURES_PER_ACCOUNT", 5))),
        (f"ip:{ip_hash}" if ip_hash else "", int(_setting("EVR_LOGIN_FAILURES_PER_IP", 20))),
    ]


def _refuse_login(retry_after):
    message = TOO_MANY_LOGINS.format(wait=wait_in_words(retry_after))
    return Refused(message, status=429, retry_after=retry_after, code="throttled")


def _locks_get(keys):
    """The expiry times of the locks under these keys (some may have passed)."""
    try:
        found = list(cache.get_many(keys).values())
    except CACHE_ERRORS:
        found = []
    return found + [_local_locks[key] for key in keys if key in _local_locks]


def _lock(key, until, *, timeout):
    try:
        cache.set(key, until, timeout=timeout)
    except CACHE_ERRORS:
        # The shared cache cannot answer: this worker keeps the lock itself, so the right
        # password after too many wrong ones is still refused here (as ratelimit counts).
        now = time.time()
        for stale in [name for name, expires in _local_locks.items() if expires <= now]:
            _local_locks.pop(stale, None)
        _local_locks[key] = until


def login_check_allowed(*, username, ip_hash):
    """Refuse (429) a sign-in to a locked account or from a locked address; counts nothing."""
    identities = [
        identity
        for identity, maximum in _login_limits(username=username, ip_hash=ip_hash)
        if identity and maximum > 0
    ]
    if not identities:
        return
    now = time.time()
    locks = _locks_get([LOGIN_LOCK_KEY.format(identity) for identity in identities])
    until = max((expires for expires in locks if expires > now), default=None)
    if until is not None:
        raise _refuse_login(max(1, math.ceil(until - now)))


def login_failed(*, username, ip_hash):
    """Count a failed sign-in against the account tried and the address. When it goes over a
    limit, lock that account or address for the rest of the window and refuse (429)."""
    window = login_window()
    retry_after = None
    for identity, maximum in _login_limits(username=username, ip_hash=ip_hash):
        if not identity or maximum <= 0:
            continue
        wait = rate_limit_retry_after(LOGIN_FAILED_ACTION, [identity], [(maximum, window)])
        if wait is not None:
            _lock(LOGIN_LOCK_KEY.format(identity), time.time() + wait, timeout=wait)
            retry_after = max(retry_after or 0, wait)
    if retry_after is not None:
        raise _refuse_login(retry_after)


def signup_check_allowed(*, ip_hash):
    """Count a sign-up (or an attempt with a taken username) from this address; refuse (429)
    over the hourly limit, counting nothing."""
    maximum = int(_setting("EVR_SIGNUPS_PER_IP", 5))
    if not ip_hash or maximum <= 0:
        return
    retry_after = rate_limit_retry_after(SIGNUP_ACTION, [f"ip:{ip_hash}"], [(maximum, 60 * 60)])
    if retry_after is not None:
        message = TOO_MANY_SIGNUPS.format(wait=wait_in_words(retry_after))
        raise Refused(message, status=429, retry_after=retry_after, code="throttled")


# A reader's own data


def _when(value):
    return value.isoformat() if value is not None else None


@transaction.atomic
def account_data(*, user):
    """Everything the site keeps about this account, as plain JSON-ready data: the account,
    its comments, poll votes, helpful marks and reports (read in one transaction, so the
    parts agree with each other)."""
    comments = (
        Comment.objects.filter(user=user)
        .select_related("article", "stance_choice")
        .order_by("created_at", "pk")
    )
    votes = Vote.objects.filter(user=user).select_related("poll__article", "choice")
    marks = HelpfulMark.objects.filter(user=user).select_related("comment")
    reports = CommentReport.objects.filter(user=user).order_by("created_at", "pk")
    return {
        "exported_at": _when(timezone.now()),
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "comments": [
            {
                "id": comment.pk,
                "article": comment.article.headline,
                "article_url": comment.article.get_absolute_url(),
                "url": comment.get_absolute_url(),
                "in_reply_to": comment.parent_id,
                "author_name": comment.author_name,
                "text": comment.body,
                "status": comment.status,
                "created_at": _when(comment.created_at),
                "edited_at": _when(comment.edited_at),
                "deleted_at": _when(comment.deleted_at),
                "helpful_count": comment.helpful_count,
                "stance": comment.stance_choice.label if comment.stance_choice else None,
                "show_stance": comment.show_stance,
                "notify_replies": comment.notify_replies,
            }
            for comment in comments
        ],
        "poll_votes": [
            {
                "article": vote.poll.article.headline,
                "question": vote.poll.question,
                "choice": vote.choice.label,
                "created_at": _when(vote.created_at),
                "changed_at": _when(vote.changed_at),
            }
            for vote in votes.order_by("created_at", "pk")
        ],
        "helpful_marks": [
            {
                "comment_id": mark.comment_id,
                "comment_url": mark.comment.get_absolute_url(),
                "created_at": _when(mark.created_at),
            }
            for mark in marks.order_by("created_at", "pk")
        ],
        "reports": [
            {
                "comment_id": report.comment_id,
                "reason": report.reason,
                "note": report.note,
                "created_at": _when(report.created_at),
            }
            for report in reports
        ],
    }


def account_data_filename():
    return f"ev-reader-data-{timezone.now():%Y-%m-%d}.json"


def account_email_set(*, user, email):
    """Set the address this account's reply emails go to ("": none, and so no reply emails).
    The reader's own copies of pages are rendered again: the comment form offers "Email me
    when someone replies" only to a reader with an address."""
    user.email = email
    user.save(update_fields=["email"])
    bump(Reader(user=user).version_name)


# Closing an account


def account_check_can_delete(*, user):
    """Staff accounts hold the admin's history of changes: an administrator closes them."""
    if user.is_staff or user.is_superuser:
        raise Refused(STAFF_CANNOT_CLOSE, status=403)


@transaction.atomic
def account_delete(*, user):
    """Close a reader's account. What they wrote and did stays, by no one:

    - comments show "Deleted reader" and lose their link to the account;
    - poll votes, helpful marks and reports are kept, unlinked the same way, so every count
      (PollChoice.vote_count, Comment.helpful_count, Comment.report_count) stays exact.

    Each row gets the same new "deleted-<random>" reader token instead of the account, as the
    models' constraints want a row to be either an account's or a token's; one token per
    closed account keeps its one vote per poll and one mark per comment, and no guest can
    ever hold it. Returns how many rows of each kind were unlinked.
    """
    account_check_can_delete(user=user)
    return account_close(user=user)


@transaction.atomic
def account_close(*, user):
    """What `account_delete` does once the reader may delete, also used when an administrator
    deletes an account in the admin (which would otherwise delete their votes and marks)."""
    token = f"{DELETED_READER_PREFIX}{secrets.token_hex(16)}"
    unlinked = {"reader_token": token, "user": None}
    counts = {
        "comments": Comment.objects.filter(user=user).update(
            author_name=DELETED_AUTHOR_NAME, email="", **unlinked
        ),
        "votes": Vote.objects.filter(user=user).update(**unlinked),
        "helpful_marks": HelpfulMark.objects.filter(user=user).update(**unlinked),
        "reports": CommentReport.objects.filter(user=user).update(**unlinked),
    }
    user.delete()
    bump(DISCUSSION, POLLS)
    return counts


def account_activity_counts(*, user):
    """How many of each thing the account has: what closing it keeps, by no one."""
    return {
        "comments": Comment.objects.filter(user=user).count(),
        "votes": Vote.objects.filter(user=user).count(),
        "helpful_marks": HelpfulMark.objects.filter(user=user).count(),
        "reports": CommentReport.objects.filter(user=user).count(),
    }
