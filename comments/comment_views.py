"""The reader comment section: posting, replying, reading, marking, editing and reporting.

Each view answers an htmx request with the partial of templates/comments/_comments.html it
changes, and a plain request with a full page or a redirect, so everything works without
JavaScript too.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from articles.models import Article

from . import services
from .comment_sections import (
    GUEST_NAME_SESSION_KEY,
    Reader,
    comment_counts,
    comment_for_reader,
    comment_section,
    new_comment_form,
    thread_page_number,
    visible_comments,
)
from .forms import CommentEditForm, CommentForm, CommentReportForm
from .models import Comment
from .moderation import comment_verdict
from .ratelimit import comment_rate_limit_retry_after
from .readers import ip_hash, reader_token

PARTIALS = "comments/_comments.html#"
SHOW_NEW_BUTTON_ID = "show-new-comments"

GUESTS_CLOSED = "Log in or sign up to comment."
REPLIES_CLOSED = "This comment can no longer be replied to."
EDIT_WINDOW_OVER = "Comments can only be edited in the first {minutes} minutes."
NOT_YOURS = "You can only change your own comments."
AUTHOR_NAME_MAX_LENGTH = Comment._meta.get_field("author_name").max_length


def _article_or_404(request, slug):
    return get_object_or_404(Article.objects.visible_to(request.user), slug=slug)


def _comment_or_404(request, pk, *, listed=True):
    """The comment as this reader sees it, or 404 if it is not shown to them."""
    comment = get_object_or_404(
        Comment.objects.select_related("article").filter(
            article__in=Article.objects.visible_to(request.user)
        ),
        pk=pk,
    )
    reader = Reader.from_request(request)
    shown = comment_for_reader(reader, comment, listed=listed)
    if shown is None:
        raise Http404("No such comment.")
    return shown, reader


def _announce(response, message, *, focus=None):
    """Tell screen-reader users what changed, and move focus to it, once htmx has settled."""
    detail = {"message": message}
    if focus:
        detail["focus"] = focus
    return trigger_client_event(response, "evr:announce", detail, after="settle")


def _refused(request, message, *, comment=None, status=403):
    if request.htmx:
        response = render(request, PARTIALS + "action-refused", {"message": message}, status=status)
        if comment is not None:
            # Whatever the action meant to replace, the explanation goes under the comment.
            response = reswap(retarget(response, f"#c-{comment.pk}-slot"), "innerHTML")
        return _announce(response, message)
    return render(
        request,
        "comments/comment_refused.html",
        {"message": message, "comment": comment},
        status=status,
    )


def _account_display_name(user):
    """The name shown on a signed-in reader's comment. Accounts allow longer names than a
    comment stores, so a long one is shortened rather than refused by the database."""
    name = user.get_full_name() or user.get_username()
    return Truncator(name).chars(AUTHOR_NAME_MAX_LENGTH)


def _comments_on_article_page(request, article):
    """Without htmx, the list regions are the article page's discussion in the same order."""
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    return redirect(f"{article.get_absolute_url()}{query}#comments")


# Reading


@require_GET
@vary_on_headers("HX-Request")
def comment_list(request, slug):
    """The threads region in another order or filter; without htmx, the article page."""
    article = _article_or_404(request, slug)
    if not request.htmx:
        return _comments_on_article_page(request, article)
    section = comment_section(request, article)
    first = section.page.object_list[0] if section.page.object_list else None
    if request.htmx.trigger == SHOW_NEW_BUTTON_ID:
        # The reader asked for the new comments: take them there, and show the order used.
        response = render(request, PARTIALS + "comment-threads-shown", {"comment_section": section})
        return _announce(
            response, f"Showing {section.summary}.", focus=f"#c-{first.pk}" if first else None
        )
    response = render(request, PARTIALS + "comment-threads", {"comment_section": section})
    return _announce(response, f"Showing {section.summary}.")


@require_GET
@vary_on_headers("HX-Request")
def comment_more(request, slug):
    """The next page of threads, to append under the ones shown."""
    article = _article_or_404(request, slug)
    if not request.htmx:
        return _comments_on_article_page(request, article)
    section = comment_section(request, article, appending=True)
    response = render(request, PARTIALS + "comment-more", {"comment_section": section})
    first = section.page.object_list[0] if section.page.object_list else None
    count = len(section.page.object_list)
    if not count:
        return _announce(response, "No more comments to load.")
    noun = "comment" if count == 1 else "comments"
    return _announce(response, f"{count} more {noun} loaded.", focus=f"#c-{first.pk}")


