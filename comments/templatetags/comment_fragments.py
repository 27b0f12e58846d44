from django import template

from comments.permissions import CommentPermissions, comment_permissions

register = template.Library()


@register.filter
def permissions_for(comment, reader):
    """What `reader` may do with `comment`: {% with may=comment|permissions_for:reader %}."""
    if not reader:
        return CommentPermissions()
    return comment_permissions(reader, comment)
