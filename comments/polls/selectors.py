"""Reading a poll: its state, who may see its results, and the numbers themselves."""

from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache

from django.urls import get_script_prefix, reverse
from django.utils import timezone

from articles.models import Article
from evsite.prepared import model_columns, model_from_row, prepared_rows

from ..models import Poll, PollChoice, Vote
from .charts import history_chart
from .history import poll_history
from .shares import largest_remainder_percentages


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
    # The choice's own, as plain values: templates read them several times each.
    pk: int = field(init=False)
    label: str = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "pk", self.choice.pk)
        object.__setattr__(self, "label", self.choice.label)


@dataclass(frozen=True)
class PollAddresses:
    page: str
    vote: str
    results: str


@lru_cache(maxsize=256)
def _poll_addresses(script_prefix, poll_pk):
    # Reversing a URL takes as long as rendering a dozen template variables, and a poll's
    # three never change while the site runs under one prefix.
    return PollAddresses(
        page=reverse("comments:poll", args=[poll_pk]),
        vote=reverse("comments:poll_vote", args=[poll_pk]),
        results=reverse("comments:poll_results", args=[poll_pk]),
    )


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
    def addresses(self):
        """The poll's page, where its form is sent, and its results fragment."""
        return _poll_addresses(get_script_prefix(), self.poll.pk)

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
        return poll_history(
            self.poll,
            choice_ids=[row.pk for row in self.choices],
            totals=[row.votes for row in self.choices],
        )

    @cached_property
    def history_chart(self):
        """The history drawn as a line chart, or None while there is nothing to draw."""
        if self.history is None or not self.history.has_votes:
            return None
        return history_chart(self.history, labels=tuple(row.label for row in self.choices))

    def with_message(self, message, *, is_error=False):
        return replace(self, message=message, message_is_error=is_error)


def choices_with_counts():
    """Choices in order, each with its `vote_count` counter."""
    return PollChoice.objects.order_by("position", "pk")


def _counted_poll_query(poll_id):
    poll = Poll.objects.filter(pk=poll_id).order_by("choices__position", "choices__pk")
    return poll.values(
        *model_columns(Poll),
        *model_columns(Article, "article__"),
        *model_columns(PollChoice, "choices__"),
    )


def counted_poll(pk):
    """The poll `pk` with its article and its `counted_choices` (its answers in order, each
    with its `vote_count` counter), or None: one query, by SQL built once per worker (a vote
    reads its poll on every vote)."""
    rows = prepared_rows(("counted-poll",), _counted_poll_query, poll_id=pk)
    if not rows:
        return None
    using = Poll.objects.db
    poll = model_from_row(Poll, rows[0], using=using)
    poll.article = model_from_row(Article, rows[0], using=using, prefix="article__")
    poll.counted_choices = []
    for row in rows:
        if row["choices__id"] is not None:  # (a poll without answers has one row, of NULLs)
            _add_counted_choice(poll, row, prefix="choices__")
    return poll


def _add_counted_choice(poll, row, *, prefix=""):
    choice = model_from_row(PollChoice, row, using=poll._state.db, prefix=prefix)
    choice.poll = poll
    poll.counted_choices.append(choice)


def _counted_choices_query(poll_id):
    return choices_with_counts().filter(poll_id=poll_id).values(*model_columns(PollChoice))


def with_counted_choices(poll):
    """`poll` with its `counted_choices`, as `counted_poll()` gives them, read by SQL
    built once per worker."""
    rows = prepared_rows(("poll-counted-choices",), _counted_choices_query, poll_id=poll.pk)
    poll.counted_choices = []
    for row in rows:
        _add_counted_choice(poll, row)
    return poll


def poll_counts_refresh(poll):
    """Read a poll's counters again (after a refused, moved or kept vote): its choices'
    counts, the counts of refused votes and its closing time."""
    poll.refresh_from_db(fields=["refused_duplicates", "refused_over_cap", "closes_at"])
    return with_counted_choices(poll)


def reader_choice_ids(reader, polls):
    """{poll id: chosen choice id} for this reader, in one query (none for a new guest)."""
    if reader.lookup() is None or not polls:
        return {}
    rows = Vote.objects.filter(reader.rows(), poll__in=polls).values_list("poll_id", "choice_id")
    return dict(rows)


def build_panel(poll, *, reader_choice_id, is_editor, now=None):
    """A PollPanel from a poll with its `counted_choices` (`counted_poll()`)."""
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
    """One poll with its `counted_choices` (`counted_poll()`), as this reader sees it."""
    chosen = reader_choice_ids(reader, [poll]).get(poll.pk)
    return build_panel(poll, reader_choice_id=chosen, is_editor=reader.is_staff)


def _article_polls_query(article_id, now):
    polls = Poll.objects.filter(article_id=article_id, opens_at__lte=now)
    return polls.order_by("position", "pk").values(*model_columns(Poll))


def _article_poll_choices_query(article_id):
    choices = PollChoice.objects.filter(poll__article_id=article_id)
    return choices.order_by("poll_id", "position", "pk").values(*model_columns(PollChoice))


def article_polls_with_counts(article, now):
    """The article's polls open by `now`, in their order, each with its `counted_choices`
    as `counted_poll()` gives them: two queries, by SQL built once per worker."""
    using = Poll.objects.db
    polls = []
    rows = prepared_rows(("article-polls",), _article_polls_query, article_id=article.pk, now=now)
    for row in rows:
        poll = model_from_row(Poll, row, using=using)
        poll.article = article
        poll.counted_choices = []
        polls.append(poll)
    by_id = {poll.pk: poll for poll in polls}
    choices = prepared_rows(
        ("article-poll-choices",), _article_poll_choices_query, article_id=article.pk
    )
    for row in choices:
        poll = by_id.get(row["poll_id"])
        if poll is not None:  # a poll not open yet, or added since, has none of its answers
            _add_counted_choice(poll, row)
    return polls


def article_poll_panels(reader, article):
    """The article's open and closed polls as this reader sees them, in three queries."""
    now = timezone.now()
    polls = article_polls_with_counts(article, now)
    chosen = reader_choice_ids(reader, polls)
    return [
        build_panel(poll, reader_choice_id=chosen.get(poll.pk), is_editor=reader.is_staff, now=now)
        for poll in polls
    ]


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
