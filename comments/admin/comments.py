"""The moderation queue: comments, their reports, banned words and per-reader controls."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import linebreaksbr, pluralize
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from articles.models import Article
from evsite.caching import DISCUSSION, BumpsVersionsAdmin

from .. import services
from ..accounts.services import account_close
from ..models import BannedWord, Comment, CommentReport, ReaderControl
from ..privacy import HidesPrivateFields, guest_emails_erase, may_read_private
from .desk import ModerationDeskAdmin

User = get_user_model()

EXCERPT_LENGTH = 80
SHORT_TEXT_LENGTH = 40
LARGEST_ID = 2**63 - 1


class ReportedFilter(admin.SimpleListFilter):
    title = "reported"
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("yes", "Reported"), ("no", "Not reported")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(report_count__gt=0)
        if self.value() == "no":
            return queryset.filter(report_count=0)
        return queryset


class SameAsCommentFilter(admin.SimpleListFilter):
    """The comments that share a private value (`shared_field`) with one comment, named by its
    id: the value itself stays on the server. Shown in the sidebar only while it is in use."""

    shared_field = None
    label = ""

    def lookups(self, request, model_admin):
        value = self.value()
        return [] if value is None else [(value, self.label.format(value))]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not (value.isascii() and value.isdigit() and 0 < int(value) <= LARGEST_ID):
            raise IncorrectLookupParameters(f"{self.parameter_name} takes a comment's id")
        shared = (
            Comment.objects.filter(pk=int(value))
            .exclude(**{self.shared_field: ""})
            .values(self.shared_field)[:1]
        )
        # The comment itself, and the others with the same (non-blank) value.
        return queryset.filter(Q(pk=int(value)) | Q(**{self.shared_field: Subquery(shared)}))


class SameAddressFilter(SameAsCommentFilter):
    title = "address"
    parameter_name = "same_address_as"
    shared_field = "ip_hash"
    label = "Same address as comment {}"


class SameGuestFilter(SameAsCommentFilter):
    title = "guest"
    parameter_name = "same_guest_as"
    shared_field = "reader_token"
    label = "Same guest as comment {}"


class CommentReportInline(HidesPrivateFields, admin.TabularInline):
    model = CommentReport
    extra = 0
    fields = ["reason", "note", "reporter", "created_at"]
    readonly_fields = fields
    can_delete = True
    verbose_name = "reader report"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Reported by")
    def reporter(self, report):
        return report.user.get_username() if report.user else "A guest"


@admin.register(Comment)
class CommentAdmin(HidesPrivateFields, ModerationDeskAdmin, BumpsVersionsAdmin, admin.ModelAdmin):
    bumps_versions = (DISCUSSION,)

    list_display = [
        "excerpt",
        "author",
        "article_headline",
        "status",
        "held_because",
        "reports",
        "created_at",
    ]
    list_display_links = ["excerpt"]
    list_filter = [
        "status",
        ReportedFilter,
        "article",
        "created_at",
        SameAddressFilter,
        SameGuestFilter,
    ]
    list_select_related = ["article", "user"]
    # Only superusers search by email (HidesPrivateFields drops it for everyone else).
    search_fields = ["body", "author_name", "user__username", "email"]
    list_per_page = 50
    actions = [
        "approve",
        "reject",
        "mark_spam",
        "ban_authors",
        "premoderate_authors",
        "erase_guest_emails",
        "export",
    ]
    inlines = [CommentReportInline]
    # Only superusers see the email a guest left and the address hash.
    private_fields = ["address_hash"]
    fieldsets = [
        (None, {"fields": ["status", "hold_reason", "body_text", "permalink"]}),
        (
            "Author",
            {"fields": ["author_name", "author_account", "email", "address_hash", "address"]},
        ),
        (
            "Thread",
            {
                "fields": [
                    "article",
                    "parent",
                    "depth",
                    ("created_at", "edited_at", "deleted_at"),
                    ("reply_count", "helpful_count", "report_count"),
                ]
            },
        ),
        ("Moderation history", {"fields": ["moderation_history"]}),
    ]
    readonly_fields = [
        "body_text",
        "permalink",
        "author_name",
        "author_account",
        "email",
        "address_hash",
        "address",
        "article",
        "parent",
        "depth",
        "created_at",
        "edited_at",
        "deleted_at",
        "reply_count",
        "helpful_count",
        "report_count",
        "moderation_history",
    ]

    def has_add_permission(self, request):
        return False  # comments are written by readers on the site

    def save_model(self, request, obj, form, change):
        if change and "status" in form.changed_data:
            # The new status is set by the moderation service (save_related), which records
            # the change from the status the comment still has.
            status, obj.status = obj.status, form.initial["status"]
            super().save_model(request, obj, form, change)
            obj.status = status
        else:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        comment = form.instance
        if "status" in form.changed_data:
            # The change form records its own history entry.
            services.comments_moderate(
                comments=Comment.objects.filter(pk=comment.pk),
                status=comment.status,
                moderator=request.user,
                log=False,
            )
        else:
            services.comment_reports_recount(comment=comment)

    def get_urls(self):
        export = path(
            "export/<int:article_id>/",
            self.admin_site.admin_view(self.export_article_view),
            name="comments_comment_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        article_id = request.GET.get("article__id__exact", "")
        if article_id.isdigit():
            extra_context["export_url"] = reverse(
                "admin:comments_comment_export", kwargs={"article_id": int(article_id)}
            )
        return super().changelist_view(request, extra_context=extra_context)

    @admin.display(description="Comment")
    def excerpt(self, comment):
        text = " ".join(comment.body.split())
        if comment.is_deleted:
            text = f"[deleted] {text}"
        return Truncator(text).chars(EXCERPT_LENGTH)

    @admin.display(description="Author", ordering="author_name")
    def author(self, comment):
        if comment.user_id:
            return f"{comment.author_name} ({comment.user.get_username()})"
        return f"{comment.author_name} (guest)"

    @admin.display(description="Article", ordering="article__published_at")
    def article_headline(self, comment):
        return Truncator(comment.article.headline).chars(SHORT_TEXT_LENGTH)

    @admin.display(description="Held because")
    def held_because(self, comment):
        return Truncator(comment.hold_reason).chars(SHORT_TEXT_LENGTH)

    @admin.display(description="Reports", ordering="report_count")
    def reports(self, comment):
        return comment.report_count

    @admin.display(description="Text")
    def body_text(self, comment):
        return format_html("<div>{}</div>", linebreaksbr(comment.body, autoescape=True))

    @admin.display(description="On the site")
    def permalink(self, comment):
        if comment.pk is None:
            return "-"
        return format_html('<a href="{}">View in the thread</a>', comment.get_absolute_url())

    @admin.display(description="Account")
    def author_account(self, comment):
        changelist = reverse("admin:comments_comment_changelist")
        if comment.user_id is None:
            # Named by this comment's id: the guest's token never leaves the server.
            return format_html(
                'Guest · <a href="{}?same_guest_as={}">this guest’s comments</a>',
                changelist,
                comment.pk,
            )
        controls = ReaderControl.objects.filter(user_id=comment.user_id).first()
        controls_link = ""
        if controls is not None:
            controls_link = format_html(
                ' · <a href="{}">reader controls</a>',
                reverse("admin:comments_readercontrol_change", args=[controls.pk]),
            )
        return format_html(
            '{} · <a href="{}?user__id__exact={}">their comments</a>{}',
            comment.user.get_username(),
            changelist,
            comment.user_id,
            controls_link,
        )

    @admin.display(description="Address (salted hash)")
    def address_hash(self, comment):
        return comment.ip_hash or "-"

    @admin.display(description="Address")
    def address(self, comment):
        if comment.pk is None:
            return "-"
        # Named by this comment's id: the address hash never leaves the server.
        return format_html(
            '<a href="{}?same_address_as={}">comments from the same address</a>',
            reverse("admin:comments_comment_changelist"),
            comment.pk,
        )

    def _set_status(self, request, queryset, status, done):
        updated = services.comments_moderate(
            comments=queryset, status=status, moderator=request.user
        )
        self.message_user(
            request, f"{done} {updated} comment{pluralize(updated)}.", messages.SUCCESS
        )

    @admin.action(description="Approve the selected comments", permissions=["change"])
    def approve(self, request, queryset):
        self._set_status(request, queryset, Comment.Status.APPROVED, "Approved")

    @admin.action(description="Reject the selected comments", permissions=["change"])
    def reject(self, request, queryset):
        self._set_status(request, queryset, Comment.Status.REJECTED, "Rejected")

    @admin.action(description="Mark the selected comments as spam", permissions=["change"])
    def mark_spam(self, request, queryset):
        self._set_status(request, queryset, Comment.Status.SPAM, "Marked as spam:")

    def has_reader_control_permission(self, request):
        return request.user.has_perm("comments.change_readercontrol")

    def _control_authors(
        self, request, queryset, done, control=services.readers_control_authors, **controls
    ):
        changed, guests = control(comments=queryset, **controls)
        self.message_user(
            request, f"{done} {changed} reader{pluralize(changed)}.", messages.SUCCESS
        )
        if guests:
            self.message_user(
                request,
                f"{guests} selected comment{pluralize(guests)} "
                f"{pluralize(guests, 'is,are')} by guests, who have no account to control: "
                "reject them or mark them as spam instead.",
                messages.WARNING,
            )

    @admin.action(
        description="Ban the authors of the selected comments", permissions=["reader_control"]
    )
    def ban_authors(self, request, queryset):
        self._control_authors(
            request,
            queryset,
            "Banned",
            control=services.comments_authors_ban,
            moderator=request.user,
        )

    @admin.action(
        description="Always pre-moderate the authors of the selected comments",
        permissions=["reader_control"],
    )
    def premoderate_authors(self, request, queryset):
        self._control_authors(request, queryset, "Pre-moderating", always_premoderate=True)

    @admin.action(
        description="Erase the guests’ emails of the selected comments", permissions=["change"]
    )
    def erase_guest_emails(self, request, queryset):
        covered = guest_emails_erase(comments=queryset, moderator=request.user)
        self.message_user(
            request,
            f"Erased the guests’ emails on {covered} comment{pluralize(covered)} "
            "(the selected ones and their guests’ other comments).",
            messages.SUCCESS,
        )

    @admin.action(description="Download the selected comments as JSON", permissions=["view"])
    def export(self, request, queryset):
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        return comments_json_response(request, queryset, f"comments-{stamp}.json")

    def export_article_view(self, request, article_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        article = get_object_or_404(Article, pk=article_id)
        return comments_json_response(
            request, Comment.objects.filter(article=article), f"comments-{article.slug}.json"
        )


def comment_export_row(comment, *, private):
    row = {
        "id": comment.pk,
        "article": comment.article_id,
        "parent": comment.parent_id,
        "depth": comment.depth,
        "author_name": comment.author_name,
        "account": comment.user.get_username() if comment.user_id else None,
        "body": "" if comment.is_deleted else comment.body,
        "status": comment.status,
        "hold_reason": comment.hold_reason,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "deleted_at": comment.deleted_at.isoformat() if comment.deleted_at else None,
        "helpful_count": comment.helpful_count,
        "reply_count": comment.reply_count,
        "report_count": comment.report_count,
        "url": comment.get_absolute_url(),
    }
    if private:
        row["email"] = comment.email
        row["ip_hash"] = comment.ip_hash
    return row


def comments_json_response(request, queryset, filename):
    """Comments as JSON, oldest first. Emails and address hashes only for superusers."""
    private = may_read_private(request.user)
    comments = queryset.select_related("user").order_by("created_at", "pk")
    articles = {
        article.pk: {"id": article.pk, "headline": article.headline, "slug": article.slug}
        for article in Article.objects.filter(pk__in=queryset.values("article_id"))
    }
    payload = {
        "exported_at": timezone.now().isoformat(),
        "articles": list(articles.values()),
        "comments": [
            comment_export_row(comment, private=private) for comment in comments.iterator()
        ],
    }
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class BannedWordForm(forms.ModelForm):
    class Meta:
        model = BannedWord
        fields = ["word"]
        help_texts = {
            "word": "Matched as a whole word or phrase, in any letter case. A comment that "
            "contains it waits for a moderator."
        }

    def clean_word(self):
        word = " ".join(self.cleaned_data["word"].split())
        duplicates = BannedWord.objects.filter(word__iexact=word).exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise forms.ValidationError(f"“{word}” is already on the list.")
        return word


@admin.register(BannedWord)
class BannedWordAdmin(HidesPrivateFields, admin.ModelAdmin):
    form = BannedWordForm
    list_display = ["word", "created_at"]
    search_fields = ["word"]


@admin.register(ReaderControl)
class ReaderControlAdmin(HidesPrivateFields, admin.ModelAdmin):
    list_display = ["user", "is_banned", "always_premoderate", "note", "comments_link"]
    list_filter = ["is_banned", "always_premoderate"]
    list_select_related = ["user"]
    search_fields = ["user__username", "note"]
    raw_id_fields = ["user"]
    fields = ["user", "is_banned", "always_premoderate", "note", "comments_link"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["user", "comments_link"]
        return ["comments_link"]

    @admin.display(description="Comments")
    def comments_link(self, control):
        if control.pk is None:
            return "-"
        return format_html(
            '<a href="{}?user__id__exact={}">Their comments</a>',
            reverse("admin:comments_comment_changelist"),
            control.user_id,
        )


class ReaderControlInline(HidesPrivateFields, admin.StackedInline):
    model = ReaderControl
    can_delete = False
    fields = ["is_banned", "always_premoderate", "note"]
    verbose_name = verbose_name_plural = "reader controls"


admin.site.unregister(User)


@admin.register(User)
class UserWithReaderControlAdmin(HidesPrivateFields, UserAdmin):
    """Only superusers hold the user permissions; should anyone else be given them, accounts'
    emails and password hashes stay hidden from them all the same."""

    inlines = [*UserAdmin.inlines, ReaderControlInline]

    # Deleting an account here keeps what its reader wrote and did, unlinked, as closing it
    # on the site does: a plain delete would take their votes and marks out of the counts.
    def delete_model(self, request, obj):
        account_close(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            account_close(user=user)
