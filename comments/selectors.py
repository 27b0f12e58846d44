"""Reading the comment section: which comments a reader may see, in which order, on which page.

Every list here costs a fixed number of queries: one page of top-level comments, then all
replies of that page in a single query, with per-reader facts (helpful marks, current poll
vote) computed by subqueries.
"""

from functools import cached_property

from django.core.cache import cache
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Count, Max, Q
from django.utils import timezone

from evsite.caching import DISCUSSION, versions

from .forms import DEFAULT_SORT, SORTS, CommentForm, CommentListForm
from .models import Comment, HelpfulMark, PollChoice
from .permissions import comment_permissions
from .polls.selectors import article_poll_panels
from .readers import Reader

PAGE_SIZE = 20
GUEST_NAME_SESSION_KEY = "evr_guest_name"


def comment_for_reader(reader, comment, *, listed=True):
    """`comment` again with what its template shows for this reader, or None if this reader
    cannot see it. `listed=False` also finds deleted comments no longer shown in the thread."""
    comments = Comment.objects.filter(article_id=comment.article_id)
    comments = comments.listed_for(reader) if listed else comments.visible_to(reader)
    found = comments.with_reader_facts(reader).select_related("article").filter(pk=comment.pk)
    return found.first()


def ordered_threads(reader, article, *, sort=DEFAULT_SORT, stance=None):
    threads = article.comments.listed_for(reader).filter(parent__isnull=True)
    if stance:
        threads = threads.filter(stance_choice_id=stance, show_stance=True)
    return threads.order_by(*SORTS[sort][1])


def thread_page(
    reader, article, *, sort=DEFAULT_SORT, stance=None, upto=None, page_number=1, appending=False
) -> Page:
    """A page of top-level comments, each with `.children` (and theirs) filled in.

    A page number past the end gives the last page, except when `appending` under threads
    already shown: then it gives no threads, since the last page is already on screen (threads
    hidden or deleted meanwhile can leave fewer pages than when the reader started)."""
    threads = ordered_threads(reader, article, sort=sort, stance=stance)
    if upto is not None:
        threads = threads.filter(pk__lte=upto)
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


def thread_page_number(reader, comment):
    """The page, in the default order, that shows the thread `comment` belongs to."""
    root = comment
    while root.parent_id is not None:
        root = root.parent
    newer = (
        ordered_threads(reader, comment.article)
        .filter(Q(created_at__gt=root.created_at) | Q(created_at=root.created_at, pk__gt=root.pk))
        .count()
    )
    return newer // PAGE_SIZE + 1


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
        self.stance_choices = list(
            PollChoice.objects.filter(poll__article=article).select_related("poll")
        )
        self.list_form = CommentListForm(request.GET, stance_choices=self.stance_choices)
        self.sort = self.list_form.value("sort", DEFAULT_SORT)
        self.stance = self.list_form.value("stance")
        self.requested_upto = self.list_form.value("upto")
        self.form = new_comment_form(request, reader) if reader.can_post else None

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
        )

    @cached_property
    def _discussion_version(self):
        """Read once: the counts and the threads' key both use it."""
        return versions(DISCUSSION)

    @cached_property
    def _counts(self):
        version = self._discussion_version
        if self.fragment_key is None or version is None:
            return comment_counts(self.reader, self.article)
        key = f"evr:comment-counts:{self.article.pk}:{version[0]}"
        return cache.get_or_set(key, lambda: comment_counts(self.reader, self.article), 600)

    @property
    def total(self):
        return self._counts["total"]

    @property
    def latest_pk(self):
        return self._counts["latest"] or 0

    @property
    def upto(self):
        return self.requested_upto if self.requested_upto is not None else self.latest_pk

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
    def summary(self):
        """What the list shows, in words: "newest first", "most helpful, voted: Yes"."""
        words = SORTS[self.sort][0].lower()
        for choice in self.stance_choices:
            if choice.pk == self.stance:
                words += f", voted: {choice.label}"
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


def comment_counts(reader, article):
    """How many comments the heading shows, and the newest one, for new-comment polling."""
    return (
        article.comments.listed_for(reader)
        .filter(deleted_at__isnull=True)
        .aggregate(total=Count("pk"), latest=Max("pk"))
    )


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
