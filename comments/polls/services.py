"""Writes for reader polls: casting and changing votes, and closing a poll."""

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from evsite.caching import DISCUSSION, POLLS, bump
from evsite.prepared import prepared_insert, prepared_update

from ..models import Poll, PollChoice, Vote
from ..refusals import Refused
from .history import past_votes_changed
from .selectors import PollState, poll_state

IP_CAP_WINDOW = timedelta(hours=1)


class VoteOutcome(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    DUPLICATE = "duplicate"
    OVER_CAP = "over_cap"


ACCEPTED_OUTCOMES = {VoteOutcome.CREATED, VoteOutcome.CHANGED, VoteOutcome.UNCHANGED}
# What each outcome changes of what pages show (comments show when their author has changed
# their vote since).
VERSIONS_MOVED = {
    VoteOutcome.CREATED: (POLLS,),
    VoteOutcome.CHANGED: (POLLS, DISCUSSION),
    VoteOutcome.DUPLICATE: (POLLS,),
    VoteOutcome.OVER_CAP: (POLLS,),
}
REFUSAL_STATUS = {
    VoteOutcome.NOT_OPEN: 409,
    VoteOutcome.CLOSED: 409,
    VoteOutcome.DUPLICATE: 409,
    VoteOutcome.OVER_CAP: 429,
}


class VoteRefused(Refused):
    """A vote that does not count, with the outcome that says why."""

    def __init__(self, result):
        super().__init__(result.message, status=REFUSAL_STATUS[result.outcome])
        self.outcome = result.outcome


@dataclass(frozen=True)
class VoteResult:
    outcome: VoteOutcome
    message: str
    vote: Vote | None = None

    @property
    def accepted(self):
        return self.outcome in ACCEPTED_OUTCOMES

    @property
    def counts_read(self):
        """Whether the poll's counters as read before the vote now hold it (a new vote)."""
        return self.outcome == VoteOutcome.CREATED


def _when(moment):
    return date_format(timezone.localtime(moment), "j F Y, H:i T")


def _count_refusal(poll, counter):
    Poll.objects.filter(pk=poll.pk).update(**{counter: F(counter) + 1})


def _count(choice_id, change):
    """Move one answer's vote counter by `change`, by SQL built once per worker (every vote
    moves one)."""
    prepared_update(("poll-choice-count",), _count_query, choice_id=choice_id, change=change)


def _count_query(choice_id, change):
    return PollChoice.objects.filter(pk=choice_id), {"vote_count": F("vote_count") + change}


def _counters_follow(poll, changes):
    """Move the counters of the poll's `counted_choices` (when it was fetched with them) as
    a new vote moved them: the voter's answer shows their vote without reading the counts
    again, and others' votes at the next refresh. (A vote moved or kept may be a second
    request of the same reader, whose first the counts read before did not hold: those
    counts are read again, `VoteResult.counts_read`.)"""
    for choice in getattr(poll, "counted_choices", ()):
        choice.vote_count += changes.get(choice.pk, 0)


def _over_ip_cap(poll, ip_hash, now):
    # A soft cap: two first votes from one address at the same instant may both get in, which
    # is fine for stopping ballot stuffing and keeps votes from queueing behind one lock.
    cap = settings.EVR_POLL_VOTES_PER_IP
    if cap <= 0 or not ip_hash:
        return False
    recent = Vote.objects.filter(poll=poll, ip_hash=ip_hash, created_at__gt=now - IP_CAP_WINDOW)
    return recent.count() >= cap


def _move_vote(vote, *, poll, choice, reader, now):
    if vote.choice_id == choice.pk:
        return VoteResult(VoteOutcome.UNCHANGED, f"Your vote for “{choice}” stands.", vote)
    if not poll.allow_vote_change:
        _count_refusal(poll, "refused_duplicates")
        return VoteResult(
            VoteOutcome.DUPLICATE,
            "You have already voted in this poll, and votes here cannot be changed.",
            vote,
        )
    _count(vote.choice_id, -1)
    _count(choice.pk, 1)
    vote.choice = choice
    vote.changed_at = now
    vote.save(update_fields=["choice", "changed_at"])
    return VoteResult(VoteOutcome.CHANGED, f"Your vote is now “{choice}”.", vote)


def poll_vote(*, poll, choice, reader, now=None, also=None):
    """Record this reader's vote, or move it; each reader is counted once per poll.

    `also` is called inside the vote's transaction, for a write of the caller's that belongs
    with it (a new guest's session). Raises `VoteRefused` when the vote does not count: after
    the refusal counters it bumps are committed.
    """
    with transaction.atomic():
        result = _vote(poll=poll, choice=choice, reader=reader, now=now or timezone.now())
        if also is not None:
            also()
    # After the vote's transaction: nothing waits on the cache while it holds the database's
    # write lock. A page rendered meanwhile was keyed by the versions before, so once these
    # move it is never served.
    moved = VERSIONS_MOVED.get(result.outcome, ())
    if result.outcome in (VoteOutcome.CREATED, VoteOutcome.CHANGED):
        moved = (*moved, *reader.own_versions)
    if moved:
        bump(*moved)
    if not result.accepted:
        raise VoteRefused(result)
    return result


def _vote(*, poll, choice, reader, now):
    if choice.poll_id != poll.pk:
        raise ValueError("The choice belongs to another poll.")
    state = poll_state(poll, now=now)
    if state == PollState.SCHEDULED:
        return VoteResult(
            VoteOutcome.NOT_OPEN, f"This poll opens for voting on {_when(poll.opens_at)}."
        )
    if state == PollState.CLOSED:
        return VoteResult(
            VoteOutcome.CLOSED, f"This poll closed on {_when(poll.closes_at)}; voting has ended."
        )

    if reader.lookup() is None:
        raise ValueError("A guest vote needs a reader token.")
    existing = None
    if not reader.owns_nothing:
        existing = Vote.objects.select_for_update().filter(reader.rows(), poll=poll).first()
    if existing is not None:
        return _move_vote(existing, poll=poll, choice=choice, reader=reader, now=now)

    if _over_ip_cap(poll, reader.ip_hash, now):
        _count_refusal(poll, "refused_over_cap")
        return VoteResult(
            VoteOutcome.OVER_CAP,
            "Too many votes have come from your network in the last hour. Please try again later.",
        )

    # A reader whose token this request made has no parallel request: their vote needs no
    # savepoint to fall back to.
    first_vote = nullcontext() if reader.token_is_new else transaction.atomic()
    try:
        with first_vote:
            vote = prepared_insert(
                Vote(
                    poll=poll,
                    choice=choice,
                    **reader.new_row_fields(),
                    ip_hash=reader.ip_hash,
                    created_at=now,
                )
            )
            _count(choice.pk, 1)
        _counters_follow(poll, {choice.pk: 1})
    except IntegrityError:
        if reader.token_is_new:
            raise
        # The same reader voted in a parallel request that committed first: treat this one
        # as their second vote, never as another row.
        existing = Vote.objects.select_for_update().filter(reader.rows(), poll=poll).first()
        if existing is None:
            raise
        return _move_vote(existing, poll=poll, choice=choice, reader=reader, now=now)
    return VoteResult(VoteOutcome.CREATED, f"Thank you. Your vote for “{choice}” is counted.", vote)


def polls_close(*, polls, now=None):
    """Close the open ones among `polls` now. Returns (closed, left as they were): a poll
    not yet open, or already closed, is not changed."""
    now = now or timezone.now()
    selected = Poll.objects.filter(pk__in=[poll.pk for poll in polls])
    closed = (
        selected.filter(opens_at__lt=now)
        .filter(Q(closes_at__isnull=True) | Q(closes_at__gt=now))
        .update(closes_at=now)
    )
    bump(POLLS)
    return closed, selected.count() - closed


def polls_recount(*, polls=None, fix=True):
    """Check each choice's vote counter against its votes; with `fix`, set it right.
    Returns [(choice, counter, votes)] for the choices whose counter had drifted."""
    choices = PollChoice.objects.select_related("poll").annotate(counted=Count("votes"))
    if polls is not None:
        choices = choices.filter(poll__in=polls)
    drifted = []
    for choice in choices.order_by("poll", "position", "pk"):
        if choice.vote_count != choice.counted:
            drifted.append((choice, choice.vote_count, choice.counted))
    if fix and drifted:
        votes = (
            Vote.objects.filter(choice=OuterRef("pk"))
            .order_by()
            .values("choice")
            .annotate(total=Count("pk"))
            .values("total")
        )
        PollChoice.objects.filter(pk__in=[choice.pk for choice, _, _ in drifted]).update(
            vote_count=Coalesce(Subquery(votes), 0)
        )
        bump(POLLS)
    if fix:
        past_votes_changed()  # votes may have been written around the vote service
    return drifted
