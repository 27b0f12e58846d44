"""Writes to the comment section, and the rules they obey.

Each service takes the `reader` doing it, checks what that reader may do, and raises `Refused`
when a rule says no; the views only show the outcome.
"""

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Func, OuterRef, Q, Subquery
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.text import Truncator

from evsite.caching import DISCUSSION, bump
from evsite.prepared import prepared_insert

from .claims import ANCHOR_UNKNOWN, claims_for
from .models import (
    Comment,
    CommentReport,
    HelpfulMark,
    ModerationAction,
    ReaderControl,
    Vote,
)
from .moderation import comment_verdict
from .notifications import reply_notices_queue
from .permissions import comment_permissions
from .ratelimit import comment_rate_limit_retry_after, refuse_over_limit
from .refusals import Refused
from .text import clean_display_name, shows_something

REPORTS_HOLD_REASON = "Hidden after {count} reader reports, waiting for a moderator."
AUTHOR_NAME_MAX_LENGTH = Comment._meta.get_field("author_name").max_length

GUESTS_CLOSED = "Log in or sign up to comment."
NO_ACCOUNT_EMAIL = (
    "Your account has no email address to send replies to: post again without reply "
    "emails, or add an address on your data page first."
)
REPLIES_CLOSED = "This comment can no longer be replied to."
EDIT_WINDOW_OVER = "Comments can only be edited in the first {minutes} minutes."
NOT_YOURS = "You can only change your own comments."
CANNOT_MARK = "You cannot mark this comment as helpful."
CANNOT_REPORT = "You cannot report this comment."
TOO_MANY_POSTS = (
    "You are posting faster than the limit allows. Wait {seconds} second{plural}, "
    "then post again: your text is still here."
)
TOO_MANY_MARKS = (
    "You are marking comments faster than the limit allows. "
    "Wait {seconds} second{plural}, then try again."
)
TOO_MANY_REPORTS = (
    "You have sent a lot of reports in a short time. Wait {seconds} second{plural}, "
    "then send this one again."
)

# Rate limits per account or guest session and per address, as (setting, default, window):
# a setting of 0 turns that limit off. Marks are generous (a reader reading down a long
# thread), reports are not (each one is read by a moderator).
HELPFUL_LIMITS = (
    ("EVR_HELPFUL_MARKS_PER_MINUTE", 60, 60),
    ("EVR_HELPFUL_MARKS_PER_HOUR", 600, 60 * 60),
)
REPORT_LIMITS = (
    ("EVR_REPORTS_PER_MINUTE", 5, 60),
    ("EVR_REPORTS_PER_HOUR", 20, 60 * 60),
)


def reader_stance(*, article, reader):
    """The choice this reader currently has in a poll of `article`, if they voted."""
    if reader.owns_nothing:
        return None
    vote = (
        Vote.objects.filter(reader.rows(), poll__article=article)
        .select_related("choice")
        .order_by("poll__position", "poll_id")
        .first()
    )
    return vote.choice if vote else None


def reply_target(parent):
    """Where a reply to `parent` goes, and whom it should name when it cannot nest deeper."""
    if parent is None or parent.depth < Comment.MAX_DEPTH:
        return parent, ""
    return parent.parent, parent.author_name


def account_display_name(user):
    """The name shown on a signed-in reader's comment, cleaned like a guest's name (no bidi
    overrides or invisible characters). Accounts allow longer names than a comment stores,
    so a long one is shortened rather than refused by the database."""
    name = clean_display_name(user.get_full_name())
    if not shows_something(name):
        name = clean_display_name(user.get_username())
    return Truncator(name).chars(AUTHOR_NAME_MAX_LENGTH)


def comment_check_can_post(*, reader, parent=None):
    """Refuse before anything else when this reader may not post here at all."""
    if not reader.can_post:
        raise Refused(GUESTS_CLOSED, status=403, about=parent)
    if parent is not None and not parent.accepts_replies:
        raise Refused(REPLIES_CLOSED, status=409, about=parent)


