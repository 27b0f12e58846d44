"""The reader comment section: posting, replying, reading, marking, editing and reporting.

Each view answers an htmx request with the partial of templates/comments/_comments.html it
changes, and a plain request with a full page or a redirect, so everything works without
JavaScript too. The rules live in `services`; a refusal becomes its response in `responses`.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from articles.models import Article
from articles.selectors import visible_article_or_404
from evsite.caching import CONTENT, DISCUSSION, POLLS, limit_cache_ttl, page_cache
from evsite.sessions import save_new_session

from . import services
from .claims import claims_for
from .forms import CommentEditForm, CommentForm, CommentReportForm
from .models import Comment
from .readers import Reader
from .refusals import Refused
from .responses import announce, refusals_answered, refused_response, render_htmx
from .selectors import (
    GUEST_NAME_SESSION_KEY,
    changed_counts,
    comment_for_reader,
    comment_section,
    just_posted,
    new_comment_count,
    new_comment_form,
    thread_page_number,
)

PARTIALS = "comments/_comments.html#"
SHOW_NEW_BUTTON_ID = "show-new-comments"


def _article_or_404(request, slug):
    return visible_article_or_404(request.user, slug)


def _comment_or_404(request, pk, *, listed=True, create_token=False):
    """The comment as this reader sees it, and the reader; 404 if it is not shown to them."""
    comment = get_object_or_404(
        Comment.objects.filter(article__in=Article.objects.visible_to(request.user)), pk=pk
    )
    reader = Reader.from_request(request, create_token=create_token)
    shown = comment_for_reader(reader, comment, listed=listed)
    if shown is None:
        raise Http404("No such comment.")
    return shown, reader


def _comments_on_article_page(request, article):
    """Without htmx, the list regions are the article page's discussion in the same order."""
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    return redirect(f"{article.get_absolute_url()}{query}#comments")


# Reading


@require_GET
@vary_on_headers("HX-Request")
@page_cache(CONTENT, DISCUSSION, POLLS)
def comment_list(request, slug):
    """The threads region in another order or filter; without htmx, the article page."""
    article = _article_or_404(request, slug)
    if not request.htmx:
        return _comments_on_article_page(request, article)
    section = comment_section(request, article)
    context = {"comment_section": section, "reader": section.reader}
    if request.htmx.trigger == SHOW_NEW_BUTTON_ID:
        # The reader asked for the new comments: take them there, and show the order used.
        first = section.page.object_list[0] if section.page.object_list else None
        response = render(request, PARTIALS + "comment-threads-shown", context)
        return announce(
            response, f"Showing {section.summary}.", focus=f"#c-{first.pk}" if first else None
        )
    response = render(request, PARTIALS + "comment-threads", context)
    limit_cache_ttl(response, section.cache_ttl)
    return announce(response, f"Showing {section.summary}.", focus=section.focus_after_swap)


@require_GET
@vary_on_headers("HX-Request")
@page_cache(CONTENT, DISCUSSION, POLLS)
def comment_more(request, slug):
    """The next page of threads, to append under the ones shown."""
    article = _article_or_404(request, slug)
    if not request.htmx:
        return _comments_on_article_page(request, article)
    section = comment_section(request, article, appending=True)
    context = {"comment_section": section, "reader": section.reader}
    response = limit_cache_ttl(
        render(request, PARTIALS + "comment-more", context), section.cache_ttl
    )
    shown = section.page.object_list
    if not shown:
        return announce(response, "No more comments to load.")
    noun = "comment" if len(shown) == 1 else "comments"
    return announce(response, f"{len(shown)} more {noun} loaded.", focus=f"#c-{shown[0].pk}")


@require_GET
@page_cache(CONTENT, DISCUSSION)
def comment_new_count(request, slug):
    """How many comments others posted since the page was shown (polled every ~20 seconds)."""
    article = _article_or_404(request, slug)
    if not request.htmx:
        return redirect(f"{article.get_absolute_url()}?sort=newest#comments")
    try:
        since = int(request.GET.get("since", 0))
        known = int(request.GET.get("known", 0))
    except ValueError:
        return HttpResponse("Bad polling parameters.", status=400)
    new = new_comment_count(Reader.from_request(request), article, since=since)
    if new == known:
        return HttpResponse(status=204)
    context = {"article": article, "since": since, "new_count": new}
    return render(request, PARTIALS + "new-comments", context)


