"""Reading a poll: its state, who may see its results, and the numbers themselves."""

import math
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property

from django.core.cache import cache
from django.db.models import Count, F, Prefetch, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from evsite.caching import POLLS, versions

from ..models import Poll, PollChoice, Vote
from ..ratelimit import CACHE_ERRORS
from .charts import history_chart


class PollState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


def poll_state(poll, *, now=None):
    now = now or timezone.now()
    if poll.opens_at > now:
        return PollState.SCHEDULED
    if poll.closes_at is not None and poll.closes_at <= now:
        return PollState.CLOSED
    return PollState.OPEN


def largest_remainder_percentages(counts, *, total=100):
    """Whole-number shares of `total` that add up to exactly `total` (Hamilton's method).

    Each count gets the floor of its exact share; the points left over go to the largest
    remainders, ties to the larger count and then to the earlier position, so the result is
    stable. No votes at all gives all zeros.
    """
    counts = list(counts)
    votes = sum(counts)
    if votes == 0:
        return [0] * len(counts)
    shares = [divmod(count * total, votes) for count in counts]
    percentages = [whole for whole, _ in shares]
    left_over = total - sum(percentages)
    by_remainder = sorted(
        range(len(counts)), key=lambda index: (-shares[index][1], -counts[index], index)
    )
    for index in by_remainder[:left_over]:
        percentages[index] += 1
    return percentages


def results_visible(poll, *, state, has_voted, is_editor):
    """Whether this reader may see the counts, given the poll's visibility setting."""
    if is_editor:
        return True
    visibility = Poll.ResultsVisibility
    if poll.results_visibility == visibility.ALWAYS:
        return True
    if poll.results_visibility == visibility.AFTER_VOTE:
        return has_voted or state == PollState.CLOSED
    if poll.results_visibility == visibility.AFTER_CLOSE:
        return state == PollState.CLOSED
    return False


def hidden_results_note(poll, *, state):
    visibility = Poll.ResultsVisibility
    if poll.results_visibility == visibility.AFTER_VOTE:
        return "Results appear once you have voted."
    if poll.results_visibility == visibility.AFTER_CLOSE and state != PollState.CLOSED:
        return "Results appear when the poll closes."
    return "Results of this poll are shown to editors only."


@dataclass(frozen=True)
class ChoiceResult:
    choice: PollChoice
    votes: int
    percent: int
    is_reader_choice: bool

    @property
    def pk(self):
        return self.choice.pk

    @property
    def label(self):
        return self.choice.label


@dataclass(frozen=True)
class PollPanel:
    """One poll as a particular reader sees it: what they voted, and the results if allowed."""

    poll: Poll
    state: PollState
    reader_choice_id: int | None
    results_visible: bool
    choices: list[ChoiceResult] = field(default_factory=list)
    total_votes: int = 0
    message: str = ""
    message_is_error: bool = False

    @property
    def is_open(self):
        return self.state == PollState.OPEN

    @property
    def is_closed(self):
        return self.state == PollState.CLOSED

    @property
    def has_voted(self):
        return self.reader_choice_id is not None

    @property
    def can_vote(self):
        return self.is_open and (not self.has_voted or self.poll.allow_vote_change)

    @property
    def reader_choice(self):
        return next((row for row in self.choices if row.is_reader_choice), None)

    @property
    def hidden_results_note(self):
        return hidden_results_note(self.poll, state=self.state)

    @property
    def changes_in(self):
        """Seconds until this poll opens or closes by itself, or None."""
        moment = self.poll.opens_at if self.state == PollState.SCHEDULED else None
        if self.state == PollState.OPEN:
            moment = self.poll.closes_at
        return (moment - timezone.now()).total_seconds() if moment else None

    @property
    def results_summary(self):
        """The reader's choice in the results, in words, once they may see them."""
        row = self.reader_choice
        if not self.results_visible or row is None:
            return ""
        plural = "" if self.total_votes == 1 else "s"
        return f"“{row.label}” has {row.percent}% of {self.total_votes} vote{plural}."

    @cached_property
    def history(self):
        """How the votes grew day by day (a `PollHistory`), once the reader may see results."""
        if not self.results_visible:
            return None
        return poll_history(self.poll, choice_ids=[row.pk for row in self.choices])

    @cached_property
    def history_chart(self):
        """The history drawn as a line chart, or None while there is nothing to draw."""
        if self.history is None or not self.history.has_votes:
            return None
        return history_chart(self.history, labels=[row.label for row in self.choices])

    def with_message(self, message, *, is_error=False):
        return replace(self, message=message, message_is_error=is_error)


def choices_with_counts():
    """Choices in order, each with its `vote_count` counter."""
    return PollChoice.objects.order_by("position", "pk")


def polls_with_counts():
    """Polls whose `choices` are prefetched with their vote counters: two queries for any
    number of polls and votes."""
    return Poll.objects.prefetch_related(
        Prefetch("choices", queryset=choices_with_counts(), to_attr="counted_choices")
    )


