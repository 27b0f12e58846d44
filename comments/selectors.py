"""Reading the comment section: which comments a reader may see, in which order, on which page.

Every list here costs a fixed number of queries: one page of top-level comments, then all
replies of that page in a single query, with per-reader facts (helpful marks, current poll
vote) computed by subqueries.
"""

import operator
from collections import Counter, deque
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property, reduce

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Case, Count, F, Max, Q, Subquery, When, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from evsite.caching import CONTENT, DISCUSSION, DISCUSSION_CHANGES, POLLS, LocalCache, versions
from evsite.prepared import model_columns, model_from_row, prepared_rows

from .claims import CLAIM_COMMENTS_ID_PREFIX, claims_for, on_claim_for_every_reader
from .forms import BOTH_SIDES, DEFAULT_SORT, HELPFUL_ORDER, SORTS, CommentForm, CommentListForm
from .models import Comment, HelpfulMark, Poll, PollChoice
from .permissions import comment_permissions
from .polls.selectors import article_poll_panels
from .ratelimit import CACHE_ERRORS
from .readers import Reader

PAGE_SIZE = 20
STANCE_LINK_ID_PREFIX = "stance-link-"
GUEST_NAME_SESSION_KEY = "evr_guest_name"


def comment_for_reader(reader, comment, *, listed=True):
    """`comment` again with what its template shows for this reader, or None if this reader
    cannot see it. `listed=False` also finds deleted comments no longer shown in the thread."""
    comments = Comment.objects.filter(article_id=comment.article_id)
    comments = comments.listed_for(reader) if listed else comments.visible_to(reader)
    found = comments.with_reader_facts(reader).select_related("article").filter(pk=comment.pk)
    return found.first()


def just_posted(comment):
    """A comment or reply its author has just saved, with what `comment_for_reader` adds for
    them, without reading it again: they see their own comment whatever its status, have not
    marked it helpful, and their vote is still the stance it was saved with."""
    comment.current_choice_id = comment.stance_choice_id
    comment.marked_helpful = False
    return comment


def _stance_choices_query(article_id):
    choices = PollChoice.objects.filter(poll__article_id=article_id)
    choices = choices.order_by("poll__position", "poll_id", "position", "pk")
    return choices.values(*model_columns(PollChoice), *model_columns(Poll, "poll__"))


def article_stance_choices(article):
    """The answers of the article's polls, in their order, each with its poll: the stances
    a comment can show. One query, by SQL built once per worker."""
    rows = prepared_rows(("stance-choices",), _stance_choices_query, article_id=article.pk)
    using = PollChoice.objects.db
    polls = {}
    choices = []
    for row in rows:
        choice = model_from_row(PollChoice, row, using=using)
        poll = polls.get(choice.poll_id)
        if poll is None:
            poll = polls[choice.poll_id] = model_from_row(Poll, row, using=using, prefix="poll__")
            poll.article = article
        choice.poll = poll
        choices.append(choice)
    return choices


_stances = LocalCache(16)


def article_stances(article):
    """The answers of the article's polls, as `article_stance_choices`, for their ids and
    labels only: kept in this worker under the versions that an edit of a poll moves."""
    found = versions(CONTENT, POLLS)
    if found is None:
        return article_stance_choices(article)
    key = (article.pk, *found)
    stances = _stances.get(key)
    if stances is None:
        stances = tuple(article_stance_choices(article))
        _stances.set(key, stances, KEPT_COUNTS_TTL)
    return stances


def default_sort(stance_choices):
    """Both sides once a poll of the article has votes for at least two of its answers (read
    from the choices' stored counters), newest first until then."""
    answered = Counter(choice.poll_id for choice in stance_choices if choice.vote_count)
    return BOTH_SIDES if any(count >= 2 for count in answered.values()) else DEFAULT_SORT


def ordered_threads(reader, article, *, sort=DEFAULT_SORT, stance=None, anchor=None):
    threads = article.comments.listed_for(reader).filter(parent__isnull=True)
    if stance:
        threads = threads.filter(stance_choice_id=stance, show_stance=True)
    if anchor:
        threads = threads.filter(anchor=anchor)
    return threads.order_by(*SORTS[sort][1])


