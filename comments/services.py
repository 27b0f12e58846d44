"""Writes to the reader discussion that touch more than one row."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Func, OuterRef, Q, Subquery
from django.utils import timezone

from .models import Comment, CommentReport, HelpfulMark, Vote
from .readers import reader_lookup

REPORTS_HOLD_REASON = "Hidden after {count} reader reports, waiting for a moderator."


def reader_stance(*, article, user, reader_token):
    """The choice this reader currently has in a poll of `article`, if they voted."""
    reader = reader_lookup(user=user, reader_token=reader_token)
    if reader is None:
        return None
    vote = (
        Vote.objects.filter(poll__article=article, **reader)
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


@transaction.atomic
def comment_create(
    *,
    article,
    parent,
    user,
    reader_token,
    author_name,
    email="",
    body,
    ip_hash="",
    status=Comment.Status.APPROVED,
    hold_reason="",
):
    """Save a comment or reply. A reply to the deepest level joins that level and says whom
    it answers with "@name"."""
    parent, answered_name = reply_target(parent)
    if answered_name and not body.startswith(f"@{answered_name}"):
        body = f"@{answered_name} {body}"
    comment = Comment.objects.create(
        article=article,
        parent=parent,
        depth=parent.depth + 1 if parent else 0,
        user=user,
        reader_token="" if user is not None else reader_token,
        author_name=author_name,
        email=email,
        body=body,
        status=status,
        hold_reason=hold_reason,
        ip_hash=ip_hash,
        stance_choice=reader_stance(article=article, user=user, reader_token=reader_token),
    )
    if parent is not None:
        thread_reply_counts_refresh([comment])
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


def comment_edit(*, comment, body, status=None, hold_reason=""):
    comment.body = body
    comment.edited_at = timezone.now()
    fields = ["body", "edited_at"]
    if status is not None and status != comment.status:
        comment.status = status
        comment.hold_reason = hold_reason
        fields += ["status", "hold_reason"]
    comment.save(update_fields=fields)
    if "status" in fields:
        thread_reply_counts_refresh([comment])
    return comment


def comment_delete(*, comment):
    """Soft delete: the row stays so replies keep their place under "[deleted]"."""
    if comment.deleted_at is None:
        comment.deleted_at = timezone.now()
        comment.save(update_fields=["deleted_at"])
        thread_reply_counts_refresh([comment])
    return comment


def comment_set_show_stance(*, comment, show):
    comment.show_stance = show
    comment.save(update_fields=["show_stance"])
    return comment


def helpful_toggle(*, comment, user, reader_token):
    """Mark `comment` helpful for this reader, or take the mark back. Returns True if marked."""
    reader = reader_lookup(user=user, reader_token=reader_token)
    if reader is None:
        raise ValueError("A guest's helpful mark needs a reader token.")
    with transaction.atomic():
        deleted, _ = HelpfulMark.objects.filter(comment=comment, **reader).delete()
        if deleted:
            Comment.objects.filter(pk=comment.pk).update(helpful_count=F("helpful_count") - 1)
            return False
        try:
            with transaction.atomic():
                HelpfulMark.objects.create(
                    comment=comment,
                    user=user,
                    reader_token="" if user is not None else reader_token,
                )
        except IntegrityError:
            return True  # a simultaneous request from the same reader marked it first
        Comment.objects.filter(pk=comment.pk).update(helpful_count=F("helpful_count") + 1)
        return True


def comment_report(*, comment, user, reader_token, reason, note="", ip_hash=""):
    """Record a reader's report. Returns False if this reader had already reported it.

    Once enough different readers report an approved comment it is held for a moderator.
    Reports from an address that already reported it are kept for moderators but do not
    count again, so clearing cookies cannot hide a comment single-handed.
    """
    with transaction.atomic():
        same_address = bool(ip_hash) and comment.reports.filter(ip_hash=ip_hash).exists()
        try:
            with transaction.atomic():
                CommentReport.objects.create(
                    comment=comment,
                    user=user,
                    reader_token="" if user is not None else reader_token,
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
        return True
