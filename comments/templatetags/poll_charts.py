from dataclasses import replace
from functools import lru_cache

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

register = template.Library()

HISTORY_FIGURE = "comments/_polls.html#history-figure"
HISTORY_ROW = "comments/_polls.html#history-row"
HISTORY_DAY = "comments/_polls.html#history-day"


@register.simple_tag
def history_figure(chart, poll_pk):
    """The opinion chart. It is the same for every reader and changes only when a share
    moves, which most votes in a large poll do not: a worker renders each drawing once."""
    return _history_figure(replace(chart, rows=()), poll_pk)


@lru_cache(maxsize=64)
def _history_figure(drawing, poll_pk):
    return render_to_string(HISTORY_FIGURE, {"chart": drawing, "pk": poll_pk})


@register.simple_tag
def history_rows(chart):
    """The opinion table's rows, one per day. A day's row changes only with its numbers, so
    a worker renders each at most once: a vote redraws today's."""
    answers = len(chart.series)
    return mark_safe("".join(_history_row(row, answers) for row in chart.rows))


@lru_cache(maxsize=1024)
def _history_row(row, answers):
    day_heading = _history_day(row.date)
    return render_to_string(
        HISTORY_ROW, {"row": row, "answers": answers, "day_heading": day_heading}
    )


@lru_cache(maxsize=1024)
def _history_day(day):
    """A row's heading: today's row is drawn again at each vote, its date only once."""
    return render_to_string(HISTORY_DAY, {"day": day})