def thread_page(
    reader,
    article,
    *,
    sort=DEFAULT_SORT,
    stance=None,
    upto=None,
    page_number=1,
    appending=False,
    anchor=None,
) -> Page:
    """A page of top-level comments, each with `.children` (and theirs) filled in.

    A page number past the end gives the last page, except when `appending` under threads
    already shown: then it gives no threads, since the last page is already on screen (threads
    hidden or deleted meanwhile can leave fewer pages than when the reader started)."""
    threads = ordered_threads(reader, article, sort=sort, stance=stance, anchor=anchor)
    if upto is not None:
        threads = threads.filter(pk__lte=upto)
    if sort == BOTH_SIDES and not stance:
        threads = BothSidesThreads(threads, reader)
    else:
        threads = threads.with_reader_facts(reader)
    paginator = Paginator(threads, PAGE_SIZE)
    if appending:
        try:
            page = paginator.page(page_number)
        except InvalidPage:
            page = Page([], paginator.num_pages, paginator)
    else:
        page = paginator.get_page(page_number)
    tops = list(page.object_list)
    page.object_list = tops
    for comment in tops:
        comment.children = []
    if not tops:
        return page
    top_ids = [comment.pk for comment in tops]
    replies = list(
        article.comments.listed_for(reader)
        .with_reader_facts(reader)
        .filter(Q(parent_id__in=top_ids) | Q(parent__parent_id__in=top_ids))
        .order_by("created_at", "pk")
    )
    for reply in replies:
        reply.children = []
    by_pk = {comment.pk: comment for comment in [*tops, *replies]}
    for reply in replies:
        parent = by_pk.get(reply.parent_id)
        if parent is not None:
            parent.children.append(reply)
    return page


class BothSidesThreads:
    """Top-level threads in the "both sides" order, sliced as Paginator slices a queryset.

    The first page opens with the most helpful threads of each stance (the author's poll
    answer, where they show it) in turn, for as long as two stances still have threads, so
    the larger side cannot push the smaller one off the first screen. Every other thread
    follows in helpfulness order. Each slice costs the same few queries however many
    threads there are.
    """

    def __init__(self, threads, reader):
        self.threads = threads  # already in helpfulness order
        self.reader = reader

    @cached_property
    def leading(self):
        """The first page's alternating threads, read in one query with what the page shows
        of them: each stance's most helpful ones (no more than a page each), stances in
        their poll's order."""
        ranked = (
            self.threads.with_reader_facts(self.reader)
            .filter(show_stance=True, stance_choice__isnull=False, deleted_at__isnull=True)
            .annotate(
                stance_rank=Window(
                    RowNumber(), partition_by=F("stance_choice_id"), order_by=HELPFUL_ORDER
                )
            )
            .filter(stance_rank__lte=PAGE_SIZE)
            .order_by(
                "stance_choice__poll__position",
                "stance_choice__poll_id",
                "stance_choice__position",
                "stance_choice_id",
                "stance_rank",
            )
        )
        sides = {}
        for thread in ranked:
            sides.setdefault(thread.stance_choice_id, deque()).append(thread)
        return alternate(list(sides.values()), limit=PAGE_SIZE)

    @property
    def leading_ids(self):
        return [thread.pk for thread in self.leading]

    def count(self):
        return self.threads.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, window):
        if not isinstance(window, slice):
            raise TypeError("BothSidesThreads is read by slices, as Paginator reads it.")
        start, stop = window.start or 0, window.stop
        leading = self.leading
        found = leading[start:stop]
        rest_start = max(start - len(leading), 0)
        rest_stop = None if stop is None else stop - len(leading)
        if rest_stop is None or rest_stop > rest_start:
            rest = self.threads.with_reader_facts(self.reader).exclude(pk__in=self.leading_ids)
            found += rest[rest_start:rest_stop]
        return found