def poll_counts_refresh(poll):
    """Read a poll's counters again (after a vote), in two small queries."""
    poll.refresh_from_db(fields=["refused_duplicates", "refused_over_cap", "closes_at"])
    poll.counted_choices = list(choices_with_counts().filter(poll=poll))
    return poll


def reader_choice_ids(reader, polls):
    """{poll id: chosen choice id} for this reader, in one query (none for a new guest)."""
    lookup = reader.lookup()
    if lookup is None or not polls:
        return {}
    rows = Vote.objects.filter(poll__in=polls, **lookup).values_list("poll_id", "choice_id")
    return dict(rows)


def build_panel(poll, *, reader_choice_id, is_editor, now=None):
    """A PollPanel from a poll fetched with `polls_with_counts()`."""
    state = poll_state(poll, now=now)
    visible = results_visible(
        poll, state=state, has_voted=reader_choice_id is not None, is_editor=is_editor
    )
    counted = poll.counted_choices
    counts = [choice.vote_count for choice in counted]
    percentages = largest_remainder_percentages(counts)
    rows = [
        ChoiceResult(
            choice=choice,
            votes=choice.vote_count,
            percent=percent,
            is_reader_choice=choice.pk == reader_choice_id,
        )
        for choice, percent in zip(counted, percentages, strict=True)
    ]
    return PollPanel(
        poll=poll,
        state=state,
        reader_choice_id=reader_choice_id,
        results_visible=visible,
        choices=rows,
        total_votes=sum(counts),
    )


def poll_panel(reader, poll):
    """One poll, fetched with `polls_with_counts()`, as this reader sees it."""
    chosen = reader_choice_ids(reader, [poll]).get(poll.pk)
    return build_panel(poll, reader_choice_id=chosen, is_editor=reader.is_staff)


def article_poll_panels(reader, article):
    """The article's open and closed polls as this reader sees them, in three queries."""
    now = timezone.now()
    polls = list(polls_with_counts().filter(article=article, opens_at__lte=now))
    chosen = reader_choice_ids(reader, polls)
    return [
        build_panel(poll, reader_choice_id=chosen.get(poll.pk), is_editor=reader.is_staff, now=now)
        for poll in polls
    ]


# --- How opinion moved ----------------------------------------------------------------------

# Past this many days a poll's history is sampled once a week (or every few weeks), so the
# chart, its table and the JSON stay small however long the poll runs.
MAX_HISTORY_POINTS = 120
# The key carries the polls version and the last day, so an entry is never stale: this only
# bounds how long an unused one stays.
HISTORY_CACHE_TTL = 24 * 60 * 60


@dataclass(frozen=True)
class HistoryPoint:
    """The votes each answer had at the end of `date` (in the order of the history's
    `choice_ids`), counted from the first one."""

    date: date
    votes: tuple[int, ...]

    @property
    def total(self):
        return sum(self.votes)

    @property
    def percents(self):
        return tuple(largest_remainder_percentages(self.votes))


@dataclass(frozen=True)
class PollHistory:
    choice_ids: tuple[int, ...]
    points: tuple[HistoryPoint, ...]
    step_days: int = 1

    @property
    def has_votes(self):
        return bool(self.points) and self.points[-1].total > 0

    def as_json(self):
        return [
            {
                "date": point.date.isoformat(),
                "choices": {
                    str(choice_id): votes
                    for choice_id, votes in zip(self.choice_ids, point.votes, strict=True)
                },
            }
            for point in self.points
        ]


def history_span(poll, *, now=None):
    """The first and last day of a poll's history, in the site's time zone: from the day it
    opened to today, or to the day it closed."""
    zone = timezone.get_default_timezone()
    now = now or timezone.now()
    end = now
    if poll.closes_at is not None and poll.closes_at <= now:
        # A poll that closes at midnight has its last votes on the day before.
        end = poll.closes_at - timedelta(microseconds=1)
    return timezone.localdate(poll.opens_at, zone), timezone.localdate(end, zone)


def poll_history(poll, *, choice_ids, now=None):
    """The cumulative votes of each choice at the end of each day of the poll.

    Each vote counts, for the choice it holds now, from the day it was first cast (its
    `created_at`, in the site's TIME_ZONE): only the current choice is stored, so a reader who
    changed their vote moves the curve back to the day they first voted, and a changed vote
    never counts twice. The last point is every vote there is: the choices' counters.

    Days without new votes carry the totals before them. The span runs from the day the poll
    opened (or an earlier first vote) to today or its closing day; past `MAX_HISTORY_POINTS`
    days it is sampled every 7 days (or a multiple of 7), counted back from the last day.

    Cached under the polls version. When that moves (a vote), the last day's votes are
    counted again; the GROUP BY (day, choice) over the days before it, the costly part on a
    large poll (a date in the site's zone for every vote), runs again only when those days
    changed: a new day, an earlier vote changed or deleted. Both read the `vote_by_day`
    index.
    """
    first_day, last_day = history_span(poll, now=now)
    zone = timezone.get_default_timezone()
    choice_ids = tuple(choice_ids)
    version = versions(POLLS)
    key = None
    if version is not None:
        key = _history_key("evr:poll-history", poll.pk, version[0], zone, first_day, last_day)
    history = _cached(key)
    if history is None or history.choice_ids != choice_ids:
        history = _build_history(poll, choice_ids, first_day, last_day, zone)
        _keep(key, history)
    return history


