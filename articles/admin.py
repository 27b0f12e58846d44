from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.db.models import Count
from django.template.defaultfilters import linebreaksbr, pluralize
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.text import Truncator

from comments.privacy import HidesPrivateFields
from evsite.caching import BumpsVersionsAdmin

from .corrections import NOTE_REQUIRED, corrections_decide
from .models import Article, Brand, CarModel, Correction, Fact, Paragraph, Platform
from .selectors import target_price_display
from .services import articles_publish, articles_unpublish


class ParagraphInline(HidesPrivateFields, admin.TabularInline):
    model = Paragraph
    extra = 0
    fields = ["kind", "position", "text"]
    ordering = ["kind", "position"]


class FactInline(HidesPrivateFields, admin.StackedInline):
    model = Fact
    extra = 0
    fields = [
        ("position", "topic", "certainty", "year"),
        "statement",
        ("car_model", "brand", "platform", "attribute"),
        ("paragraph", "quote"),
    ]
    autocomplete_fields = ["car_model", "brand", "platform"]
    classes = ["collapse"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "paragraph":
            # Only the paragraphs of the article being edited can back its facts.
            article_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Paragraph.objects.filter(article_id=article_id).select_related(
                "article"
            )
            kwargs["help_text"] = (
                "Save the article with its paragraphs first; then pick the one the quote is from."
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Article)
class ArticleAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = ["headline", "status", "published_at", "paragraph_count", "fact_count"]
    list_filter = ["status", "published_at"]
    search_fields = ["headline", "standfirst", "slug"]
    prepopulated_fields = {"slug": ["headline"]}
    date_hierarchy = "published_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [ParagraphInline, FactInline]
    actions = ["publish", "unpublish"]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "byline"]}),
        ("Publication", {"fields": ["status", "published_at", "source_name", "source_url"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                paragraph_total=Count("paragraphs", distinct=True),
                fact_total=Count("facts", distinct=True),
            )
        )

    @admin.display(description="Paragraphs", ordering="paragraph_total")
    def paragraph_count(self, article):
        return article.paragraph_total

    @admin.display(description="Facts", ordering="fact_total")
    def fact_count(self, article):
        return article.fact_total

    @admin.action(description="Publish the selected articles")
    def publish(self, request, queryset):
        updated = articles_publish(articles=queryset)
        self.message_user(request, f"Published {updated} article{pluralize(updated)}.")

    @admin.action(description="Return the selected articles to draft")
    def unpublish(self, request, queryset):
        updated = articles_unpublish(articles=queryset)
        self.message_user(
            request,
            f"{updated} article{pluralize(updated)} {pluralize(updated, 'is a draft,are drafts')}"
            " again.",
        )


@admin.register(Paragraph)
class ParagraphAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = ["__str__", "article", "kind", "position"]
    list_filter = ["kind", "article"]
    list_select_related = ["article"]
    search_fields = ["text", "article__headline"]


class CarModelInline(HidesPrivateFields, admin.TabularInline):
    model = CarModel
    extra = 0
    fields = ["name", "slug", "platform", "segment", "body_style", "status", "market"]
    prepopulated_fields = {"slug": ["name"]}
    show_change_link = True


@admin.register(Brand)
class BrandAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = ["name", "parent_group", "model_count"]
    search_fields = ["name", "parent_group"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CarModelInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(model_total=Count("car_models"))

    @admin.display(description="Models", ordering="model_total")
    def model_count(self, brand):
        return brand.model_total


@admin.register(Platform)
class PlatformAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = ["name", "description", "model_count"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(model_total=Count("car_models"))

    @admin.display(description="Models", ordering="model_total")
    def model_count(self, platform):
        return platform.model_total


@admin.register(CarModel)
class CarModelAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = [
        "__str__",
        "aliases",
        "brand",
        "platform",
        "status",
        "market",
        "target_price_display",
    ]
    list_filter = ["status", "brand", "platform"]
    list_select_related = ["brand", "platform"]
    search_fields = ["name", "aliases", "brand__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["brand", "platform"]
    fieldsets = [
        (None, {"fields": ["brand", "name", "slug", "platform"]}),
        (
            "Names in comments",
            {
                "description": (
                    "Readers' comments link this model's name and each of these aliases, "
                    "as whole words, to the model on the article page."
                ),
                "fields": ["aliases"],
            },
        ),
        (
            "What the article states",
            {
                "description": (
                    "A value shows on the article page only when a fact of that article backs "
                    "it (a fact whose “attribute” names this field). Leave a field blank when "
                    "the article does not say."
                ),
                "fields": ["segment", "body_style", "status", "market", "timing"],
            },
        ),
        (
            "Target price",
            {
                "fields": [
                    ("target_price", "target_price_currency"),
                    "target_price_is_upper_bound",
                    "target_price_usd",
                ]
            },
        ),
    ]

    @admin.display(description="Target price")
    def target_price_display(self, car_model):
        return target_price_display(car_model) or "—"


@admin.register(Fact)
class FactAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = ["statement", "article", "topic", "certainty", "year", "source"]
    list_filter = ["topic", "certainty", "article"]
    list_select_related = ["article", "paragraph"]
    search_fields = ["statement", "quote"]
    autocomplete_fields = ["article", "car_model", "brand", "platform", "paragraph"]

    @admin.display(description="Source")
    def source(self, fact):
        return fact.paragraph.label


# Readers' suggested corrections: the editors' queue, apart from comment moderation.

CORRECTION_EXCERPT_LENGTH = 80


class CorrectionStatusFilter(admin.SimpleListFilter):
    """Open corrections unless another status (or all) is chosen: the queue is what is open."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return Correction.Status.choices

    def value(self):
        return super().value() or Correction.Status.OPEN

    def choices(self, changelist):
        for value, title in [*self.lookup_choices, (self.ALL, "All")]:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL:
            return queryset
        if value not in Correction.Status.values:
            raise IncorrectLookupParameters(f"{self.parameter_name} takes a status")
        return queryset.filter(status=value)


class CorrectionDecisionForm(forms.ModelForm):
    class Meta:
        model = Correction
        fields = ["status", "change_note"]

    def clean(self):
        cleaned_data = super().clean()
        note = (cleaned_data.get("change_note") or "").strip()
        if cleaned_data.get("status") == Correction.Status.ACCEPTED and not note:
            self.add_error("change_note", NOTE_REQUIRED)
        return cleaned_data


class ChangeNoteForm(forms.Form):
    change_note = forms.CharField(
        label="What was corrected",
        help_text="Readers see this note, dated, at the end of the article.",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        error_messages={"required": NOTE_REQUIRED},
    )


@admin.register(Correction)
class CorrectionAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    list_display = ["excerpt", "target", "source_link", "created_at", "status", "article"]
    list_display_links = ["excerpt"]
    list_filter = [CorrectionStatusFilter, "article", "created_at"]
    list_select_related = ["article"]
    search_fields = ["explanation", "change_note", "anchor", "source_url"]
    actions = ["accept", "decline"]
    form = CorrectionDecisionForm
    fieldsets = [
        (
            "The suggestion",
            {
                "fields": [
                    "article",
                    "target",
                    "corrected_text",
                    "explanation_text",
                    "source_link",
                    "created_at",
                ]
            },
        ),
        ("The decision", {"fields": ["status", "change_note", "decided_at", "decided_by"]}),
        ("Sent by", {"fields": ["sender", "reader_token", "ip_hash"]}),
    ]
    readonly_fields = [
        "article",
        "target",
        "corrected_text",
        "explanation_text",
        "source_link",
        "created_at",
        "decided_at",
        "decided_by",
        "sender",
        "reader_token",
        "ip_hash",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("article", "paragraph", "fact__paragraph", "user", "decided_by")
        )

    def has_add_permission(self, request):
        return False  # readers send corrections from the article page

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "status" in form.changed_data:
            # Dated and signed; the change form records its own history entry.
            corrections_decide(
                corrections=Correction.objects.filter(pk=form.instance.pk),
                status=form.instance.status,
                editor=request.user,
                change_note=form.instance.change_note,
                log=False,
            )

    @admin.display(description="Suggestion")
    def excerpt(self, correction):
        return Truncator(" ".join(correction.explanation.split())).chars(CORRECTION_EXCERPT_LENGTH)

    @admin.display(description="Anchor", ordering="anchor")
    def target(self, correction):
        return format_html(
            '<a href="{}#{}">{}</a>',
            correction.article.get_absolute_url(),
            correction.anchor,
            correction.anchor,
        )

    @admin.display(description="Source")
    def source_link(self, correction):
        if not correction.source_url:
            return "-"
        return format_html(
            '<a href="{}" rel="noopener noreferrer nofollow">{}</a>',
            correction.source_url,
            urlsplit(correction.source_url).hostname or correction.source_url,
        )

    @admin.display(description="What the article says now")
    def corrected_text(self, correction):
        if correction.fact is not None:
            return format_html(
                "{}<br>Quote ({}): “{}”",
                correction.fact.statement,
                correction.fact.paragraph.label,
                correction.fact.quote,
            )
        if correction.paragraph is not None:
            return format_html("{}: {}", correction.paragraph.label, correction.paragraph.text)
        return "This part is no longer in the article."

    @admin.display(description="What is wrong, and why")
    def explanation_text(self, correction):
        return format_html("<div>{}</div>", linebreaksbr(correction.explanation, autoescape=True))

    @admin.display(description="Reader")
    def sender(self, correction):
        return correction.user.get_username() if correction.user else "A guest"

    @admin.action(description="Accept the selected corrections…", permissions=["change"])
    def accept(self, request, queryset):
        """Asks what was corrected first (readers see it under the article), then accepts."""
        form = ChangeNoteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            accepted = corrections_decide(
                corrections=queryset,
                status=Correction.Status.ACCEPTED,
                editor=request.user,
                change_note=form.cleaned_data["change_note"],
            )
            self.message_user(
                request,
                f"Accepted {accepted} correction{pluralize(accepted)}: the article shows the note.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Accept corrections",
            "opts": self.model._meta,
            "corrections": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/articles/correction/accept_selected.html", context)

    @admin.action(description="Decline the selected corrections", permissions=["change"])
    def decline(self, request, queryset):
        declined = corrections_decide(
            corrections=queryset, status=Correction.Status.DECLINED, editor=request.user
        )
        self.message_user(
            request, f"Declined {declined} correction{pluralize(declined)}.", messages.SUCCESS
        )