def comment_submit(
    *,
    article,
    reader,
    body,
    author_name="",
    email="",
    parent=None,
    honeypot_filled=False,
    too_fast=False,
    notify_replies=False,
    anchor="",
    also=None,
):
    """A reader posts a comment or reply: every rule first (who may post, spam and
    moderation, then the rate limits), then the comment is saved as published or held. A
    new comment may respond to a paragraph or fact card of the article (`anchor`); a reply
    answers its comment, so it keeps none."""
    comment_check_can_post(reader=reader, parent=parent)
    anchor = "" if parent is not None else anchor
    if anchor and claims_for(None, article).get(anchor) is None:
        raise Refused(ANCHOR_UNKNOWN, status=422, field="anchor")
    if notify_replies and reader.user is not None and not reader.user.email:
        raise Refused(NO_ACCOUNT_EMAIL, status=422, field="notify_replies")
    verdict = _verdict_unless_refused(
        article=article,
        body=body,
        reader=reader,
        honeypot_filled=honeypot_filled,
        too_fast=too_fast,
    )
    # Only a comment that is taken (published or held) counts against the limits: one the
    # rules refused (too fast, the same text again) uses up none of the reader's allowance.
    retry_after = comment_rate_limit_retry_after(reader)
    if retry_after is not None:
        message = TOO_MANY_POSTS.format(seconds=retry_after, plural=pluralize(retry_after))
        raise Refused(message, status=429, retry_after=retry_after)
    return comment_create(
        article=article,
        parent=parent,
        reader=reader,
        author_name=account_display_name(reader.user) if reader.user else author_name,
        email="" if reader.user else email,
        body=body,
        status=verdict.status,
        hold_reason=verdict.reason,
        notify_replies=notify_replies,
        also=also,
        anchor=anchor,
    )


def _verdict_unless_refused(
    *, article, body, reader, honeypot_filled=False, too_fast=False, editing=None
):
    """The moderation verdict on these words; a refusal is raised on the comment's text."""
    verdict = comment_verdict(
        article=article,
        body=body,
        reader=reader,
        honeypot_filled=honeypot_filled,
        too_fast=too_fast,
        editing=editing,
    )
    if verdict.refuse:
        raise Refused(verdict.reason, status=422, field="body")
    return verdict


def comment_create(
    *,
    article,
    reader,
    author_name,
    body,
    parent=None,
    email="",
    status=Comment.Status.APPROVED,
    hold_reason="",
    notify_replies=False,
    anchor="",
    also=None,
):
    """Save a comment or reply as it is, with no rule applied. A reply to the deepest level
    joins that level and says whom it answers with "@name". `also` is called inside the
    comment's transaction, for a write of the caller's that belongs with it (a new guest's
    session)."""
    answered = parent
    parent, answered_name = reply_target(parent)
    if answered_name and not body.startswith(f"@{answered_name}"):
        body = f"@{answered_name} {body}"
    stance = reader_stance(article=article, reader=reader)
    with transaction.atomic():
        comment = prepared_insert(
            Comment(
                article=article,
                parent=parent,
                depth=parent.depth + 1 if parent else 0,
                user=reader.user,
                reader_token="" if reader.user is not None else reader.token,
                author_name=author_name,
                email=email,
                body=body,
                status=status,
                hold_reason=hold_reason,
                ip_hash=reader.ip_hash,
                stance_choice=stance,
                notify_replies=notify_replies,
                anchor=anchor,
            )
        )
        if parent is not None:
            thread_reply_counts_refresh([comment])
            if status == Comment.Status.APPROVED:
                reply_notices_queue([comment.pk], answered=answered, site_url=reader.site_url)
        if also is not None:
            also()
    # After the transaction, as a vote does (polls/services.py): the database's write lock
    # never waits on the cache.
    bump(DISCUSSION, *reader.own_versions, comments_added_only=True)
    return comment


def thread_reply_counts_refresh(comments):
    """Recount, for the threads these comments belong to, the replies readers can see.

    A top-level comment's reply_count (what "most discussed" sorts by) is every approved,
    undeleted reply anywhere in its thread; recounting keeps it exact whatever changed.
    """
    roots = set()
    for comment in Comment.objects.filter(pk__in=[c.pk for c in comments]).select_related("parent"):
        if comment.parent is None:
            roots.add(comment.pk)
        else:
            roots.add(comment.parent.parent_id or comment.parent_id)
    visible_replies = (
        Comment.objects.filter(
            Q(parent=OuterRef("pk")) | Q(parent__parent=OuterRef("pk")),
            status=Comment.Status.APPROVED,
            deleted_at__isnull=True,
        )
        .order_by()
        .annotate(total=Func(F("pk"), function="COUNT"))
        .values("total")
    )
    Comment.objects.filter(pk__in=roots).update(reply_count=Subquery(visible_replies))


def comment_check_own(*, comment, reader):
    if not comment_permissions(reader, comment).is_mine:
        raise Refused(NOT_YOURS, about=comment)


def comment_check_can_edit(*, comment, reader):
    comment_check_own(comment=comment, reader=reader)
    if not comment_permissions(reader, comment).can_edit:
        message = EDIT_WINDOW_OVER.format(minutes=settings.EVR_COMMENT_EDIT_MINUTES)
        raise Refused(message, about=comment)


