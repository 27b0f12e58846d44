"""What a signed-in reader's own pages read: their comments, in every status, with the
replies to them."""

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q

from ..models import Comment
from ..notifications import answered_comments
from ..readers import Reader

ACTIVITY_PAGE_SIZE = 20
STATUS_IN_WORDS = {
    Comment.Status.APPROVED: "Approved",
    # A comment held as spam waits like any other, as its author sees it on the page.
    Comment.Status.PENDING: "Pending moderation",
    Comment.Status.SPAM: "Pending moderation",
    Comment.Status.REJECTED: "Removed by a moderator",
}


def activity_page(*, user, page_number=1) -> Page:
    """A page of this account's comments, newest first, each with `.status_in_words`,
    `.is_listed` (the discussion shows it: its permalink works), `.replies_shown`: the
    replies to it the discussion shows this reader (their own held ones too), oldest first,
    and for a reply `.answers`, the comment it answers, with `.answers_is_listed`.
    Three queries whatever the page holds (the count, the page, the replies), one more when
    a reply may answer a comment at the deepest level (`answered_comments`), and one more
    when the page has replies of theirs (which of the comments they answer are listed)."""
    # As a reader, not a moderator: staff see here what any reader would.
    reader = Reader(user=user)
    listed = Comment.objects.listed_for(reader).filter(pk=OuterRef("pk"))
    comments = (
        Comment.objects.filter(user=user)
        .select_related("article", "parent")
        .annotate(is_listed=Exists(listed))
        .order_by("-created_at", "-pk")
    )
    page = Paginator(comments, ACTIVITY_PAGE_SIZE).get_page(page_number)
    shown = list(page.object_list)
    page.object_list = shown
    replies_to = {comment.pk: [] for comment in shown}
    own_replies = [comment for comment in shown if comment.parent_id is not None]
    replies = []
    # A reply to a comment at the deepest level is stored beside it, under the same parent.
    beside_deepest = {comment.parent_id for comment in shown if comment.depth == Comment.MAX_DEPTH}
    if shown:
        replies = list(
            Comment.objects.listed_for(reader)
            .filter(
                Q(parent_id__in=replies_to)
                | Q(parent_id__in=beside_deepest, depth=Comment.MAX_DEPTH, body__startswith="@"),
                deleted_at__isnull=True,
            )
            .select_related("parent")
            .order_by("created_at", "pk")
        )
    answered = answered_comments([*replies, *own_replies])
    for reply in replies:
        if answered[reply.pk].pk in replies_to:
            replies_to[answered[reply.pk].pk].append(reply)
    listed_answered = set()
    if own_replies:
        listed_answered = set(
            Comment.objects.listed_for(reader)
            .filter(pk__in={answered[comment.pk].pk for comment in own_replies})
            .values_list("pk", flat=True)
        )
    for comment in shown:
        comment.status_in_words = STATUS_IN_WORDS[comment.status]
        comment.replies_shown = replies_to[comment.pk]
        comment.answers = answered.get(comment.pk)
        comment.answers_is_listed = comment.answers is not None and (
            comment.answers.pk in listed_answered
        )
    return page
