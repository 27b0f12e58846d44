"""Reading the comment section: which comments a reader may see, in which order, on which page.

Every list here costs a fixed number of queries: one page of top-level comments, then all
replies of that page in a single query, with per-reader facts (helpful marks, current poll
vote) computed by subqueries.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery, Value
from django.utils import timezone

from .forms import DEFAULT_SORT, SORTS, CommentForm, CommentListForm
from .models import Comment, HelpfulMark, PollChoice, Vote
from .moderation import can_moderate
from .readers import reader_lookup, reader_token

PAGE_SIZE = 20
GUEST_NAME_SESSION_KEY = "evr_guest_name"
HELD_STATUSES = (Comment.Status.PENDING, Comment.Status.SPAM)


@dataclass
class Reader:
    """Who is looking at the comments, and what they may do."""

    user: object
    token: str
    is_moderator: bool
    guests_allowed: bool = True

    @classmethod
    def from_request(cls, request):
        user = request.user if request.user.is_authenticated else None
        return cls(
            user=user,
            token="" if user else reader_token(request, create=False),
            is_moderator=can_moderate(request.user),
            guests_allowed=settings.EVR_GUEST_COMMENTS,
        )

    @property
    def is_guest(self):
        return self.user is None

    @property
    def can_post(self):
        return self.user is not None or self.guests_allowed

    def owns_q(self):
        """Selects rows (comments, marks) that belong to this reader; none for a new guest."""
        lookup = reader_lookup(user=self.user, reader_token=self.token)
        return Q(**lookup) if lookup is not None else Q(pk__in=[])

    def owns(self, comment):
        if self.user is not None:
            return comment.user_id == self.user.pk
        return bool(self.token) and comment.user_id is None and comment.reader_token == self.token


def visible_comments(reader, article):
    """Comments of `article` this reader may see (deleted ones included, for thread shape)."""
    comments = Comment.objects.filter(article=article)
    if reader.is_moderator:
        return comments
    return comments.filter(
        Q(status=Comment.Status.APPROVED) | reader.owns_q() & Q(status__in=HELD_STATUSES)
    )


def listed_comments(reader, article):
    """Visible comments under visible ancestors (a reply to a rejected comment is not shown
    anywhere), less deleted ones that no visible reply keeps in the thread."""
    visible = visible_comments(reader, article)
    visible_ids = visible.values("pk")
    live_replies = visible.filter(
        Q(parent=OuterRef("pk")) | Q(parent__parent=OuterRef("pk")), deleted_at__isnull=True
    )
    return visible.filter(
        Q(deleted_at__isnull=True) | Q(Exists(live_replies)),
        Q(parent__isnull=True) | Q(parent__in=visible_ids),
        Q(parent__parent__isnull=True) | Q(parent__parent__in=visible_ids),
    )


def with_reader_facts(comments, reader):
    """Annotate what the page shows per comment without a query per comment."""
    current_vote = Vote.objects.filter(poll_id=OuterRef("stance_choice__poll_id")).filter(
        Q(user_id=OuterRef("user_id"))
        | Q(reader_token=OuterRef("reader_token")) & ~Q(reader_token="")
    )
    if reader.user is not None or reader.token:
        marked = Exists(HelpfulMark.objects.filter(reader.owns_q(), comment=OuterRef("pk")))
    else:
        marked = Value(False)
    return comments.select_related("stance_choice").annotate(
        current_choice_id=Subquery(current_vote.values("choice_id")[:1]),
        marked_helpful=marked,
    )


def decorate(comments, reader):
    """Set the per-reader flags the comment template reads."""
    edit_until = timezone.now() - timezone.timedelta(minutes=settings.EVR_COMMENT_EDIT_MINUTES)
    for comment in comments:
        mine = reader.owns(comment)
        comment.is_mine = mine
        comment.is_held = comment.status != Comment.Status.APPROVED
        comment.can_edit = mine and not comment.is_deleted and comment.created_at > edit_until
        comment.can_delete = mine and not comment.is_deleted
        comment.can_respond = not comment.is_deleted and not comment.is_held and reader.can_post
        comment.can_mark = comment.can_respond and not mine
        comment.can_report = not comment.is_deleted and not comment.is_held and not mine
        comment.can_have_replies = comment.depth < Comment.MAX_DEPTH
        comment.shows_status = comment.is_held and (mine or reader.is_moderator)
        comment.stance_changed = bool(
            comment.stance_choice_id
            and getattr(comment, "current_choice_id", None)
            and comment.current_choice_id != comment.stance_choice_id
        )
        comment.children = getattr(comment, "children", [])
    return comments


def comment_for_reader(reader, comment, *, listed=True):
    """`comment` again with everything its template needs, or None if this reader cannot see
    it. `listed=False` also finds deleted comments that no longer show in the thread."""
    visible = listed_comments if listed else visible_comments
    found = with_reader_facts(visible(reader, comment.article), reader).filter(pk=comment.pk)
    found = found.first()
    return decorate([found], reader)[0] if found else None


def ordered_threads(reader, article, *, sort=DEFAULT_SORT, stance=None):
    threads = listed_comments(reader, article).filter(parent__isnull=True)
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
    threads = with_reader_facts(threads, reader)
    paginator = Paginator(threads, PAGE_SIZE)
    if appending:
        try:
            page = paginator.page(page_number)
        except InvalidPage:
            page = Page([], paginator.num_pages, paginator)
    else:
        page = paginator.get_page(page_number)
    tops = decorate(list(page.object_list), reader)
    page.object_list = tops
    if not tops:
        return page
    top_ids = [comment.pk for comment in tops]
    replies = decorate(
        list(
            with_reader_facts(listed_comments(reader, article), reader)
            .filter(Q(parent_id__in=top_ids) | Q(parent__parent_id__in=top_ids))
            .order_by("created_at", "pk")
        ),
        reader,
    )
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


@dataclass
class CommentSection:
    article: object
    reader: Reader
    page: Page
    sort: str
    stance: int | None
    list_form: CommentListForm
    total: int
    latest_pk: int
    upto: int
    form: CommentForm | None = None
    stance_choices: list = field(default_factory=list)

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
        listed_comments(reader, article)
        .filter(deleted_at__isnull=True)
        .aggregate(total=Count("pk"), latest=Max("pk"))
    )


def comment_section(request, article, *, appending=False):
    """The comment section as this reader sees it, in the order and page the query asks for.
    `appending` asks for a page to add under the threads already shown."""
    reader = Reader.from_request(request)
    params = request.GET
    stance_choices = list(PollChoice.objects.filter(poll__article=article).select_related("poll"))
    list_form = CommentListForm(params, stance_choices=stance_choices)
    sort = list_form.value("sort", DEFAULT_SORT)
    stance = list_form.value("stance")
    upto = list_form.value("upto")
    page = thread_page(
        reader,
        article,
        sort=sort,
        stance=stance,
        upto=upto,
        page_number=params.get("page", 1),
        appending=appending,
    )
    counts = comment_counts(reader, article)
    form = new_comment_form(request, reader) if reader.can_post else None
    return CommentSection(
        article=article,
        reader=reader,
        page=page,
        sort=sort,
        stance=stance,
        list_form=list_form,
        total=counts["total"],
        latest_pk=counts["latest"] or 0,
        upto=upto if upto is not None else counts["latest"] or 0,
        form=form,
        stance_choices=stance_choices,
    )


def comment_section_context(request, article):
    return {"comment_section": comment_section(request, article)}