@require_GET
@vary_on_headers("HX-Request")
def comment_anchor(request, slug):
    """The "Discuss" link of a paragraph or fact card: htmx puts it on the comment form in
    place (what is typed stays) and moves focus to the text box; without htmx, the article
    page whose form carries it."""
    article = _article_or_404(request, slug)
    label = request.GET.get("anchor", "")
    reader = Reader.from_request(request)
    on_page = f"{article.get_absolute_url()}?{urlencode({'anchor': label})}#comment-form"
    if not request.htmx:
        return redirect(on_page)
    if not reader.can_post:
        return HttpResponseClientRedirect(on_page)  # where the form would be: how to join
    claim = claims_for(request, article).get(label)
    if claim is None:
        message = "That part of the article is not there any more: reload the page."
        return announce(HttpResponse(status=404), message)
    form = new_comment_form(request, reader)
    form.initial["anchor"] = label
    context = {"article": article, "form": form, "oob": True}
    response = render(request, PARTIALS + "comment-anchor", context)
    message = f"Your comment will respond to {claim.in_words}."
    return announce(response, message, focus="#comment-body")


@require_GET
@vary_on_headers("HX-Request")
def comment_permalink(request, pk):
    """A comment's address: the article page that shows its thread, scrolled to it."""
    comment, reader = _comment_or_404(request, pk)
    if request.htmx:
        return render(request, PARTIALS + "comment", {"comment": comment, "reader": reader})
    page = thread_page_number(reader, comment)
    query = f"?page={page}" if page > 1 else ""
    return redirect(f"{comment.article.get_absolute_url()}{query}#c-{comment.pk}")


# Posting


def _post_comment(request, article, *, parent=None):
    reader = Reader.from_request(request, create_token=True)
    auto_id = f"reply-{parent.pk}-%s" if parent else "comment-%s"
    form = CommentForm(
        request.POST,
        guest=reader.is_guest,
        reply_to=parent,
        auto_id=auto_id,
        binding=request.META.get("CSRF_COOKIE", ""),
    )
    try:
        services.comment_check_can_post(reader=reader, parent=parent)
        if not form.is_valid():
            raise Refused.invalid_form()
        submission = form.submission()

        def remember_guest():
            if reader.is_guest:
                request.session[GUEST_NAME_SESSION_KEY] = submission["author_name"]
            save_new_session(request)

        created = services.comment_submit(
            article=article, reader=reader, parent=parent, also=remember_guest, **submission
        )
    except Refused as refusal:
        return refused_response(
            request,
            refusal,
            form=form,
            partial=PARTIALS + ("reply-form" if parent else "comment-form"),
            page="comments/comment_form_page.html",
            context={"form": form, "parent": parent, "article": article, "reader": reader},
        )

    if created.status == Comment.Status.APPROVED:
        message = "Your reply was posted." if parent else "Your comment was posted."
    else:
        message = "Your comment was received and is awaiting moderation."
    if not request.htmx:
        messages.success(request, message)
        return redirect(created)

    comment = just_posted(created)
    response = render(
        request,
        PARTIALS + "comment-posted",
        {
            "article": article,
            "comment": comment,
            "parent": parent,
            "reader": reader,
            "form": None if parent else new_comment_form(request, reader),
            "counts": changed_counts(reader, comment),
        },
    )
    return announce(response, message, focus=f"#c-{comment.pk}")


@require_POST
def comment_create(request, slug):
    article = _article_or_404(request, slug)
    return _post_comment(request, article)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@refusals_answered
def comment_reply(request, pk):
    """GET: the reply form under a comment. POST: the reply."""
    parent, reader = _comment_or_404(request, pk)
    if request.method == "POST":
        return _post_comment(request, parent.article, parent=parent)
    services.comment_check_can_post(reader=reader, parent=parent)
    form = new_comment_form(request, reader, reply_to=parent)
    return render_htmx(
        request,
        partial=PARTIALS + "reply-form",
        page="comments/comment_form_page.html",
        context={"form": form, "parent": parent, "article": parent.article, "reader": reader},
    )


# Changing a comment


