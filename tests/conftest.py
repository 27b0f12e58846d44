import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, Paragraph
from comments.models import Poll, PollChoice


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate limits live in the cache: every test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_article(db):
    def make(paragraphs=("First paragraph.", "Second paragraph."), **overrides):
        fields = {
            "headline": "A test article",
            "slug": f"test-article-{Article.objects.count() + 1}",
            "standfirst": "What the test article is about.",
            "status": Article.Status.PUBLISHED,
            "published_at": timezone.now() - timezone.timedelta(hours=1),
        }
        fields.update(overrides)
        article = Article.objects.create(**fields)
        Paragraph.objects.bulk_create(
            Paragraph(article=article, kind=Paragraph.Kind.BODY, position=number, text=text)
            for number, text in enumerate(paragraphs, start=1)
        )
        return article

    return make


@pytest.fixture
def seeded_article(db):
    """The shipped article with its facts (and poll, once seeded), loaded as `make run` does."""
    call_command("load_seed", verbosity=0)
    return Article.objects.get(slug="nissan-small-ev-below-leaf")


@pytest.fixture
def make_poll(make_article):
    def make(article=None, labels=("Yes", "A city niche", "No"), **fields):
        poll = Poll.objects.create(
            article=article or make_article(),
            question=fields.pop("question", "Will small EVs sell?"),
            opens_at=fields.pop("opens_at", timezone.now() - timezone.timedelta(days=3)),
            **fields,
        )
        PollChoice.objects.bulk_create(
            PollChoice(poll=poll, label=label, position=position)
            for position, label in enumerate(labels, start=1)
        )
        return poll

    return make


@pytest.fixture
def make_user(db):
    def make(username="reader", password="a-long-Passw0rd!", **extra):
        return get_user_model().objects.create_user(username=username, password=password, **extra)

    return make


@pytest.fixture
def reader(make_user):
    return make_user("reader")


@pytest.fixture
def staff_user(make_user):
    return make_user("editor-in-chief", is_staff=True, is_superuser=True)
