from functools import lru_cache

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

register = template.Library()

POLL_OPTIONS = "comments/_polls.html#poll-options"
POLL_BAR = "comments/_polls.html#poll-bar"
HISTORY_FIGURE = "comments/_polls.html#history-figure"
HISTORY_ROW = "comments/_polls.html#history-row"
HISTORY_DAY = "comments/_polls.html#history-day"


@register.simple_tag
def poll_options(panel):
    """The poll's answers to choose from, the reader's own marked. They are the same for
    every reader who chose the same answer, so a worker renders them once for each."""
    options = tuple((row.pk, row.label, row.is_reader_choice) for row in panel.choices)
    return _poll_options(panel.poll.pk, options)


@lru_cache(maxsize=256)
def _poll_options(poll_pk, options):
    return render_to_string(POLL_OPTIONS, {"poll_pk": poll_pk, "options": options})


@register.simple_tag
def poll_bars(panel):
    """The results, one bar per answer. A vote moves its own answer's count and, in a large
    poll, seldom another's share: a worker renders each bar once for the numbers it shows."""
    return mark_safe(
        "".join(
            _poll_bar(row.pk, row.label, row.votes, row.percent, row.is_reader_choice)
            for row in panel.choices
        )
    )


@lru_cache(maxsize=1024)
def _poll_bar(pk, label, votes, percent, is_reader_choice):
    row = {
        "pk": pk,
        "label": label,
        "votes": votes,
        "percent": percent,
        "is_reader_choice": is_reader_choice,
    }
    return render_to_string(POLL_BAR, {"row": row})


@register.simple_tag
def history_figure(chart, poll_pk):
    """The opinion chart. It is the same for every reader and changes only when a share
    moves, which most votes in a large poll do not: a worker renders each drawing once."""
    return _history_figure(chart, poll_pk)


@lru_cache(maxsize=64)
def _history_figure(drawing, poll_pk):
    return render_to_string(HISTORY_FIGURE, {"chart": drawing, "pk": poll_pk})


@register.simple_tag
def history_rows(history):
    """The opinion table's rows, one per day of `history` (a `PollHistory`), newest first.
    A day's row changes only with its numbers, so a worker renders each at most once: a vote
    redraws today's."""
    answers = len(history.choice_ids)
    return mark_safe("".join(_history_row(point, answers) for point in reversed(history.points)))


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
