"""What a reader may do with a comment: one answer, computed from the comment and the reader."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class CommentPermissions:
    is_mine: bool = False
    can_edit: bool = False
    can_delete: bool = False
    can_reply: bool = False
    can_mark: bool = False
    can_report: bool = False
    sees_status: bool = False


def comment_permissions(reader, comment, *, now=None) -> CommentPermissions:
    """What `reader` may do with `comment`. The author edits within the edit window and
    deletes any time; others reply to, mark and report approved comments."""
    mine = reader.owns(comment)
    live = not comment.is_deleted
    public = live and not comment.is_held
    edit_until = (now or timezone.now()) - timedelta(minutes=settings.EVR_COMMENT_EDIT_MINUTES)
    can_reply = public and reader.can_post
    return CommentPermissions(
        is_mine=mine,
        can_edit=mine and live and comment.created_at > edit_until,
        can_delete=mine and live,
        can_reply=can_reply,
        can_mark=can_reply and not mine,
        can_report=public and not mine,
        sees_status=comment.is_held and (mine or reader.is_moderator),
    )
