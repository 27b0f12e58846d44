"""How opinion moved: each answer's votes at the end of each day a poll has run.

The days before today change only when an earlier vote is changed or deleted (or added
after the fact): they are counted once, in one GROUP BY over the `vote_by_day` index, and
kept under the "past votes" version, which only such a write moves. Today is the choices'
counters, so a new vote costs no count at all.
"""

import math
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from evsite.caching import LocalCache, bump, versions

from ..models import Vote
from ..ratelimit import CACHE_ERRORS
from .shares import largest_remainder_percentages

# Past this many days a poll's history is sampled once a week (or every few weeks), so the
# chart, its table and the JSON stay small however long the poll runs.
MAX_HISTORY_POINTS = 120
# The key carries the version and the day, so an entry is never stale: this only bounds how
# long an unused one stays.
HISTORY_CACHE_TTL = 24 * 60 * 60
PAST_VOTES = "past-votes"


@dataclass(frozen=True)
class HistoryPoint:
    """The votes each answer had at the end of `date` (in the order of the history's
    `choice_ids`), counted from the first one."""

    date: date
    votes: tuple[int, ...]

    # Worked out once per point: the days before today are the same points vote after vote.
    @cached_property
    def total(self):
        return sum(self.votes)

    @cached_property
    def percents(self):
        return tuple(largest_remainder_percentages(self.votes))

    @cached_property
    def cells(self):
        """(votes, percent) of each answer: a row of the history's table."""
        return tuple(zip(self.votes, self.percents, strict=True))


@dataclass(frozen=True)
class PollHistory:
    choice_ids: tuple[int, ...]
    points: tuple[HistoryPoint, ...]
    step_days: int = 1

    @property
    def voted_shares(self):
        """(date, percents) of each point with votes: what the chart draws."""
        return tuple((point.date, point.percents) for point in self.points if point.total > 0)

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


def poll_history(poll, *, choice_ids, totals, now=None):
    """The cumulative votes of each choice at the end of each day of the poll.

    Each vote counts, for the choice it holds now, from the day it was first cast (its
    `created_at`, in the site's TIME_ZONE): only the current choice is stored, so a reader who
    changed their vote moves the curve back to the day they first voted, and a changed vote
    never counts twice. The last point is every vote there is: `totals`, the choices'
    counters, in the order of `choice_ids`.

    Days without new votes carry the totals before them. The span runs from the day the poll
    opened (or an earlier first vote) to today or its closing day; past `MAX_HISTORY_POINTS`
    days it is sampled every 7 days (or a multiple of 7), counted back from the last day.
    """
    first_day, last_day = history_span(poll, now=now)
    zone = timezone.get_default_timezone()
    last_day_starts = timezone.make_aware(datetime.combine(last_day, time.min), zone)
    version = versions(PAST_VOTES)
    key = None
    if version is not None:
        key = ":".join(
            map(str, ("evr:poll-days", poll.pk, zone, last_day_starts.isoformat(), version[0]))
        )
    choice_ids = tuple(choice_ids)
    earlier = _local_earlier_points.get((key, choice_ids, first_day)) if key else None
    if earlier is None:
        by_day = _cached(key)
        if by_day is None:
            by_day = _votes_by_day(poll, zone, last_day_starts)
            _keep(key, by_day)
        earlier = _earlier_points(by_day, choice_ids, first_day, last_day)
        if key:
            _local_earlier_points.set((key, choice_ids, first_day), earlier, HISTORY_CACHE_TTL)
    points, step = earlier
    if points is None:
        return PollHistory(choice_ids=choice_ids, points=())
    today = HistoryPoint(date=last_day, votes=tuple(totals))
    return PollHistory(choice_ids=choice_ids, points=(*points, today), step_days=step)


@receiver(post_save, sender=Vote, dispatch_uid="poll-history-vote-saved")
@receiver(post_delete, sender=Vote, dispatch_uid="poll-history-vote-deleted")
def _past_votes_changed(sender, instance, created=False, **kwargs):
    """A vote of an earlier day changed, was deleted or was added after the fact: count the
    earlier days again. A new vote today changes only today."""
    today_starts = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    if not (created and instance.created_at >= today_starts):
        bump(PAST_VOTES)


def past_votes_changed():
    """For writes that go around the model's signals (bulk inserts, recounts)."""
    bump(PAST_VOTES)


# Entries are keyed by version and day, so a worker's copy is never stale either.
_local_days = LocalCache(16)
_local_earlier_points = LocalCache(16)


def _cached(key):
    if not key:
        return None
    found = _local_days.get(key)
    if found is not None:
        return found
    try:
        found = cache.get(key)
    except CACHE_ERRORS:
        return None
    if found is not None:
        _local_days.set(key, found, HISTORY_CACHE_TTL)
    return found


def _keep(key, value):
    if key:
        _local_days.set(key, value, HISTORY_CACHE_TTL)
        with suppress(CACHE_ERRORS):  # the next request builds it again
            cache.set(key, value, HISTORY_CACHE_TTL)


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


def _earlier_points(by_day, choice_ids, first_day, last_day):
    """(the points before `last_day`, the days between points), or (None, 1) when the span
    holds no day."""
    if by_day:
        first_day = min(first_day, min(by_day))
    days = (last_day - first_day).days + 1
    if days <= 0:
        return None, 1
    step = 1
    if days > MAX_HISTORY_POINTS:
        step = 7 * math.ceil(days / (7 * MAX_HISTORY_POINTS))
    sampled = [last_day - timedelta(days=back) for back in range(0, days, step)][::-1]
    position = {choice_id: index for index, choice_id in enumerate(choice_ids)}
    running = [0] * len(choice_ids)
    vote_days = sorted(by_day)
    next_vote_day = 0
    points = []
    for day in sampled[:-1]:
        while next_vote_day < len(vote_days) and vote_days[next_vote_day] <= day:
            for choice_id, votes in by_day[vote_days[next_vote_day]].items():
                if choice_id in position:
                    running[position[choice_id]] += votes
            next_vote_day += 1
        points.append(HistoryPoint(date=day, votes=tuple(running)))
    return tuple(points), step
