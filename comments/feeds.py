"""Atom feeds: the site's published articles, and the published comments of one article.

Each costs one query for its entries (the comments feed one more for its article), and is
cached like the pages (evsite/caching.py) under the versions of what it shows: a new comment
is in the feed at the next request. Feeds carry what the page shows, never an email.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_safe

from articles.models import Article
from evsite.caching import CONTENT, DISCUSSION, page_cache

from .readers import Reader
from .text import render_plain_text

FEED_ENTRIES = 50


class ArticlesFeed(Feed):
    feed_type = Atom1Feed

    def title(self):
        return f"{settings.EVR_SITE_NAME}: articles"

    def subtitle(self):
        return "News and reader discussion about small electric cars."

    def link(self):
        return reverse("articles:home")

    def feed_url(self):
        return reverse("feed_articles")

    def author_name(self):
        return settings.EVR_SITE_NAME

    def items(self):
        return Article.objects.published().order_by("-published_at", "-pk")[:FEED_ENTRIES]

    def item_title(self, article):
        return article.headline

    def item_description(self, article):
        return escape(article.standfirst)  # an Atom summary of type "html"

    def item_author_name(self, article):
        return article.byline or settings.EVR_SITE_NAME

    def item_pubdate(self, article):
        return article.published_at

    def item_updateddate(self, article):
        return max(article.updated_at, article.published_at)


class ArticleCommentsFeed(Feed):
    """The comments every reader sees under the article: published, not deleted, under
    published comments; newest first."""

    feed_type = Atom1Feed

    def get_object(self, request, slug):
        return get_object_or_404(Article.objects.published(), slug=slug)

    def title(self, article):
        return f"Comments on “{article.headline}”"

    def subtitle(self, article):
        return f"Reader discussion on {settings.EVR_SITE_NAME}."

    def link(self, article):
        return f"{article.get_absolute_url()}#comments"

    def feed_url(self, article):
        return reverse("feed_article_comments", kwargs={"slug": article.slug})

    def author_name(self, article):
        return settings.EVR_SITE_NAME

    def items(self, article):
        return (
            article.comments.listed_for(Reader())
            .filter(deleted_at__isnull=True)
            .order_by("-created_at", "-pk")[:FEED_ENTRIES]
        )

    def item_title(self, comment):
        kind = "Reply" if comment.parent_id else "Comment"
        return f"{kind} by {comment.author_name}"

    def item_link(self, comment):
        return comment.get_absolute_url()

    def item_description(self, comment):
        return render_plain_text(comment.body)

    def item_author_name(self, comment):
        return comment.author_name

    def item_pubdate(self, comment):
        return comment.created_at

    def item_updateddate(self, comment):
        return comment.edited_at or comment.created_at


articles_feed = require_safe(page_cache(CONTENT)(ArticlesFeed()))
article_comments_feed = require_safe(page_cache(CONTENT, DISCUSSION)(ArticleCommentsFeed()))