def comment_edit(*, comment, reader, body):
    """The author changes their words within the edit window. Returns False when nothing
    changed. New words are checked like a new comment: a held edit waits for a moderator."""
    comment_check_can_edit(comment=comment, reader=reader)
    if body == comment.body:
        return False  # saving the same words is not an edit: it is not marked "edited"
    verdict = _verdict_unless_refused(
        article=comment.article, body=body, reader=reader, editing=comment
    )
    comment.body = body
    comment.edited_at = timezone.now()
    fields = ["body", "edited_at"]
    if verdict.is_held and not comment.is_held:
        comment.status = verdict.status
        comment.hold_reason = verdict.reason
        fields += ["status", "hold_reason"]
    comment.save(update_fields=fields)
    if "status" in fields:
        thread_reply_counts_refresh([comment])
    bump(DISCUSSION, reader.version_name)
    return True


def comment_delete(*, comment, reader):
    """Soft delete: the row stays so replies keep their place under "[deleted]"."""
    comment_check_own(comment=comment, reader=reader)
    if comment.deleted_at is None:
        comment.deleted_at = timezone.now()
        comment.save(update_fields=["deleted_at"])
        thread_reply_counts_refresh([comment])
        bump(DISCUSSION, reader.version_name)
    return comment


def comment_stance_toggle(*, comment, reader):
    """Show or hide the author's poll-vote badge on their comment."""
    comment_check_own(comment=comment, reader=reader)
    comment.show_stance = not comment.show_stance
    comment.save(update_fields=["show_stance"])
    bump(DISCUSSION, reader.version_name)
    return comment


def helpful_toggle(*, comment, reader):
    """Mark `comment` helpful for this reader, or take the mark back. Returns True if marked.

    Every mark is kept, but `helpful_count` (what "most helpful" sorts by) counts addresses:
    marks from an address that already marked the comment do not count again, so clearing
    cookies cannot push a comment up single-handed.
    """
    if reader.lookup() is None:
        raise ValueError("A guest's helpful mark needs a reader token.")
    if not comment_permissions(reader, comment).can_mark:
        raise Refused(CANNOT_MARK, about=comment)
    refuse_over_limit("helpful", reader, HELPFUL_LIMITS, TOO_MANY_MARKS, about=comment)
    with transaction.atomic():
        bump(DISCUSSION, reader.version_name)
        # One change to a comment's marks at a time: the next waits for this one to commit,
        # then counts the marks as they are (READ COMMITTED reads afresh each statement).
        list(Comment.objects.select_for_update().filter(pk=comment.pk).values_list("pk"))
        deleted, _ = HelpfulMark.objects.filter(reader.rows(), comment=comment).delete()
        marked = not deleted
        if marked:
            try:
                with transaction.atomic():
                    HelpfulMark.objects.create(
                        comment=comment, **reader.new_row_fields(), ip_hash=reader.ip_hash
                    )
            except IntegrityError:
                return True  # a simultaneous request from the same reader marked it first
        helpful_counts_refresh([comment.pk])
        return marked


def helpful_counts_refresh(comment_pks):
    """Set each comment's helpful_count to the addresses its marks came from (a mark with no
    address recorded, from before addresses were kept, counts on its own)."""
    for pk in comment_pks:
        counts = HelpfulMark.objects.filter(comment_id=pk).aggregate(
            addresses=Count("ip_hash", distinct=True, filter=~Q(ip_hash="")),
            unknown=Count("pk", filter=Q(ip_hash="")),
        )
        Comment.objects.filter(pk=pk).update(helpful_count=counts["addresses"] + counts["unknown"])


def comment_check_can_report(*, comment, reader):
    if not comment_permissions(reader, comment).can_report:
        raise Refused(CANNOT_REPORT, about=comment)


def comment_report(*, comment, reader, reason, note=""):
    """Record a reader's report. Returns False if this reader had already reported it.
    Reports are rate-limited per reader and per address (429, `REPORT_LIMITS`).

    Once enough different readers report an approved comment it is held for a moderator.
    Reports from an address that already reported it are kept for moderators but do not
    count again, so clearing cookies cannot hide a comment single-handed.
    """
    comment_check_can_report(comment=comment, reader=reader)
    refuse_over_limit("report", reader, REPORT_LIMITS, TOO_MANY_REPORTS, about=comment)
    bump(reader.version_name)
    ip_hash = reader.ip_hash
    with transaction.atomic():
        same_address = bool(ip_hash) and comment.reports.filter(ip_hash=ip_hash).exists()
        try:
            with transaction.atomic():
                CommentReport.objects.create(
                    comment=comment,
                    **reader.new_row_fields(),
                    reason=reason,
                    note=note,
                    ip_hash=ip_hash,
                )
        except IntegrityError:
            return False
        if same_address:
            return True
        Comment.objects.filter(pk=comment.pk).update(report_count=F("report_count") + 1)
        # report_count holds the reports since a moderator last approved the comment.
        threshold = settings.EVR_REPORTS_TO_HIDE
        hidden = Comment.objects.filter(
            pk=comment.pk, status=Comment.Status.APPROVED, report_count__gte=threshold
        ).update(
            status=Comment.Status.PENDING,
            hold_reason=REPORTS_HOLD_REASON.format(count=threshold),
        )
        if hidden:
            thread_reply_counts_refresh([comment])
            bump(DISCUSSION)
        return True


