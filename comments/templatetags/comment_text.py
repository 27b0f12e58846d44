from django import template

from comments.text import render_plain_text

register = template.Library()


@register.filter
def comment_text(value, names=None):
    """{{ comment.body|comment_text:claims.names }}: safe HTML, the car model names linked."""
    return render_plain_text(value or "", names)
