"""What the article page and its JSON show: the article's text and its sourced facts."""

import json
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.safestring import mark_safe

from evsite.prepared import model_columns, model_from_row, prepared_rows

from .corrections import Target, corrected_dates, mark_corrected, published_corrections
from .models import Article, CarModel, Fact, Paragraph, sees_unpublished

SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

TABLE_COLUMNS = [
    Fact.Attribute.PLATFORM,
    Fact.Attribute.SEGMENT,
    Fact.Attribute.BODY_STYLE,
    Fact.Attribute.STATUS,
    Fact.Attribute.MARKET,
    Fact.Attribute.TIMING,
    Fact.Attribute.TARGET_PRICE,
]


def _featured_query(now):
    newest = Article.objects.published_by(now).order_by("-published_at", "-pk")
    return newest.values(*model_columns(Article))[:1]


def featured_article():
    """`Article.objects.featured()`, by SQL built once per worker: the home page asks for
    it each time it is rendered."""
    rows = prepared_rows(("featured-article",), _featured_query, now=timezone.now())
    return model_from_row(Article, rows[0], using=Article.objects.db) if rows else None


def _published_article_query(slug, now):
    return Article.objects.published_by(now).filter(slug=slug).values(*model_columns(Article))


def visible_article_or_404(user, slug):
    """The article `slug` if `user` may see it (`Article.objects.visible_to`), else a 404.
    Readers' articles are read by SQL built once per worker: every comment, page of
    comments and article page asks; editors' by the ORM."""
    if sees_unpublished(user):
        return get_object_or_404(Article, slug=slug)
    values = {"slug": slug, "now": timezone.now()}
    rows = prepared_rows(("published-article",), _published_article_query, **values)
    if not rows:
        raise Http404("No such article.")
    return model_from_row(Article, rows[0], using=Article.objects.db)


def format_money(amount, currency):
    symbol = CURRENCY_SYMBOLS.get(currency)
    number = intcomma(int(amount))
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def target_price_display(car_model):
    if car_model.target_price is None:
        return ""
    text = format_money(car_model.target_price, car_model.target_price_currency)
    if car_model.target_price_usd is not None and car_model.target_price_currency != "USD":
        text += f" ({format_money(car_model.target_price_usd, 'USD')})"
    return f"Less than {text}" if car_model.target_price_is_upper_bound else text


def attribute_value(car_model, attribute):
    """The car model's value for one table column, as readers see it ("" when not set)."""
    if attribute == Fact.Attribute.PLATFORM:
        return car_model.platform.name if car_model.platform else ""
    if attribute == Fact.Attribute.STATUS:
        return car_model.get_status_display() if car_model.status else ""
    if attribute == Fact.Attribute.TARGET_PRICE:
        return target_price_display(car_model)
    return getattr(car_model, attribute)


@dataclass(frozen=True)
class Cell:
    column: str
    value: str
    source: Fact | None


@dataclass(frozen=True)
class ModelRow:
    car_model: CarModel
    cells: list[Cell]


def model_rows(car_models):
    """One row per car model. A value shows only when a fact of this article backs it:
    otherwise the cell says "Not stated", because the page claims nothing it cannot source."""
    rows = []
    for car_model in car_models:
        sources = {fact.attribute: fact for fact in car_model.article_facts if fact.attribute}
        cells = []
        for attribute in TABLE_COLUMNS:
            source = sources.get(attribute)
            value = attribute_value(car_model, attribute) if source else ""
            cells.append(
                Cell(column=attribute.label, value=value, source=source if value else None)
            )
        rows.append(ModelRow(car_model=car_model, cells=cells))
    return rows


def timeline(facts):
    dated = sorted(
        (fact for fact in facts if fact.year), key=lambda fact: (fact.year, fact.position)
    )
    return [(year, list(group)) for year, group in groupby(dated, key=lambda fact: fact.year)]


FACT_GROUP_TITLES = {
    Fact.Topic.CAR_MODEL: "More about the models",
    Fact.Topic.BRAND: "Brands",
    Fact.Topic.PLATFORM: "Platforms",
    Fact.Topic.BATTERY: "Batteries",
    Fact.Topic.MARKET: "Markets",
}


