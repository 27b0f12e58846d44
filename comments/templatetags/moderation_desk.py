from django import template

from comments import desk

register = template.Library()


@register.filter
def desk_text(value):
    """Comment text with its web addresses shown but not linked (comments.desk)."""
    return desk.desk_text(value or "")


@register.simple_tag
def moderation_dashboard():
    """The admin index's numbers: {% moderation_dashboard as dashboard %}."""
    return desk.dashboard()