def alternate(sides, *, limit):
    """Take one from each side in turn while at least two sides have some left."""
    taken = []
    while len(taken) < limit and sum(1 for side in sides if side) >= 2:
        for side in sides:
            if side and len(taken) < limit:
                taken.append(side.popleft())
    return taken


def _ahead_of(thread, ordering):
    """A Q for the threads that `ordering` (field names, "-" for descending, ending with
    the primary key) puts before `thread`."""
    ahead = []
    equal = Q()
    for field in ordering:
        name = field.removeprefix("-")
        value = getattr(thread, name)
        lookup = "gt" if field.startswith("-") else "lt"
        ahead.append(equal & Q(**{f"{name}__{lookup}": value}))
        equal &= Q(**{name: value})
    return reduce(operator.or_, ahead)


def thread_page_number(reader, comment):
    """The page, in the default order, that shows the thread `comment` belongs to."""
    root = comment
    while root.parent_id is not None:
        root = root.parent
    article = comment.article
    sort = default_sort(PollChoice.objects.filter(poll__article=article))
    threads = ordered_threads(reader, article, sort=sort)
    before = 0
    if sort == BOTH_SIDES:
        leading = BothSidesThreads(threads, reader).leading_ids
        if root.pk in leading:
            return 1
        before = len(leading)
        threads = threads.exclude(pk__in=leading)
    before += threads.filter(_ahead_of(root, SORTS[sort][1])).count()
    return before // PAGE_SIZE + 1