def fact_group_title(topic, facts):
    """A heading for one topic's facts, named after the platform when they share one."""
    platforms = {fact.platform.name for fact in facts if fact.platform}
    if topic == Fact.Topic.PLATFORM and len(platforms) == 1:
        return f"The {platforms.pop()} platform"
    return FACT_GROUP_TITLES.get(topic, Fact.Topic(topic).label)


def facts_by_topic(facts, shown_in_table=()):
    """The facts the model table does not already show, grouped for the panel's lists."""
    shown = {fact.pk for fact in shown_in_table}
    listed = [fact for fact in facts if fact.pk not in shown]
    order = list(Fact.Topic)
    listed.sort(key=lambda fact: (order.index(fact.topic), fact.position))
    groups = [(topic, list(group)) for topic, group in groupby(listed, key=lambda f: f.topic)]
    return [(fact_group_title(topic, group), group) for topic, group in groups]


def fact_cards(facts):
    """Of one article's `facts` (in its order, position then pk, each with
    `car_model__platform`), those with a card of their own on its page: every one but those
    whose value the model table shows, as `ArticlePage.fact_groups` lists them. Readers
    discuss and correct exactly these and the paragraphs."""
    by_model = {}
    for fact in facts:
        if fact.car_model is not None:
            by_model.setdefault(fact.car_model_id, (fact.car_model, []))[1].append(fact)
    for car_model, its_facts in by_model.values():
        car_model.article_facts = its_facts
    rows = model_rows(car_model for car_model, _ in by_model.values())
    in_table = {cell.source.pk for row in rows for cell in row.cells if cell.source}
    return [fact for fact in facts if fact.pk not in in_table]


def shown_where(corrections, rows):
    """`corrections` (`published_corrections`), each linking to where the page shows what it
    corrected: a fact the model table shows (one of `rows`) links to the table's row."""
    row_anchors = {
        cell.source.pk: f"model-{row.car_model.slug}"
        for row in rows
        for cell in row.cells
        if cell.source
    }
    return [
        correction.shown_at(row_anchors[correction.fact_id])
        if correction.links and correction.fact_id in row_anchors
        else correction
        for correction in corrections
    ]


def correction_targets(article):
    """Every part of `article` a reader can suggest a correction to, by anchor: its
    paragraphs, key points first, and its fact cards (two queries)."""
    paragraphs = sorted(
        article.paragraphs.all(), key=lambda p: (p.kind != Paragraph.Kind.KEY_POINT, p.position)
    )
    targets = {
        paragraph.anchor: Target(
            anchor=paragraph.anchor,
            label=paragraph.label,
            text=paragraph.text,
            paragraph=paragraph,
        )
        for paragraph in paragraphs
    }
    facts = article.facts.select_related("paragraph", "car_model__platform").order_by(
        "position", "pk"
    )
    for fact in fact_cards(list(facts)):
        targets[fact.anchor] = Target(
            anchor=fact.anchor, label="Fact", text=fact.statement, fact=fact
        )
    return targets


class ArticlePage:
    """What the article page shows of the article itself. Each part is read from the
    database only when the template renders it, so a cached fragment costs no query."""

    def __init__(self, article, request):
        self.article = article
        self.request = request
        self.table_columns = [column.label for column in TABLE_COLUMNS]

    @cached_property
    def canonical_url(self):
        return self.request.build_absolute_uri(self.article.get_absolute_url())

    @cached_property
    def _paragraphs(self):
        return list(self.article.paragraphs.all())

    @cached_property
    def key_points(self):
        return [p for p in self._paragraphs if p.kind == Paragraph.Kind.KEY_POINT]

    @cached_property
    def body_paragraphs(self):
        return [p for p in self._paragraphs if p.kind == Paragraph.Kind.BODY]

    @cached_property
    def _facts(self):
        return mark_corrected(list(self.article.facts.for_panel()), self._corrected_dates)

    @cached_property
    def _car_models(self):
        car_models = list(CarModel.objects.mentioned_in(self.article))
        for car_model in car_models:
            mark_corrected(car_model.article_facts, self._corrected_dates)
        return car_models

    @cached_property
    def model_rows(self):
        return model_rows(self._car_models)

    @cached_property
    def fact_groups(self):
        in_table = [cell.source for row in self.model_rows for cell in row.cells if cell.source]
        return facts_by_topic(self._facts, in_table)

    @cached_property
    def timeline(self):
        return timeline(self._facts)

    @cached_property
    def _published_corrections(self):
        return published_corrections(self.article)

    @cached_property
    def _corrected_dates(self):
        return corrected_dates(self._published_corrections)

    @cached_property
    def corrections(self):
        """Accepted corrections, for the dated note at the end of the article, each linking
        to what it corrected: a fact the model table shows links to the table's row."""
        return shown_where(self._published_corrections, self.model_rows)

    @cached_property
    def json_ld(self):
        return news_article_json_ld(
            self.article, self._car_models, self.canonical_url, self.request
        )


