"""How the reader discussion answers: a partial for htmx, a page otherwise; what to say to
screen readers and where focus goes; and the answer to a refusal."""

from functools import wraps

from django.shortcuts import render
from django_htmx.http import reswap, retarget, trigger_client_event

from .readers import Reader
from .refusals import Refused

ACTION_REFUSED_PARTIAL = "comments/_comments.html#action-refused"
ACTION_REFUSED_PAGE = "comments/comment_refused.html"


def render_htmx(request, *, partial, page, context, status=200):
    """The partial for an htmx request, the whole page otherwise. Both see the `reader`."""
    if "reader" not in context:
        context["reader"] = Reader.from_request(request)
    return render(request, partial if request.htmx else page, context, status=status)


def announce(response, message, *, focus=None):
    """Tell screen-reader users what changed and move focus to `focus` (a CSS selector) once
    htmx has settled. The one mechanism for every feature: static/js/site.js carries it out."""
    detail = {"message": message}
    if focus:
        detail["focus"] = focus
    return trigger_client_event(response, "evr:announce", detail, after="settle")


def refused_response(
    request, refusal, *, partial=None, page=None, context=None, form=None, focus=None
):
    """The answer to a `Refused`: its status and headers, the reader's text kept.

    With `partial`/`page`, that template is shown again (`form` with the refusal on it, the
    poll with its message). Without, a short explanation goes under the comment the action
    was about (htmx), or on a page of its own.
    """
    context = dict(context or {})
    if form is not None:
        if refusal.code != "invalid":
            form.add_error(refusal.field, refusal)
        if hasattr(form, "restamp"):
            form.restamp()
    if partial is None:
        comment = refusal.about
        context.update(message=refusal.message, comment=comment)
        response = render_htmx(
            request,
            partial=ACTION_REFUSED_PARTIAL,
            page=ACTION_REFUSED_PAGE,
            context=context,
            status=refusal.status,
        )
        if request.htmx and comment is not None:
            # Whatever the action meant to replace, the explanation goes under the comment.
            response = reswap(retarget(response, f"#c-{comment.pk}-slot"), "innerHTML")
    else:
        response = render_htmx(
            request, partial=partial, page=page, context=context, status=refusal.status
        )
    for name, value in refusal.headers.items():
        response[name] = value
    if request.htmx and (partial is None or focus):
        response = announce(response, refusal.message, focus=focus)
    return response


def refusals_answered(view):
    """Turn a `Refused` raised by a view (or the services it calls) into its response."""

    @wraps(view)
    def answered(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refused as refusal:
            return refused_response(request, refusal)

    return answered
