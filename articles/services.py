"""Editors' writes that the admin's own saves do not cover."""

from django.db import transaction
from django.utils import timezone

from evsite.caching import CONTENT, bump

from .models import Article


@transaction.atomic
def articles_publish(*, articles):
    """Publish these articles. A draft published now is dated now, unless an editor
    scheduled it for later. Returns how many were selected."""
    now = timezone.now()
    articles.filter(status=Article.Status.DRAFT, published_at__lt=now).update(published_at=now)
    published = articles.update(status=Article.Status.PUBLISHED)
    bump(CONTENT)
    return published


@transaction.atomic
def articles_unpublish(*, articles):
    """Return these articles to draft."""
    drafted = articles.update(status=Article.Status.DRAFT)
    bump(CONTENT)
    return drafted
