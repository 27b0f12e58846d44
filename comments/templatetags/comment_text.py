from django import template

from comments.text import render_plain_text

register = template.Library()


@register.filter
def comment_text(value):
    return render_plain_text(value or "")
