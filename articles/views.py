from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from comments.selectors import article_discussion
from evsite.caching import (
    CONTENT,
    DISCUSSION,
    POLLS,
    limit_cache_ttl,
    page_cache,
    version_or_unique,
)

from .models import Article, Brand, CarModel, Platform
from .selectors import ArticlePage, facts_as_json


def _render_article(request, article):
    discussion = article_discussion(request, article)
    context = {
        "article": article,
        "page": ArticlePage(article, request),
        "content_version": version_or_unique(CONTENT),
        **discussion,
    }
    response = render(request, "articles/article_detail.html", context)
    # A cached copy must not outlive what changes by itself: an Edit link, a poll's deadline.
    changes = [panel.changes_in for panel in discussion["poll_panels"]]
    changes.append(discussion["comment_section"].cache_ttl)
    return limit_cache_ttl(response, min((s for s in changes if s is not None), default=None))


@require_safe
@page_cache(CONTENT, DISCUSSION, POLLS)
def home(request):
    article = Article.objects.featured()
    if article is None:
        return render(request, "articles/no_articles.html", status=404)
    return _render_article(request, article)


@require_safe
@page_cache(CONTENT, DISCUSSION, POLLS)
def article_detail(request, slug):
    article = get_object_or_404(Article.objects.visible_to(request.user), slug=slug)
    return _render_article(request, article)


@require_safe
@page_cache(CONTENT)
def article_facts_json(request, slug):
    article = get_object_or_404(Article.objects.visible_to(request.user), slug=slug)
    return JsonResponse(facts_as_json(article, request), json_dumps_params={"ensure_ascii": False})


def _entity_page(request, entity, kind):
    facts = (
        entity.facts.filter(article__in=Article.objects.visible_to(request.user))
        .select_related("paragraph__article")
        .order_by("article", "position")
    )
    return render(
        request, "articles/entity_detail.html", {"entity": entity, "kind": kind, "facts": facts}
    )


@require_safe
def car_model_detail(request, slug):
    car_model = get_object_or_404(CarModel.objects.select_related("brand", "platform"), slug=slug)
    return _entity_page(request, car_model, "Car model")


@require_safe
def brand_detail(request, slug):
    return _entity_page(request, get_object_or_404(Brand, slug=slug), "Brand")


@require_safe
def platform_detail(request, slug):
    return _entity_page(request, get_object_or_404(Platform, slug=slug), "Platform")
