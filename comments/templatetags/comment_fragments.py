import hashlib

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime

from comments.permissions import CommentPermissions, comment_permissions
from evsite.caching import LocalCache

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


FORM_FIELDS = "comments/_comments.html#form-fields"
# What the key names never changes while the site runs: the time only bounds unused entries.
_blank_form_fields = LocalCache(64)
BLANK_FORM_TTL = 60 * 60


@register.simple_tag(takes_context=True)
def comment_form_fields(context):
    """The comment form's fields (the "form-fields" partial). A guest's blank form is the
    same on every page of an article, so each worker renders it once."""
    form, article = context["form"], context["article"]
    key = form.blank_key(article)
    fields = _blank_form_fields.get(key) if key is not None else None
    if fields is None:
        fields = context.template.engine.get_template(FORM_FIELDS).render(context)
        if key is not None:
            _blank_form_fields.set(key, fields, BLANK_FORM_TTL)
    return fields