@require_GET
def comment_new_count(request, slug):
    """How many comments others posted since the page was shown (polled every ~20 seconds)."""
    article = _article_or_404(request, slug)
    if not request.htmx:
        return redirect(f"{article.get_absolute_url()}?sort=newest#comments")
    reader = Reader.from_request(request)
    try:
        since = int(request.GET.get("since", 0))
        known = int(request.GET.get("known", 0))
    except ValueError:
        return HttpResponse("Bad polling parameters.", status=400)
    new = (
        visible_comments(reader, article)
        .filter(pk__gt=since, deleted_at__isnull=True)
        .exclude(reader.owns_q())
        .count()
    )
    if new == known:
        return HttpResponse(status=204)
    return render(
        request,
        PARTIALS + "new-comments",
        {"article": article, "since": since, "new_count": new},
    )


@require_GET
@vary_on_headers("HX-Request")
def comment_permalink(request, pk):
    """A comment's address: the article page that shows its thread, scrolled to it."""
    comment, reader = _comment_or_404(request, pk)
    if request.htmx:
        return render(request, PARTIALS + "comment", {"comment": comment})
    page = thread_page_number(reader, comment)
    query = f"?page={page}" if page > 1 else ""
    return redirect(f"{comment.article.get_absolute_url()}{query}#c-{comment.pk}")


# Posting