def _history_key(*parts):
    return ":".join(map(str, parts))


def _cached(key):
    try:
        return cache.get(key) if key else None
    except CACHE_ERRORS:
        return None


def _keep(key, value):
    if key:
        with suppress(CACHE_ERRORS):  # the next request builds it again
            cache.set(key, value, HISTORY_CACHE_TTL)


def _votes_since(poll, moment):
    """{choice id: votes cast since `moment`}: a range of the `vote_by_day` index."""
    rows = (
        Vote.objects.filter(poll=poll, created_at__gte=moment)
        .order_by()
        .values("choice_id")
        .annotate(votes=Count("pk"))
        .values_list("choice_id", "votes")
    )
    return dict(rows)


def _fingerprint_before(poll, moment):
    """What the votes cast before `moment` are now, in two numbers read in one pass over the
    index: their number (moved by a deletion) and the sum of id × choice id (moved when one
    of them changes its choice, even when two readers swap answers)."""
    found = Vote.objects.filter(poll=poll, created_at__lt=moment).aggregate(
        votes=Count("pk"), choices=Sum(F("pk") * F("choice_id"))
    )
    return f"{found['votes']}-{found['choices'] or 0}"


def _votes_by_day(poll, zone, before):
    """{day: {choice id: votes first cast that day}} for the votes cast before `before`."""
    rows = (
        Vote.objects.filter(poll=poll, created_at__lt=before)
        .order_by()
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "choice_id")
        .annotate(votes=Count("pk"))
        .values_list("day", "choice_id", "votes")
    )
    by_day = {}
    for day, choice_id, votes in rows:
        by_day.setdefault(day, {})[choice_id] = votes
    return by_day


def _build_history(poll, choice_ids, first_day, last_day, zone):
    last_day_starts = timezone.make_aware(datetime.combine(last_day, time.min), zone)
    # The days before the last one change only when one of their votes is changed or
    # deleted: they are counted again then, not after every new vote.
    fingerprint = _fingerprint_before(poll, last_day_starts)
    days_key = _history_key(
        "evr:poll-days", poll.pk, zone, last_day_starts.isoformat(), fingerprint
    )
    by_day = _cached(days_key)
    if by_day is None:
        by_day = _votes_by_day(poll, zone, last_day_starts)
        _keep(days_key, by_day)
    last = _votes_since(poll, last_day_starts)
    if last:
        by_day = {**by_day, last_day: last}
    return _cumulative(by_day, choice_ids, first_day, last_day)


def _cumulative(by_day, choice_ids, first_day, last_day):
    if by_day:
        first_day = min(first_day, min(by_day))
        last_day = max(last_day, max(by_day))
    days = (last_day - first_day).days + 1
    if days <= 0:
        return PollHistory(choice_ids=choice_ids, points=())
    step = 1
    if days > MAX_HISTORY_POINTS:
        step = 7 * math.ceil(days / (7 * MAX_HISTORY_POINTS))
    sampled = [last_day - timedelta(days=back) for back in range(0, days, step)][::-1]
    position = {choice_id: index for index, choice_id in enumerate(choice_ids)}
    totals = [0] * len(choice_ids)
    vote_days = sorted(by_day)
    next_vote_day = 0
    points = []
    for day in sampled:
        while next_vote_day < len(vote_days) and vote_days[next_vote_day] <= day:
            for choice_id, votes in by_day[vote_days[next_vote_day]].items():
                if choice_id in position:
                    totals[position[choice_id]] += votes
            next_vote_day += 1
        points.append(HistoryPoint(date=day, votes=tuple(totals)))
    return PollHistory(choice_ids=choice_ids, points=tuple(points), step_days=step)


def results_as_json(panel):
    poll = panel.poll
    data = {
        "id": poll.pk,
        "question": poll.question,
        "status": str(panel.state),
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "results_visible": panel.results_visible,
        "your_choice_id": panel.reader_choice_id,
    }
    if not panel.results_visible:
        data["detail"] = panel.hidden_results_note
        data["choices"] = [{"id": row.pk, "label": row.label} for row in panel.choices]
        return data
    data["total_votes"] = panel.total_votes
    data["choices"] = [
        {"id": row.pk, "label": row.label, "votes": row.votes, "percent": row.percent}
        for row in panel.choices
    ]
    data["refused_duplicates"] = poll.refused_duplicates
    data["refused_over_cap"] = poll.refused_over_cap
    data["by_day"] = panel.history.as_json()
    data["by_day_interval_days"] = panel.history.step_days
    return data