def news_article_json_ld(article, car_models, canonical_url, request):
    """schema.org NewsArticle data, published by the site (EVR_SITE_NAME)."""
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.headline,
        "description": article.standfirst,
        "datePublished": article.published_at.isoformat(),
        "dateModified": article.updated_at.isoformat(),
        "mainEntityOfPage": canonical_url,
        "url": canonical_url,
        "publisher": {"@type": "Organization", "name": settings.EVR_SITE_NAME},
        "mentions": [
            {
                "@type": "Car",
                "name": str(car_model),
                "brand": {"@type": "Brand", "name": car_model.brand.name},
                "url": request.build_absolute_uri(car_model.get_absolute_url()),
            }
            for car_model in car_models
        ],
    }
    if article.byline:
        data["author"] = {"@type": "Organization", "name": article.byline}
    # Safe inside <script>: no "</script>" or HTML comment can be formed from escaped brackets.
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(SCRIPT_ESCAPES))


def _source_json(fact, request):
    return {
        "paragraph": fact.paragraph.anchor,
        "paragraph_label": fact.paragraph.label,
        "url": request.build_absolute_uri(fact.get_absolute_url()),
        "quote": fact.quote,
        "certainty": fact.certainty,
    }


def facts_as_json(article, request):
    corrections = published_corrections(article)
    facts = mark_corrected(list(article.facts.for_panel()), corrected_dates(corrections))
    rows = model_rows(CarModel.objects.mentioned_in(article))
    car_models = []
    for row in rows:
        car_model = row.car_model
        car_models.append(
            {
                "name": str(car_model),
                "slug": car_model.slug,
                "brand": car_model.brand.name,
                "url": request.build_absolute_uri(car_model.get_absolute_url()),
                "fields": {
                    attribute.value: (
                        {"value": cell.value, "source": _source_json(cell.source, request)}
                        if cell.source
                        else None
                    )
                    for attribute, cell in zip(TABLE_COLUMNS, row.cells, strict=True)
                },
            }
        )
    return {
        "article": {
            "headline": article.headline,
            "url": request.build_absolute_uri(article.get_absolute_url()),
            "published_at": article.published_at.isoformat(),
        },
        "car_models": car_models,
        "facts": [
            {
                "statement": fact.statement,
                "topic": fact.topic,
                "certainty": fact.certainty,
                "year": fact.year,
                "car_model": str(fact.car_model) if fact.car_model else None,
                "brand": fact.brand.name if fact.brand else None,
                "platform": fact.platform.name if fact.platform else None,
                "backs_field": fact.attribute or None,
                "source": _source_json(fact, request),
                "anchor": fact.anchor,
                "corrected": _date_json(fact.corrected_on),
            }
            for fact in facts
        ],
        "timeline": [
            {"year": year, "facts": [fact.statement for fact in group]}
            for year, group in timeline(facts)
        ],
        "corrections": [
            {
                "date": _date_json(correction.date),
                "anchor": correction.anchor,
                "change_note": correction.change_note,
                "url": request.build_absolute_uri(
                    f"{article.get_absolute_url()}#{correction.link_anchor}"
                )
                if correction.links
                else None,
            }
            for correction in shown_where(corrections, rows)
        ],
    }


def _date_json(day):
    return day.isoformat() if day else None
