import hashlib

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime

from comments.permissions import CommentPermissions, comment_permissions

register = template.Library()


@register.filter
def permissions_for(comment, reader):
    """What `reader` may do with `comment`: {% with may=comment|permissions_for:reader %}."""
    if not reader:
        return CommentPermissions()
    return comment_permissions(reader, comment)


@register.filter
def fragment_key(comment, may):
    """Everything a rendered comment shows, as one key: a cached rendering under it can
    only be the rendering of exactly this comment, for a reader allowed exactly this."""
    stance = comment.stance_choice if comment.stance_choice_id else None
    parts = (
        comment.pk,
        comment.created_at.isoformat(),
        naturaltime(comment.created_at),
        comment.edited_at,
        comment.deleted_at,
        comment.status,
        comment.author_name,
        comment.is_by_guest,
        comment.hold_reason,
        comment.helpful_count,
        getattr(comment, "marked_helpful", False),
        stance.label if stance else "",
        comment.show_stance,
        comment.stance_changed,
        comment.depth,
        tuple(vars(may).values()),
        comment.body,
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