class CommentSection:
    """The comment section as one reader sees it, in the order and page asked for. The page
    and the counts are read only when the template renders them, so a cached region costs
    no query; readers who see what every reader sees share those under one key."""

    def __init__(self, request, article, *, reader, appending=False):
        self.article = article
        self.reader = reader
        self.appending = appending
        self.page_number = request.GET.get("page", 1)
        self.query = request.GET.urlencode()
        self.stance_choices = article_stance_choices(article)
        self.list_form = CommentListForm(request.GET, stance_choices=self.stance_choices)
        asked_sort = self.list_form.value("sort")
        self.sort = asked_sort or default_sort(self.stance_choices)
        self.stance = self.list_form.value("stance")
        if self.sort == BOTH_SIDES and self.stance:
            # One stance has no other side to alternate with: its threads go by helpfulness,
            # and the sort control says so.
            self.sort = "helpful"
        self.requested_upto = self.list_form.value("upto")
        self.requested_first_page = self.list_form.value("first_page", 1)
        self.form = new_comment_form(request, reader) if reader.can_post else None
        htmx = getattr(request, "htmx", None)
        trigger = (htmx.trigger or "") if htmx else ""
        # A stance link in the heading changes the filter from outside the controls, which
        # then come along with the threads; a change made in the controls leaves them be,
        # unless the order used is not the one they asked for (Both sides under a stance).
        self.refreshes_controls = bool(htmx) and (
            trigger.startswith(STANCE_LINK_ID_PREFIX) or asked_sort not in (None, self.sort)
        )
        # Only the comments on one paragraph or fact card ("p-3"), whose form then responds
        # to it as well; a label the article does not have (any more) filters nothing.
        asked = self.list_form.value("anchor")
        self.anchor_claim = claims_for(request, article).get(asked) if asked else None
        self.anchor = self.anchor_claim.label if self.anchor_claim is not None else None
        if self.form is not None and self.anchor is not None:
            self.form.initial["anchor"] = self.anchor
        # The count of comments under a paragraph (or "show all") lists them from far above
        # the section: the controls come along, and focus goes to what it now lists.
        self.focus_after_swap = None
        if trigger.startswith(CLAIM_COMMENTS_ID_PREFIX):
            self.refreshes_controls = True
            self.focus_after_swap = "#claim-filter" if self.anchor_claim else "#comments"

    @cached_property
    def page(self):
        return thread_page(
            self.reader,
            self.article,
            sort=self.sort,
            stance=self.stance,
            upto=self.requested_upto,
            page_number=self.page_number,
            appending=self.appending,
            anchor=self.anchor,
        )

    @cached_property
    def _discussion_version(self):
        """Read once: the counts and the threads' key both use it."""
        return versions(DISCUSSION)

    @cached_property
    def _counts(self):
        version = self._discussion_version
        if self.fragment_key is None or version is None:
            return listed_counts(self.reader, self.article)
        key = f"evr:discussion-counts:{self.article.pk}:{version[0]}"
        return cache.get_or_set(key, lambda: listed_counts(self.reader, self.article), 600)

    @property
    def total(self):
        return self._counts["total"]

    @property
    def claim_counts(self):
        """{label: comments on that paragraph or fact card, as every reader sees them}."""
        return self._counts["by_claim"]

    @property
    def latest_pk(self):
        return self._counts["latest"] or 0

    @property
    def upto(self):
        return self.requested_upto if self.requested_upto is not None else self.latest_pk

    @property
    def stance_split(self):
        """(answer, comments by readers who show that answer) for each poll answer, or
        nothing while no comment shows a stance."""
        return split_by_stance(self.stance_choices, self._counts["by_stance"])

    @cached_property
    def fragment_key(self):
        """A key for the threads as every reader like this one sees them, or None when this
        reader sees something of their own (their comments, their marks, held comments)."""
        version = self._discussion_version
        if version is None or not reader_sees_shared_threads(self.reader, self.article):
            return None
        return ":".join(
            map(
                str,
                (
                    self.article.pk,
                    self.article.slug,
                    *version,
                    self.query,
                    self.sort,  # without one in the query, it follows the poll's votes
                    self.appending,
                    self.reader.can_post,
                ),
            )
        )

    @property
    def cache_ttl(self):
        """0 while this reader may still edit a comment shown here: its Edit link goes by
        itself when the window closes, so their page is rendered afresh meanwhile."""
        if self.fragment_key is not None:
            return None  # the reader has nothing of their own here
        now = timezone.now()
        for comment in _with_replies(self.page.object_list):
            if comment_permissions(self.reader, comment, now=now).can_edit:
                return 0
        return None

    @property
    def article_url(self):
        return self.article.get_absolute_url()

    @property
    def first_page_shown(self):
        """The first page of threads on screen: this one, or under pages added by "Load
        more", the page the reader started from."""
        if not self.appending:
            return self.page.number
        return min(self.requested_first_page, self.page.number)

    @property
    def first_page_param(self):
        """`first_page` for the "Load more" link (None, left out, from the first page)."""
        return self.first_page_shown if self.first_page_shown > 1 else None

    @property
    def previous_page_number(self):
        """The page before those on screen, or None."""
        return self.first_page_shown - 1 if self.first_page_shown > 1 else None

    @property
    def summary(self):
        """What the list shows, in words: "newest first", "most helpful, voted: Yes"."""
        words = SORTS[self.sort][0].lower()
        for choice in self.stance_choices:
            if choice.pk == self.stance:
                words += f", voted: {choice.label}"
        if self.anchor_claim is not None:
            words += f", on {self.anchor_claim.in_words}"
        return words


def _with_replies(comments):
    for comment in comments:
        yield comment
        yield from _with_replies(getattr(comment, "children", ()))


def reader_sees_shared_threads(reader, article):
    """Whether this reader sees the threads as a reader with no session does: not a
    moderator, and nothing of their own (comments, helpful marks) on this article."""
    if reader.is_moderator:
        return False
    if reader.lookup() is None:
        return True
    own = Comment.objects.filter(reader.rows(), article=article).values("pk")
    marked = HelpfulMark.objects.filter(reader.rows(), comment__article=article)
    return not own.union(marked.values("comment_id")).exists()


def new_comment_form(request, reader, *, reply_to=None):
    """An empty comment or reply form; a guest's display name is remembered for them."""
    initial = {}
    if reader.is_guest:
        initial["author_name"] = request.session.get(GUEST_NAME_SESSION_KEY, "")
    auto_id = f"reply-{reply_to.pk}-%s" if reply_to else "comment-%s"
    return CommentForm(guest=reader.is_guest, reply_to=reply_to, initial=initial, auto_id=auto_id)


