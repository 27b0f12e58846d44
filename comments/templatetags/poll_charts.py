from functools import lru_cache

from django import template
from django.template.loader import render_to_string

register = template.Library()

HISTORY_ROW = "comments/_polls.html#history-row"


@register.simple_tag
def history_row(row, answers):
    """One day of the opinion table. A day's row is the same for every reader and changes
    only with its numbers, so a worker renders each at most once: a vote redraws today's."""
    return _history_row(row, answers)


@lru_cache(maxsize=1024)
def _history_row(row, answers):
    return render_to_string(HISTORY_ROW, {"row": row, "answers": answers})
