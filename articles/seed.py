"""Loading the shipped article and its facts from the data files in articles/seed/."""

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db import transaction

from evsite.caching import CONTENT, DISCUSSION, POLLS, bump

from .models import Article, Brand, CarModel, Fact, Paragraph, Platform

SEED_DIR = Path(__file__).resolve().parent / "seed"
KEY_POINT_LINES = 2


@dataclass(frozen=True)
class ArticleText:
    headline: str
    standfirst: str
    key_points: list[str]
    body: list[str]


def parse_article_text(text):
    """Line 1 headline, line 2 standfirst, then two key points, then body paragraphs."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 + KEY_POINT_LINES + 1:
        raise ValueError("An article file needs a headline, standfirst, key points and a body.")
    return ArticleText(
        headline=lines[0],
        standfirst=lines[1],
        key_points=lines[2 : 2 + KEY_POINT_LINES],
        body=lines[2 + KEY_POINT_LINES :],
    )


def read_seed(name="nissan-small-ev"):
    data = tomllib.loads((SEED_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    text = (SEED_DIR / data["article"]["text_file"]).read_text(encoding="utf-8")
    return data, parse_article_text(text)


@dataclass
class SeedResult:
    article: Article
    created: bool
    overwritten: bool


def _upsert(model, slug, values, overwrite):
    obj, created = model.objects.get_or_create(slug=slug, defaults=values)
    if not created and overwrite:
        for field, value in values.items():
            setattr(obj, field, value)
        obj.save()
    return obj


@transaction.atomic
def seed_load(*, name="nissan-small-ev", overwrite=False):
    """Create the seeded article, facts and polls. Existing content is left alone unless
    `overwrite` is set, so an editor's later changes survive re-running it."""
    data, text = read_seed(name)
    meta = data["article"]
    article_values = {
        "headline": text.headline,
        "standfirst": text.standfirst,
        "byline": meta.get("byline", ""),
        "source_name": meta.get("source_name", ""),
        "source_url": meta.get("source_url", ""),
        "status": Article.Status.PUBLISHED,
        "published_at": datetime.fromisoformat(meta["published_at"]),
    }
    article, created = Article.objects.get_or_create(slug=meta["slug"], defaults=article_values)
    if not (created or overwrite):
        return SeedResult(article=article, created=False, overwritten=False)
    if overwrite and not created:
        Article.objects.filter(pk=article.pk).update(**article_values)
        article.refresh_from_db()
        article.facts.all().delete()
        article.paragraphs.all().delete()

    paragraphs = {}
    for kind, prefix, texts in (
        (Paragraph.Kind.KEY_POINT, "k", text.key_points),
        (Paragraph.Kind.BODY, "p", text.body),
    ):
        for number, paragraph_text in enumerate(texts, start=1):
            paragraphs[f"{prefix}-{number}"] = Paragraph.objects.create(
                article=article, kind=kind, position=number, text=paragraph_text
            )

    brands = {
        row["slug"]: _upsert(
            Brand,
            row["slug"],
            {"name": row["name"], "parent_group": row.get("parent_group", "")},
            overwrite,
        )
        for row in data.get("brands", [])
    }
    platforms = {
        row["slug"]: _upsert(
            Platform,
            row["slug"],
            {"name": row["name"], "description": row.get("description", "")},
            overwrite,
        )
        for row in data.get("platforms", [])
    }
    car_models = {}
    for row in data.get("car_models", []):
        values = {
            key: value for key, value in row.items() if key not in {"slug", "brand", "platform"}
        }
        values["brand"] = brands[row["brand"]]
        values["platform"] = platforms.get(row.get("platform"))
        car_models[row["slug"]] = _upsert(CarModel, row["slug"], values, overwrite)

    for position, row in enumerate(data.get("facts", []), start=1):
        fact = Fact(
            article=article,
            position=position,
            topic=row["topic"],
            statement=row["statement"],
            certainty=row["certainty"],
            year=row.get("year"),
            attribute=row.get("attribute", ""),
            car_model=car_models.get(row.get("car_model")),
            brand=brands.get(row.get("brand")),
            platform=platforms.get(row.get("platform")),
            paragraph=paragraphs[row["paragraph"]],
            quote=row["quote"],
        )
        fact.full_clean()
        fact.save()

    _seed_polls(article, data.get("polls", []))
    # Loading is not an editorial update: the shipped article was last changed when published.
    Article.objects.filter(pk=article.pk).update(updated_at=article.published_at)
    article.refresh_from_db()
    bump(CONTENT, DISCUSSION, POLLS)
    return SeedResult(article=article, created=created, overwritten=overwrite and not created)


def _seed_polls(article, polls):
    from comments.models import Poll, PollChoice

    for position, row in enumerate(polls, start=1):
        if article.polls.filter(question=row["question"]).exists():
            continue
        poll = Poll.objects.create(
            article=article,
            question=row["question"],
            description=row.get("description", ""),
            position=position,
            opens_at=article.published_at,
        )
        PollChoice.objects.bulk_create(
            PollChoice(poll=poll, label=label, position=number)
            for number, label in enumerate(row["choices"], start=1)
        )