def split_by_stance(stance_choices, by_stance):
    """(answer, comments by readers who show that answer) for each poll answer, or nothing
    while no comment shows a stance. `by_stance`: {choice id: count}, from comment_counts."""
    if not by_stance:
        return []
    return [(choice, by_stance.get(choice.pk, 0)) for choice in stance_choices]


@dataclass(frozen=True)
class ChangedCounts:
    """The counts one comment changed, as this reader now sees them: the heading's total
    and stance split, and the count under the paragraph or fact card it responds to."""

    total: int
    stance_split: list
    claim_label: str  # "" when it responds to none
    claim_total: int


def changed_counts(reader, comment):
    """What the heading and the comment's claim now show, to update them in place after the
    comment was posted, deleted, or its stance shown or hidden: two queries."""
    article = comment.article
    counts = listed_counts(reader, article)
    label = comment.anchor if comment.parent_id is None else ""
    return ChangedCounts(
        total=counts["total"],
        stance_split=split_by_stance(article_stances(article), counts["by_stance"]),
        claim_label=label,
        claim_total=counts["by_claim"].get(label, 0) if label else 0,
    )


def comment_counts(reader, article):
    """How many comments the heading shows, in all and by the stance their authors show
    ({choice id: count}), and the newest one, for new-comment polling; and how many respond
    to each paragraph or fact card as every reader sees them ({label: count}, the counts
    under the article's claims): one query over every comment of the article."""
    return _counts_of(article.comments.listed_for(reader))


def _counts_of(comments):
    counts = _no_counts()
    for group in _groups(comments):
        _add_group(counts, group)
    return counts


def _groups(comments, *also_by):
    """The undeleted `comments` grouped by the stance their authors show, what they respond
    to (as every reader sees it) and `also_by`: each group's count and newest id."""
    return (
        comments.filter(deleted_at__isnull=True)
        .annotate(shown_stance=Case(When(show_stance=True, then=F("stance_choice_id"))))
        .annotate(on_claim=on_claim_for_every_reader())
        .order_by()
        .values(*also_by, "shown_stance", "on_claim")
        .annotate(count=Count("pk"), latest=Max("pk"))
    )


def _add_group(counts, group):
    stance, claim, count = group["shown_stance"], group["on_claim"], group["count"]
    counts["total"] += count
    counts["latest"] = max(counts["latest"] or 0, group["latest"])
    if stance is not None:
        counts["by_stance"][stance] = counts["by_stance"].get(stance, 0) + count
    if claim:
        counts["by_claim"][claim] = counts["by_claim"].get(claim, 0) + count


# The comments older than this when their counts are kept: a comment's row is committed
# well within it, so none with a smaller id can still appear after the count. The
# transaction that draws its id takes milliseconds, or a few seconds behind a lock held while
# the cache does not answer (it is given 1 s to connect and 2 s to answer). The newer ones
# are counted on each request: this also bounds how many a busy discussion has.
SETTLED_AFTER = timedelta(seconds=10)
# Past this many newer comments, the kept counts are worked out again (once they are older
# than SETTLED_AFTER, so that doing it again can settle more).
NEWER_COMMENTS_MAX = 200
KEPT_COUNTS_TTL = 600


def listed_counts(reader, article):
    """`comment_counts`, without counting every comment after each new one.

    The comments older than SETTLED_AFTER are counted as every reader sees them, and kept under
    the "discussion-changes" version, which every write to the discussion moves except a new
    comment or reply; the newer ones (a range of ids) are counted as this reader sees them
    and added. One query either way. A moderator, and a reader who may own some of the older
    comments while none are kept, get `comment_counts`."""
    version = None if reader.is_moderator else versions(DISCUSSION_CHANGES)
    if version is None:
        return comment_counts(reader, article)
    key = f"evr:kept-counts:{article.pk}:{version[0]}"
    try:
        return _kept_plus_newer(reader, article, key)
    except CACHE_ERRORS:
        return comment_counts(reader, article)