# Moderation


# What each status a moderator sets is called in a comment's moderation history.
MODERATION_KINDS = {
    Comment.Status.APPROVED: ModerationAction.Kind.APPROVE,
    Comment.Status.REJECTED: ModerationAction.Kind.REJECT,
    Comment.Status.SPAM: ModerationAction.Kind.SPAM,
}


@transaction.atomic
def comments_moderate(*, comments, status, moderator, log=True, reason="", kind=None):
    """A moderator sets the status of `comments` (a queryset); returns how many were set.

    Approving is the moderator's answer to the reports so far: the hold reason goes and only
    new reports count towards hiding the comment again. Each change is recorded in the
    comment's moderation history (who, when, from and to which status, `reason`; `kind`
    says what it was when it was more than the status, a ban), in the admin's history
    unless the caller records it there, and the threads' reply counts follow.
    """
    changed = list(comments.select_related(None).only("pk", "author_name", "body", "status"))
    if not changed:
        return 0
    kind = kind or MODERATION_KINDS.get(status)
    if kind is not None:  # setting a comment back to pending is no moderation decision
        moderation_actions_record(
            comments=changed, kind=kind, moderator=moderator, to_status=status, reason=reason
        )
    fields = {"status": status}
    if status == Comment.Status.APPROVED:
        fields.update(report_count=0, hold_reason="")
    Comment.objects.filter(pk__in=[comment.pk for comment in changed]).update(**fields)
    thread_reply_counts_refresh(changed)
    if status == Comment.Status.APPROVED:
        reply_notices_queue([comment.pk for comment in changed])
    bump(DISCUSSION)
    if log:
        LogEntry.objects.log_actions(
            moderator.pk,
            changed,
            CHANGE,
            f"Set status to {Comment.Status(status).label}.",
            single_object=False,
        )
    return len(changed)


def moderation_actions_record(*, comments, kind, moderator, to_status=None, reason=""):
    """Add one entry to the moderation history of each of `comments` (as read before the
    change, so their status is where it went from); `to_status` None leaves it unchanged."""
    ModerationAction.objects.bulk_create(
        ModerationAction(
            comment_id=comment.pk,
            actor=moderator,
            kind=kind,
            from_status=comment.status,
            to_status=comment.status if to_status is None else to_status,
            reason=reason,
        )
        for comment in comments
    )


def comment_reports_recount(*, comment):
    """After a moderator dismisses reports, only those left count towards hiding it."""
    remaining = comment.reports.count()
    Comment.objects.filter(pk=comment.pk, report_count__gt=remaining).update(report_count=remaining)


@transaction.atomic
def readers_control(*, user_ids, is_banned=None, always_premoderate=None, note=None):
    """Set moderators' controls (ban, always pre-moderate) for these accounts."""
    changes = {
        name: value
        for name, value in {
            "is_banned": is_banned,
            "always_premoderate": always_premoderate,
            "note": note,
        }.items()
        if value is not None
    }
    for user_id in user_ids:
        ReaderControl.objects.update_or_create(user_id=user_id, defaults=changes)
    return len(user_ids)


def readers_control_authors(*, comments, **controls):
    """Apply reader controls to the account holders among the authors of `comments`.
    Returns (accounts changed, comments by guests, who have no account to control)."""
    user_ids = set(comments.filter(user__isnull=False).values_list("user_id", flat=True))
    guests = comments.filter(user__isnull=True).count()
    return readers_control(user_ids=user_ids, **controls), guests


@transaction.atomic
def comments_authors_ban(*, comments, moderator, reason="", reject=False):
    """Ban the accounts that wrote `comments` (a queryset), `reason` becoming their controls'
    note, and record the ban in the moderation history of each of those comments; `reject`
    rejects them as well. Guests have no account to ban: their comments stay as they are.
    Returns (accounts banned, comments by guests)."""
    by_accounts = comments.filter(user__isnull=False)
    banned, guests = readers_control_authors(comments=comments, is_banned=True, note=reason or None)
    if reject:
        comments_moderate(
            comments=by_accounts,
            status=Comment.Status.REJECTED,
            moderator=moderator,
            reason=reason,
            kind=ModerationAction.Kind.BAN,
        )
    else:
        moderation_actions_record(
            comments=by_accounts.select_related(None).only("pk", "status"),
            kind=ModerationAction.Kind.BAN,
            moderator=moderator,
            reason=reason,
        )
    return banned, guests
