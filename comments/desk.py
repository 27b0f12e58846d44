"""What the moderation desk reads: the queue's tabs and pages, each author's record, and the
numbers on the admin index.

Every read costs a fixed number of queries whatever the size of the discussion: a page of the
queue is one query for its comments (with their article, author, parent and poll stance), one
for their reports, one each for the records of all the authors and addresses on the page, and
one for the facts its comments answer (if any does).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from articles.models import Fact

from .claims import FACT_PREFIX, LABEL_PATTERN, label_name
from .models import Comment, CommentReport, ModerationAction, Vote
from .moderation import URL_PATTERN
from .text import PARAGRAPH_BREAK, clean_comment_text

QUEUE_PAGE_SIZE = 20
SAME_ADDRESS_WINDOW = timedelta(hours=24)
CHART_HOURS = 48
REPORT_NOTES_SHOWN = 5
FACT_WORDS_SHOWN = 12


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    description: str
    condition: Q
    ordering: tuple
    # Acting on an entry takes it out of the tab: the next page moves up to take its place.
    shrinks: bool = True
    # What approving does to its comments, as its button says (None: not offered, since
    # every comment of the tab is approved already and has nothing to clear).
    approve_label: str | None = "Approve"
    approve_does: str = "approves it"


TABS = {
    tab.slug: tab
    for tab in (
        Tab(
            "held",
            "Held",
            "Held comments (pending, and spam no moderator has confirmed), oldest first",
            # Spam the site caught waits for a moderator; spam a moderator marked is done.
            Q(status=Comment.Status.PENDING)
            | Q(status=Comment.Status.SPAM)
            & ~Exists(
                ModerationAction.objects.filter(
                    comment=OuterRef("pk"), to_status=Comment.Status.SPAM
                )
            ),
            ("created_at", "pk"),
        ),
        Tab(
            "reported",
            "Reported",
            "Published comments that readers reported, oldest first",
            Q(status=Comment.Status.APPROVED, report_count__gt=0),
            ("created_at", "pk"),
            approve_label="Keep (clear reports)",
            approve_does="keeps it and clears its reports",
        ),
        Tab(
            "recent",
            "Recent",
            "Published comments, newest first",
            Q(status=Comment.Status.APPROVED),
            ("-created_at", "-pk"),
            shrinks=False,
            approve_label=None,
        ),
    )
}
DEFAULT_TAB = "held"


def queue_tab(slug):
    """The tab named `slug`, or the held tab for anything else."""
    return TABS.get(slug) or TABS[DEFAULT_TAB]


def spam_confirmed():
    """True for a comment a moderator marked as spam (not only the site's own filter)."""
    return Exists(
        ModerationAction.objects.filter(comment=OuterRef("pk"), to_status=Comment.Status.SPAM)
    )


def needing(action, comments):
    """Those of `comments` that `action` would change: approving an approved comment with
    no reports, rejecting a rejected one or confirming confirmed spam does nothing, so it is
    neither done nor recorded. A ban always bans."""
    status = Comment.Status
    if action == "approve":
        return comments.exclude(status=status.APPROVED, report_count=0)
    if action == "reject":
        return comments.exclude(status=status.REJECTED)
    if action == "spam":
        return comments.exclude(Q(status=status.SPAM) & spam_confirmed())
    return comments


def queued_comments():
    """Comments the desk works on: deleted ones are gone from the site, so from the desk too."""
    return Comment.objects.filter(deleted_at__isnull=True)


def tab_counts():
    """How many comments each tab holds, in one query."""
    return queued_comments().aggregate(
        **{slug: Count("pk", filter=tab.condition) for slug, tab in TABS.items()}
    )


# --- Entries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorRecord:
    """What an author did before: counts by status, and when they first commented."""

    approved: int = 0
    rejected: int = 0
    spam: int = 0
    pending: int = 0
    first_at: datetime | None = None

    @property
    def total(self):
        return self.approved + self.rejected + self.spam + self.pending


@dataclass(frozen=True)
class ReportSummary:
    reasons: list  # (label, count), most frequent first
    notes: list  # the latest reports that came with a note
    total: int


@dataclass
class QueueEntry:
    """One comment on the desk with everything a moderator needs to decide on it."""

    comment: Comment
    record: AuthorRecord | None
    reports: ReportSummary
    # Other comments from the same (salted, hashed) address in the last day.
    same_address_recent: int = 0
    # What its anchor names on the article page: "key point 1", "a fact: “…”".
    answering: str = ""
    done_message: str = ""
    # Why an action on it was not done (it changed meanwhile): shown in place of done_message.
    refusal: str = ""

    @property
    def pk(self):
        return self.comment.pk

    @property
    def by_account(self):
        return self.comment.user_id is not None

    @property
    def author_banned(self):
        if self.comment.user_id is None:
            return False
        try:
            return self.comment.user.reader_control.is_banned
        except ObjectDoesNotExist:
            return False

    @property
    def paragraph_url(self):
        if not self.comment.anchor:
            return ""
        return f"{self.comment.article.get_absolute_url()}#{self.comment.anchor}"


def author_key(comment):
    """Whose comment it is: the account, else the guest's token (or None when unknown)."""
    if comment.user_id is not None:
        return ("account", comment.user_id)
    if comment.reader_token:
        return ("guest", comment.reader_token)
    return None


def author_records(comments):
    """The record of every author of `comments`, keyed by `author_key`: one query."""
    user_ids = {comment.user_id for comment in comments if comment.user_id}
    tokens = {c.reader_token for c in comments if c.user_id is None and c.reader_token}
    if not user_ids and not tokens:
        return {}
    statuses = Comment.Status
    theirs = Q(user_id__in=user_ids) | Q(user__isnull=True, reader_token__in=tokens)
    rows = (
        Comment.objects.filter(theirs)
        .order_by()
        .values("user_id", "reader_token")
        .annotate(
            approved=Count("pk", filter=Q(status=statuses.APPROVED)),
            rejected=Count("pk", filter=Q(status=statuses.REJECTED)),
            spam=Count("pk", filter=Q(status=statuses.SPAM)),
            pending=Count("pk", filter=Q(status=statuses.PENDING)),
            first_at=Min("created_at"),
        )
    )
    records = {}
    for row in rows:
        if row["user_id"] is not None:
            key = ("account", row["user_id"])
        else:
            key = ("guest", row["reader_token"])
        earlier = records.get(key, AuthorRecord())
        firsts = [when for when in (earlier.first_at, row["first_at"]) if when is not None]
        records[key] = AuthorRecord(
            approved=earlier.approved + row["approved"],
            rejected=earlier.rejected + row["rejected"],
            spam=earlier.spam + row["spam"],
            pending=earlier.pending + row["pending"],
            first_at=min(firsts) if firsts else None,
        )
    return records


def recent_by_address(comments, *, now):
    """How many comments came from each address of `comments` in the last day: one query.
    The hashes stay here; callers get counts per comment (`same_address_recent`)."""
    hashes = {comment.ip_hash for comment in comments if comment.ip_hash}
    if not hashes:
        return {}
    rows = (
        Comment.objects.filter(ip_hash__in=hashes, created_at__gte=now - SAME_ADDRESS_WINDOW)
        .order_by()
        .values("ip_hash")
        .annotate(total=Count("pk"))
    )
    return {row["ip_hash"]: row["total"] for row in rows}


def fact_statements(comments):
    """{fact id: (article id, statement)} of the facts `comments` answer: one query, and none
    when no comment answers a fact."""
    fact_ids = {
        int(comment.anchor.removeprefix(FACT_PREFIX))
        for comment in comments
        if comment.anchor.startswith(FACT_PREFIX) and LABEL_PATTERN.match(comment.anchor)
    }
    if not fact_ids:
        return {}
    rows = Fact.objects.filter(pk__in=fact_ids).values_list("pk", "article_id", "statement")
    return {pk: (article_id, statement) for pk, article_id, statement in rows}


def anchor_name(comment, statements):
    """What a comment's anchor names, in words for "answering …": "key point 1",
    "paragraph 3", "a fact: “…”"; "" when it answers the article as a whole."""
    anchor = comment.anchor
    if not anchor:
        return ""
    if not LABEL_PATTERN.match(anchor):
        return "a part of the article"
    if anchor.startswith(FACT_PREFIX):
        found = statements.get(int(anchor.removeprefix(FACT_PREFIX)))
        if found is None or found[0] != comment.article_id:
            return "a fact no longer in the article"
        return f"a fact: “{Truncator(found[1]).words(FACT_WORDS_SHOWN)}”"
    return label_name(anchor)


def report_summary(reports):
    reasons = Counter(report.get_reason_display() for report in reports)
    notes = [report for report in reports if report.note][:REPORT_NOTES_SHOWN]
    return ReportSummary(reasons=reasons.most_common(), notes=notes, total=len(reports))


def with_entry_relations(comments):
    """`comments` with what an entry shows of their article, author, parent and reports."""
    return comments.select_related(
        "article", "user__reader_control", "parent", "stance_choice"
    ).prefetch_related(
        Prefetch("reports", queryset=CommentReport.objects.order_by("-created_at", "-pk"))
    )


def queue_entries(comments, *, now=None):
    """`comments` (read with `with_entry_relations`) as desk entries, each with its author's
    record, reports, address count and what it answers: three queries for all of them."""
    now = now or timezone.now()
    comments = list(comments)
    records = author_records(comments)
    by_address = recent_by_address(comments, now=now)
    statements = fact_statements(comments)
    since = now - SAME_ADDRESS_WINDOW
    entries = []
    for comment in comments:
        from_address = by_address.get(comment.ip_hash, 0) if comment.ip_hash else 0
        if from_address and comment.created_at >= since:
            from_address -= 1  # the comment itself
        key = author_key(comment)
        entries.append(
            QueueEntry(
                comment=comment,
                record=records.get(key) if key else None,
                reports=report_summary(list(comment.reports.all())),
                same_address_recent=from_address,
                answering=anchor_name(comment, statements),
            )
        )
    return entries


def queue_page(tab_slug=DEFAULT_TAB, page_number=1, *, now=None):
    """One page of a tab of the queue, its entries filled in (see `queue_entries`)."""
    tab = queue_tab(tab_slug)
    comments = queued_comments().filter(tab.condition).order_by(*tab.ordering)
    page = Paginator(with_entry_relations(comments), QUEUE_PAGE_SIZE).get_page(page_number)
    page.object_list = queue_entries(page.object_list, now=now)
    return page


def queue_entry(pk, *, now=None):
    """One comment as a desk entry, or None if it no longer exists."""
    entries = queue_entries(with_entry_relations(Comment.objects.filter(pk=pk)), now=now)
    return entries[0] if entries else None


def desk_text(text) -> SafeString:
    """Comment text as the desk shows it: paragraphs and line breaks, every web address
    shown in full but not as a link, so no moderator follows a reader's link by accident."""
    text = clean_comment_text(text).strip()
    paragraphs = [paragraph for paragraph in PARAGRAPH_BREAK.split(text) if paragraph.strip()]
    return mark_safe(
        "".join(
            "<p>" + "<br>".join(_marked_addresses(line) for line in paragraph.split("\n")) + "</p>"
            for paragraph in paragraphs
        )
    )


def _marked_addresses(line):
    parts = []
    position = 0
    for match in URL_PATTERN.finditer(line):
        parts.append(escape(line[position : match.start()]))
        parts.append(f'<span class="desk-url">{escape(match.group(0))}</span>')
        position = match.end()
    parts.append(escape(line[position:]))
    return "".join(parts)


# --- Dashboard ---------------------------------------------------------------------------------

CHART_WIDTH = 480
CHART_HEIGHT = 120
BAR_GAP = 2


@dataclass(frozen=True)
class HourCount:
    start: datetime
    count: int
    # Where its bar goes in the chart (SVG user units).
    x: int = 0
    y: float = 0
    height: float = 0

    @property
    def end(self):
        return self.start + timedelta(hours=1)


@dataclass(frozen=True)
class Dashboard:
    held: int
    reported: int
    comments_today: int
    votes_today: int
    hours: list
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def comments_in_chart(self):
        return sum(hour.count for hour in self.hours)

    @property
    def busiest(self):
        return max(self.hours, key=lambda hour: (hour.count, hour.start), default=None)

    @property
    def bar_width(self):
        return CHART_WIDTH // CHART_HOURS - BAR_GAP


def start_of_today(now=None):
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def hourly_comments(*, now=None, hours=CHART_HOURS):
    """Comments written in each of the last `hours` hours (the current one last, so far),
    every hour listed even when nobody wrote, with its bar in the chart: one query.

    Hours are counted in UTC, where every hour is an hour (no daylight saving, no half-hour
    offset); pages show them in the site's time zone."""
    now = now or timezone.now()
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    rows = (
        Comment.objects.filter(created_at__gte=first)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .order_by()
        .values("hour")
        .annotate(total=Count("pk"))
    )
    counts = {row["hour"]: row["total"] for row in rows}
    starts = [first + timedelta(hours=number) for number in range(hours)]
    totals = [counts.get(start, 0) for start in starts]
    tallest = max(totals, default=0) or 1
    step = CHART_WIDTH // hours
    series = []
    for number, (start, total) in enumerate(zip(starts, totals, strict=True)):
        height = round(CHART_HEIGHT * total / tallest, 1)
        series.append(
            HourCount(
                start=start,
                count=total,
                x=number * step,
                y=round(CHART_HEIGHT - height, 1),
                height=height,
            )
        )
    return series


def dashboard(*, now=None):
    """The numbers on the admin index: the queue, today's comments and votes, and comments
    per hour over the last two days. Four queries."""
    now = now or timezone.now()
    counts = tab_counts()
    today = start_of_today(now)
    return Dashboard(
        held=counts["held"],
        reported=counts["reported"],
        comments_today=Comment.objects.filter(created_at__gte=today).count(),
        votes_today=Vote.objects.filter(created_at__gte=today).count(),
        hours=hourly_comments(now=now),
    )
