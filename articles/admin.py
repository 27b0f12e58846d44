from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.template.defaultfilters import pluralize

from comments.privacy import HidesPrivateFields
from evsite.caching import BumpsVersionsAdmin

from .models import Article, Brand, CarModel, Fact, Paragraph, Platform
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
    list_display = ["__str__", "brand", "platform", "status", "market", "target_price_display"]
    list_filter = ["status", "brand", "platform"]
    list_select_related = ["brand", "platform"]
    search_fields = ["name", "brand__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["brand", "platform"]
    fieldsets = [
        (None, {"fields": ["brand", "name", "slug", "platform"]}),
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