def _post_comment(request, article, *, parent=None):
    reader = Reader.from_request(request)
    auto_id = f"reply-{parent.pk}-%s" if parent else "comment-%s"
    form = CommentForm(request.POST, guest=reader.is_guest, reply_to=parent, auto_id=auto_id)
    context = {"form": form, "parent": parent, "article": article}

    def form_again(status, headers=None):
        form.restamp()
        if request.htmx:
            partial = "reply-form" if parent else "comment-form"
            response = render(request, PARTIALS + partial, context, status=status)
        else:
            response = render(request, "comments/comment_form_page.html", context, status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    if not reader.can_post:
        form.add_error(None, GUESTS_CLOSED)
        return form_again(403)
    if parent is not None and (parent.is_deleted or parent.status != Comment.Status.APPROVED):
        form.add_error(None, REPLIES_CLOSED)
        return form_again(409)
    if not form.is_valid():
        return form_again(422)

    retry_after = comment_rate_limit_retry_after(request)
    if retry_after is not None:
        form.add_error(
            None,
            f"You are posting faster than the limit allows. Wait {retry_after} "
            f"second{pluralize(retry_after)}, "
            "then post again: your text is still here.",
        )
        return form_again(429, {"Retry-After": str(retry_after)})

    token = reader_token(request) if reader.is_guest else ""
    verdict = comment_verdict(
        article=article,
        body=form.cleaned_data["body"],
        user=reader.user,
        reader_token=token,
        ip_hash=ip_hash(request),
        honeypot_filled=form.honeypot_filled,
        too_fast=form.too_fast,
    )
    if verdict.refuse:
        form.add_error("body", verdict.reason)
        return form_again(422)

    user = reader.user
    created = services.comment_create(
        article=article,
        parent=parent,
        user=user,
        reader_token=token,
        author_name=_account_display_name(user) if user else form.cleaned_data["author_name"],
        email="" if user else form.cleaned_data["email"],
        body=form.cleaned_data["body"],
        ip_hash=ip_hash(request),
        status=verdict.status,
        hold_reason=verdict.reason,
    )
    if verdict.status == Comment.Status.APPROVED:
        message = "Your reply was posted." if parent else "Your comment was posted."
    else:
        message = "Your comment was received and is awaiting moderation."

    if reader.is_guest:
        request.session[GUEST_NAME_SESSION_KEY] = created.author_name
    if not request.htmx:
        messages.success(request, message)
        return redirect(created)

    reader = Reader.from_request(request)  # a guest's first post has just created their token
    comment = comment_for_reader(reader, created, listed=False)
    response = render(
        request,
        PARTIALS + "comment-posted",
        {
            "article": article,
            "comment": comment,
            "parent": parent,
            "form": None if parent else new_comment_form(request, reader),
            "comment_total": comment_counts(reader, article)["total"],
        },
    )
    return _announce(response, message, focus=f"#c-{comment.pk}")


@require_POST
def comment_create(request, slug):
    article = _article_or_404(request, slug)
    return _post_comment(request, article)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def comment_reply(request, pk):
    """GET: the reply form under a comment. POST: the reply."""
    parent, reader = _comment_or_404(request, pk)
    if request.method == "POST":
        return _post_comment(request, parent.article, parent=parent)
    if not parent.can_respond:
        message = GUESTS_CLOSED if not reader.can_post else REPLIES_CLOSED
        return _refused(request, message, comment=parent, status=403)
    form = new_comment_form(request, reader, reply_to=parent)
    context = {"form": form, "parent": parent, "article": parent.article}
    if request.htmx:
        return render(request, PARTIALS + "reply-form", context)
    return render(request, "comments/comment_form_page.html", context)


# Changing a comment


def _own_comment_or_403(request, pk, *, listed=True):
    comment, reader = _comment_or_404(request, pk, listed=listed)
    if not comment.is_mine:
        return comment, reader, _refused(request, NOT_YOURS, comment=comment)
    return comment, reader, None


def _comment_changed(request, comment, message, *, recount=False):
    """The updated comment for htmx (and the heading's count if it changed); back to it on
    the page without JavaScript."""
    reader = Reader.from_request(request)
    fresh = comment_for_reader(reader, comment, listed=False)
    if request.htmx:
        context = {"comment": fresh}
        if recount:
            context["comment_total"] = comment_counts(reader, comment.article)["total"]
        response = render(request, PARTIALS + "comment-changed", context)
        return _announce(response, message, focus=f"#c-{comment.pk}")
    messages.success(request, message)
    if comment_for_reader(reader, comment) is None:
        return redirect(f"{comment.article.get_absolute_url()}#comments")
    return redirect(comment)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def comment_edit(request, pk):
    comment, reader, refused = _own_comment_or_403(request, pk)
    if refused:
        return refused
    if not comment.can_edit:
        message = EDIT_WINDOW_OVER.format(minutes=settings.EVR_COMMENT_EDIT_MINUTES)
        return _refused(request, message, comment=comment)

    status = 200
    if request.method == "POST":
        form = CommentEditForm(request.POST, auto_id=f"edit-{comment.pk}-%s")
        if form.is_valid():
            body = form.cleaned_data["body"]
            if body == comment.body:
                # Saving the same words is not an edit: the comment is not marked "edited".
                return _comment_changed(request, comment, "Nothing was changed.")
            verdict = comment_verdict(
                article=comment.article,
                body=body,
                user=reader.user,
                reader_token=reader.token,
                ip_hash=ip_hash(request),
                honeypot_filled=False,
                too_fast=False,
                editing=comment,
            )
            if verdict.refuse:
                form.add_error("body", verdict.reason)
            else:
                held = verdict if verdict.is_held else None
                services.comment_edit(
                    comment=comment,
                    body=body,
                    status=held.status if held and not comment.is_held else None,
                    hold_reason=held.reason if held else "",
                )
                message = "Your changes were saved."
                if held:
                    message = "Your changes were saved and are awaiting moderation."
                return _comment_changed(request, comment, message)
        status = 422
    else:
        form = CommentEditForm(initial={"body": comment.body}, auto_id=f"edit-{comment.pk}-%s")

    context = {"comment": comment, "edit_form": form}
    if request.htmx:
        return render(request, PARTIALS + "comment", context, status=status)
    return render(request, "comments/comment_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
def comment_delete(request, pk):
    comment, _reader, refused = _own_comment_or_403(request, pk, listed=False)
    if refused:
        return refused
    if request.method == "POST":
        services.comment_delete(comment=comment)
        return _comment_changed(request, comment, "Your comment was deleted.", recount=True)
    return render(request, "comments/comment_delete.html", {"comment": comment})


@require_POST
def comment_stance(request, pk):
    """Show or hide the author's poll-vote badge on their comment."""
    comment, _reader, refused = _own_comment_or_403(request, pk)
    if refused:
        return refused
    services.comment_set_show_stance(comment=comment, show=not comment.show_stance)
    message = "Your vote is shown on this comment."
    if not comment.show_stance:
        message = "Your vote is hidden on this comment."
    return _comment_changed(request, comment, message)


# Reader reactions


@require_POST
def comment_helpful(request, pk):
    comment, reader = _comment_or_404(request, pk)
    if not comment.can_mark:
        return _refused(request, "You cannot mark this comment as helpful.", comment=comment)
    marked = services.helpful_toggle(
        comment=comment,
        user=reader.user,
        reader_token="" if reader.user else reader_token(request),
    )
    if not request.htmx:
        return redirect(comment)
    comment = comment_for_reader(Reader.from_request(request), comment)
    response = render(request, PARTIALS + "helpful", {"comment": comment})
    message = "Marked as helpful." if marked else "Helpful mark removed."
    return _announce(response, message)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def comment_report(request, pk):
    comment, reader = _comment_or_404(request, pk)
    if not comment.can_report:
        return _refused(request, "You cannot report this comment.", comment=comment)
    form = CommentReportForm(request.POST or None, auto_id=f"report-{comment.pk}-%s")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            created = services.comment_report(
                comment=comment,
                user=reader.user,
                reader_token="" if reader.user else reader_token(request),
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                ip_hash=ip_hash(request),
            )
            if created:
                message = "Thank you. A moderator will look at this comment."
                status = 200
            else:
                message = "You have already reported this comment."
                status = 409
            if not request.htmx:
                messages.success(request, message)
                return redirect(f"{comment.article.get_absolute_url()}#comments")
            response = render(
                request,
                PARTIALS + "report-done",
                {"comment": comment, "message": message},
                status=status,
            )
            return _announce(response, message)
        status = 422
    context = {"comment": comment, "report_form": form}
    if request.htmx:
        return render(request, PARTIALS + "report-form", context, status=status)
    return render(request, "comments/comment_report.html", context, status=status)
