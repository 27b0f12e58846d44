from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.urls import reverse
from django.utils import timezone

# A reader is either a signed-in user or a guest identified by a random token kept in their
# session (see comments.readers); exactly one of the two is set on rows that belong to a reader.
READER_IS_USER_OR_GUEST = Q(user__isnull=False, reader_token="") | Q(user__isnull=True) & ~Q(
    reader_token=""
)


def once_per_reader(scope, prefix):
    """Constraints for rows a reader may hold only one of per `scope` (a vote per poll...)."""
    return [
        models.CheckConstraint(condition=READER_IS_USER_OR_GUEST, name=f"{prefix}_one_reader"),
        models.UniqueConstraint(
            fields=[scope, "user"], condition=Q(user__isnull=False), name=f"{prefix}_once_per_user"
        ),
        models.UniqueConstraint(
            fields=[scope, "reader_token"],
            condition=~Q(reader_token=""),
            name=f"{prefix}_once_per_guest",
        ),
    ]


def _visible(reader, path=""):
    """A Q for comments (at `path`: "parent__"...) that `reader` may see, or None for all."""
    if reader.is_moderator:
        return None
    approved = Q(**{f"{path}status": Comment.Status.APPROVED})
    lookup = reader.lookup()
    if lookup is None:
        return approved
    # A reader sees their own comments whatever their status: held ones as awaiting
    # moderation, rejected ones as removed (templates/comments/_comments.html).
    own = Q(**{f"{path}{name}": value for name, value in lookup.items()})
    return approved | own


# The reader token given to the rows of a reader who deleted their account.
DELETED_READER_PREFIX = "deleted-"


class CommentQuerySet(models.QuerySet):
    def visible_to(self, reader):
        """Comments this reader may see (deleted ones included, for the shape of threads):
        approved ones, their own held or removed ones, and every one for a moderator."""
        visible = _visible(reader)
        return self if visible is None else self.filter(visible)

    def listed_for(self, reader):
        """Visible comments under visible ancestors (a reply to a rejected comment is shown
        nowhere), less deleted ones that no visible reply keeps in the thread."""
        visible = self.visible_to(reader)
        live_replies = Comment.objects.visible_to(reader).filter(
            Q(parent=OuterRef("pk")) | Q(parent__parent=OuterRef("pk")), deleted_at__isnull=True
        )
        listed = visible.filter(Q(deleted_at__isnull=True) | Q(Exists(live_replies)))
        if reader.is_moderator:
            return listed
        return listed.filter(
            Q(parent__isnull=True) | _visible(reader, "parent__"),
            Q(parent__parent__isnull=True) | _visible(reader, "parent__parent__"),
        )

    def with_reader_facts(self, reader):
        """What the page shows per comment for this reader, without a query per comment: the
        author's current poll choice (for "changed view") and the reader's helpful mark."""
        from .polls import Vote

        current_vote = Vote.objects.filter(poll_id=OuterRef("stance_choice__poll_id")).filter(
            Q(user_id=OuterRef("user_id"))
            | Q(reader_token=OuterRef("reader_token")) & ~Q(reader_token="")
        )
        if reader.lookup() is not None:
            marked = Exists(HelpfulMark.objects.filter(reader.rows(), comment=OuterRef("pk")))
        else:
            marked = Value(False)
        return self.select_related("stance_choice").annotate(
            current_choice_id=Subquery(current_vote.values("choice_id")[:1]),
            marked_helpful=marked,
        )


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SPAM = "spam", "Spam"

    HELD_STATUSES = (Status.PENDING, Status.SPAM)
    MAX_DEPTH = 2  # top level is 0: threads nest three levels deep

    article = models.ForeignKey(
        "articles.Article", on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    depth = models.PositiveSmallIntegerField(default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
    )
    reader_token = models.CharField(max_length=64, blank=True, db_index=True)
    author_name = models.CharField(max_length=60)
    email = models.EmailField(blank=True, help_text="Never shown to readers.")
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.APPROVED, db_index=True
    )
    hold_reason = models.CharField(max_length=200, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    helpful_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    stance_choice = models.ForeignKey(
        "comments.PollChoice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        help_text="What the author had voted when they commented.",
    )
    show_stance = models.BooleanField(default=True)
    # What of the article the comment answers: a paragraph ("k-1", "p-3") or a fact ("fact-12").
    anchor = models.CharField(max_length=20, blank=True)
    notify_replies = models.BooleanField(
        default=False, help_text="The author asked to be emailed when someone replies."
    )
    # Set once the parent's author has been emailed about this reply, so nobody is mailed twice.
    reply_notice_sent_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["article", "status", "parent", "-created_at"], name="comment_thread_list"
            ),
            models.Index(fields=["status", "created_at"], name="comment_queue"),
            models.Index(fields=["ip_hash", "created_at"], name="comment_by_address"),
            models.Index(fields=["article", "anchor"], name="comment_anchor"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(depth__lte=2), name="comment_depth_max_2"),
        ]

    def __str__(self):
        return f"{self.author_name}: {self.body[:50]}"

    def get_absolute_url(self):
        return reverse("comments:permalink", kwargs={"pk": self.pk})

    @property
    def is_deleted(self):
        return self.deleted_at is not None

    @property
    def is_by_guest(self):
        """Written without an account (a reader who deleted theirs is not a guest)."""
        return self.user_id is None and not self.reader_token.startswith(DELETED_READER_PREFIX)

    @property
    def is_held(self):
        return self.status != self.Status.APPROVED

    @property
    def accepts_replies(self):
        return not self.is_deleted and self.status == self.Status.APPROVED

    @property
    def can_have_replies(self):
        return self.depth < self.MAX_DEPTH

    @property
    def stance_changed(self):
        """The author has voted differently since commenting (needs `with_reader_facts`)."""
        current = getattr(self, "current_choice_id", None)
        return bool(self.stance_choice_id and current and current != self.stance_choice_id)


class HelpfulMark(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="helpful_marks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True)
    reader_token = models.CharField(max_length=64, blank=True)
    # The salted hash of the address it came from: the comment's helpful_count counts each
    # address once (services.helpful_toggle). Empty on marks from before it was kept.
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["comment", "ip_hash"], name="helpful_by_address")]
        constraints = once_per_reader("comment", "helpful")

    def __str__(self):
        return f"Helpful: comment {self.comment_id}"


class CommentReport(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        ABUSE = "abuse", "Abusive or hateful"
        OFF_TOPIC = "off_topic", "Off topic"
        MISINFORMATION = "misinformation", "False or misleading"
        OTHER = "other", "Something else"

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True)
    reader_token = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = once_per_reader("comment", "report")

    def __str__(self):
        return f"{self.get_reason_display()} on comment {self.comment_id}"


class BannedWord(models.Model):
    word = models.CharField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["word"]

    def __str__(self):
        return self.word


class ReaderControl(models.Model):
    """Moderators' per-reader settings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reader_control"
    )
    is_banned = models.BooleanField(default=False)
    always_premoderate = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return f"Controls for {self.user}"


class ModerationAction(models.Model):
    """One thing a moderator did to a comment: the comment's history and the desk's audit."""

    class Kind(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        SPAM = "spam", "Marked as spam"
        BAN = "ban", "Banned the author"

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="moderation_actions"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moderation_actions",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_status = models.CharField(max_length=10, choices=Comment.Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Comment.Status.choices, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["comment", "-created_at"], name="moderation_history")]

    def __str__(self):
        return f"{self.get_kind_display()}: comment {self.comment_id}"
