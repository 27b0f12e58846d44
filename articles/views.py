from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers

from comments.readers import Reader
from comments.refusals import Refused
from comments.responses import announce, refused_response
from comments.selectors import article_discussion
from evsite.caching import (
    CONTENT,
    DISCUSSION,
    POLLS,
    limit_cache_ttl,
    page_cache,
    version_or_unique,
)

from .corrections import CorrectionForm, correction_submit
from .models import Article, Brand, CarModel, Platform
from .selectors import (
    ArticlePage,
    correction_targets,
    facts_as_json,
    featured_article,
    visible_article_or_404,
)


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
    article = featured_article()
    if article is None:
        return render(request, "articles/no_articles.html", status=404)
    return _render_article(request, article)


@require_safe
@page_cache(CONTENT, DISCUSSION, POLLS)
def article_detail(request, slug):
    article = visible_article_or_404(request.user, slug)
    return _render_article(request, article)


@require_safe
@page_cache(CONTENT)
def article_facts_json(request, slug):
    article = visible_article_or_404(request.user, slug)
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


CORRECTION_PAGE = "articles/correction_form.html"
CORRECTION_SENT = "Thank you: your suggestion was sent to the editors."


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def correction_new(request, slug):
    """GET: the form to suggest a correction to a paragraph or fact (`?anchor=p-3`).
    POST: the suggestion, kept for the editors; htmx swaps the form for the thanks."""
    article = visible_article_or_404(request.user, slug)
    targets = correction_targets(article)
    if request.method == "GET":
        form = CorrectionForm(targets=targets, initial={"anchor": request.GET.get("anchor", "")})
        return render(request, CORRECTION_PAGE, {"article": article, "form": form})
    reader = Reader.from_request(request, create_token=True)
    form = CorrectionForm(
        request.POST, targets=targets, binding=request.META.get("CSRF_COOKIE", "")
    )
    try:
        if not form.is_valid():
            raise Refused.invalid_form()
        submission = form.submission()
        correction_submit(article=article, reader=reader, **submission)
    except Refused as refusal:
        response = refused_response(
            request,
            refusal,
            form=form,
            partial=f"{CORRECTION_PAGE}#correction-form",
            page=CORRECTION_PAGE,
            context={"article": article, "form": form, "reader": reader},
        )
        if request.htmx:
            response = announce(response, _form_problems(form), focus=_first_problem(form))
        return response
    anchor = submission["target"].anchor
    if not request.htmx:
        sent = reverse("articles:correction_sent", kwargs={"slug": article.slug})
        return redirect(f"{sent}?{urlencode({'anchor': anchor})}")
    context = {"article": article, "anchor": anchor}
    response = render(request, f"{CORRECTION_PAGE}#correction-sent", context)
    return announce(response, CORRECTION_SENT, focus="#correction-sent")


@require_safe
def correction_sent(request, slug):
    """The thanks for a suggestion sent without JavaScript, with the way back."""
    article = visible_article_or_404(request.user, slug)
    anchor = request.GET.get("anchor", "")
    if anchor not in correction_targets(article):
        anchor = ""
    return render(request, CORRECTION_PAGE, {"article": article, "anchor": anchor, "sent": True})


def _form_problems(form):
    """Every error on the form, to read out."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _first_problem(form):
    """Where the reader goes to fix the form: the first field in error, else its errors."""
    for name in form.fields:
        if name in form.errors and not form[name].is_hidden:
            return f"#{form[name].id_for_label}"
    return "#correction-form .errorlist"