def _comment_changed(request, comment, message, *, recount=False):
    """The updated comment for htmx (and the counts it changed, if `recount`); back to it
    on the page without JavaScript."""
    reader = Reader.from_request(request)
    fresh = comment_for_reader(reader, comment, listed=False)
    if request.htmx:
        context = {"comment": fresh, "reader": reader}
        if recount:
            context["counts"] = changed_counts(reader, fresh)
        response = render(request, PARTIALS + "comment-changed", context)
        return announce(response, message, focus=f"#c-{comment.pk}")
    messages.success(request, message)
    if comment_for_reader(reader, comment) is None:
        return redirect(f"{comment.article.get_absolute_url()}#comments")
    return redirect(comment)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@refusals_answered
def comment_edit(request, pk):
    comment, reader = _comment_or_404(request, pk)
    services.comment_check_can_edit(comment=comment, reader=reader)
    posted = request.POST if request.method == "POST" else None
    form = CommentEditForm(posted, initial={"body": comment.body}, auto_id=f"edit-{comment.pk}-%s")
    templates = {"partial": PARTIALS + "comment", "page": "comments/comment_edit.html"}
    context = {"comment": comment, "edit_form": form, "reader": reader}
    if not form.is_bound:
        return render_htmx(request, **templates, context=context)
    try:
        if not form.is_valid():
            raise Refused.invalid_form()
        changed = services.comment_edit(
            comment=comment, reader=reader, body=form.cleaned_data["body"]
        )
    except Refused as refusal:
        return refused_response(request, refusal, form=form, **templates, context=context)
    if not changed:
        return _comment_changed(request, comment, "Nothing was changed.")
    message = "Your changes were saved."
    if comment.is_held:
        message = "Your changes were saved and are awaiting moderation."
    return _comment_changed(request, comment, message, recount=comment.is_held)


@require_http_methods(["GET", "POST"])
@refusals_answered
def comment_delete(request, pk):
    comment, reader = _comment_or_404(request, pk, listed=False)
    if request.method == "POST":
        services.comment_delete(comment=comment, reader=reader)
        return _comment_changed(request, comment, "Your comment was deleted.", recount=True)
    services.comment_check_own(comment=comment, reader=reader)
    return render(request, "comments/comment_delete.html", {"comment": comment})


@require_POST
@refusals_answered
def comment_stance(request, pk):
    """Show or hide the author's poll-vote badge on their comment."""
    comment, reader = _comment_or_404(request, pk)
    services.comment_stance_toggle(comment=comment, reader=reader)
    message = "Your vote is shown on this comment."
    if not comment.show_stance:
        message = "Your vote is hidden on this comment."
    return _comment_changed(request, comment, message, recount=True)


# Reader reactions


@require_POST
@refusals_answered
def comment_helpful(request, pk):
    comment, reader = _comment_or_404(request, pk, create_token=True)
    marked = services.helpful_toggle(comment=comment, reader=reader)
    if not request.htmx:
        return redirect(comment)
    context = {"comment": comment_for_reader(reader, comment), "reader": reader}
    response = render(request, PARTIALS + "helpful", context)
    return announce(response, "Marked as helpful." if marked else "Helpful mark removed.")


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@refusals_answered
def comment_report(request, pk):
    comment, reader = _comment_or_404(request, pk, create_token=request.method == "POST")
    services.comment_check_can_report(comment=comment, reader=reader)
    form = CommentReportForm(request.POST or None, auto_id=f"report-{comment.pk}-%s")
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            try:
                created = services.comment_report(
                    comment=comment, reader=reader, **form.cleaned_data
                )
            except Refused as refusal:
                return refused_response(
                    request,
                    refusal,
                    form=form,
                    partial=PARTIALS + "report-form",
                    page="comments/comment_report.html",
                    context={"comment": comment, "report_form": form, "reader": reader},
                )
            message = "Thank you. A moderator will look at this comment."
            if not created:
                message = "You have already reported this comment."
            if not request.htmx:
                messages.success(request, message)
                return redirect(f"{comment.article.get_absolute_url()}#comments")
            context = {"comment": comment, "message": message}
            response = render(
                request, PARTIALS + "report-done", context, status=200 if created else 409
            )
            return announce(response, message)
    return render_htmx(
        request,
        partial=PARTIALS + "report-form",
        page="comments/comment_report.html",
        context={"comment": comment, "report_form": form, "reader": reader},
        status=status,
    )