def _kept_plus_newer(reader, article, key):
    kept = cache.get(key)
    if kept is None:
        if not reader.owns_nothing:
            return comment_counts(reader, article)
        kept, newer = _settled_and_newer(reader, article)
        cache.set(key, kept, KEPT_COUNTS_TTL)
        return _added(kept[1], newer)
    settled_up_to, settled, counted_at = kept
    if not reader.owns_nothing:
        own = article.comments.filter(reader.rows(), pk__lte=settled_up_to)
        if own.exists():
            return comment_counts(reader, article)
    newer = _newer_counts(reader, article, settled_up_to)
    if newer["total"] > NEWER_COMMENTS_MAX and timezone.now() - counted_at > SETTLED_AFTER:
        cache.delete(key)  # the next request counts the comments up to now as settled
    return _added(settled, newer)


def _newer_counts(reader, article, after):
    """`_counts_of` the comments listed after id `after` as this reader sees them. Building
    this GROUP BY costs the ORM more than running it costs the database, and it is built
    alike for every reader of a kind: so it is built once per worker (evsite.prepared)."""
    if reader.user is not None:
        kind, own = "user", {"user_id": reader.user.pk}
    else:
        kind, own = ("guest", {"token": reader.token}) if reader.token else ("no-token", {})

    def build(after, user_id=None, token=None):
        # Only whose rows are theirs differs between readers of a kind (moderators are
        # counted by `comment_counts`).
        like = Reader()
        if user_id is not None:
            like = Reader(user=get_user_model()(pk=user_id))
        elif token is not None:
            like = Reader(token=token)
        return _groups(
            Comment.objects.filter(article_id=article.pk).listed_for(like).filter(pk__gt=after)
        )

    counts = _no_counts()
    for group in prepared_rows(("newer-counts", article.pk, kind), build, after=after, **own):
        _add_group(counts, group)
    return counts


def _settled_and_newer(reader, article):
    """((the last settled id, the settled comments' counts, when), the newer ones' counts)
    for a reader who owns none of the settled comments: one GROUP BY over the article."""
    now = timezone.now()
    cutoff = now - SETTLED_AFTER
    last_settled = Subquery(
        Comment.objects.filter(article=article, created_at__lt=cutoff)
        .order_by("-pk")
        .values("pk")[:1]
    )
    comments = (
        article.comments.listed_for(reader)
        .annotate(settled_up_to=Coalesce(last_settled, 0))
        .annotate(is_settled=Case(When(pk__lte=F("settled_up_to"), then=True), default=False))
    )
    settled_up_to = 0
    settled, newer = _no_counts(), _no_counts()
    for group in _groups(comments, "settled_up_to", "is_settled"):
        settled_up_to = group["settled_up_to"]
        _add_group(settled if group["is_settled"] else newer, group)
    return (settled_up_to, settled, now), newer


def _no_counts():
    return {"total": 0, "latest": None, "by_stance": {}, "by_claim": {}}


def _added(settled, newer):
    counts = _no_counts()
    for part in (settled, newer):
        counts["total"] += part["total"]
        counts["latest"] = max(filter(None, (counts["latest"], part["latest"])), default=None)
        for name in ("by_stance", "by_claim"):
            for label, count in part[name].items():
                counts[name][label] = counts[name].get(label, 0) + count
    return counts


def comment_section(request, article, *, reader=None, appending=False):
    """The comment section as this reader sees it, in the order and page the query asks for.
    `appending` asks for a page to add under the threads already shown."""
    reader = reader or Reader.from_request(request)
    return CommentSection(request, article, reader=reader, appending=appending)


def new_comment_count(reader, article, *, since):
    """Comments others posted after comment `since`, that this reader would see."""
    return (
        article.comments.visible_to(reader)
        .filter(pk__gt=since, deleted_at__isnull=True)
        .exclude(reader.rows())
        .count()
    )


def article_discussion(request, article):
    """Everything the article page needs to render its polls and its comment section."""
    reader = Reader.from_request(request)
    return {
        "reader": reader,
        "poll_panels": article_poll_panels(reader, article),
        "comment_section": comment_section(request, article, reader=reader),
    }
