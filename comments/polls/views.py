"""The reader poll: voting, and its results as a fragment, a page and JSON."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from evsite.caching import CONTENT, POLLS, limit_cache_ttl, page_cache
from evsite.sessions import save_new_session

from ..readers import Reader
from ..refusals import Refused
from ..responses import announce, refused_response, render_htmx
from .selectors import (
    build_panel,
    counted_poll,
    poll_counts_refresh,
    poll_panel,
    results_as_json,
)
from .services import poll_vote as record_vote

POLL_PARTIAL = "comments/_polls.html#poll"
RESULTS_PARTIAL = "comments/_polls.html#poll-results"
POLL_PAGE = "comments/poll_detail.html"

NO_CHOICE = "Please choose one of the answers before voting."
FOREIGN_CHOICE = "That answer is not part of this poll. Please choose one of the answers below."
VOTE_BY_GET = "Votes are sent with the poll's form. Choose an answer and press Vote."


def _poll_or_404(request, pk):
    poll = counted_poll(pk)
    if poll is None or not poll.article.is_visible_to(request.user):
        raise Http404("No such poll.")
    return poll


def _render_poll(request, panel, *, status=200, partial=POLL_PARTIAL, reader=None):
    context = {"panel": panel}
    if reader is not None:
        context["reader"] = reader  # as the view has it already
    response = render_htmx(request, partial=partial, page=POLL_PAGE, context=context, status=status)
    return limit_cache_ttl(response, panel.changes_in)


@require_GET
@vary_on_headers("HX-Request")
@page_cache(CONTENT, POLLS)
def poll_detail(request, pk):
    poll = _poll_or_404(request, pk)
    return _render_poll(request, poll_panel(Reader.from_request(request), poll))


@require_GET
@vary_on_headers("HX-Request")
@page_cache(CONTENT, POLLS)
def poll_results(request, pk):
    """The results element alone, for the periodic refresh while the poll is open."""
    poll = _poll_or_404(request, pk)
    panel = poll_panel(Reader.from_request(request), poll)
    if not request.htmx:
        return _render_poll(request, panel)
    if not panel.is_open:
        # Closed since the page loaded: swap the whole poll so the form and the state change.
        response = _render_poll(request, panel)
        return reswap(retarget(response, f"#poll-{poll.pk}"), "outerHTML")
    return _render_poll(request, panel, partial=RESULTS_PARTIAL)


@require_GET
@page_cache(CONTENT, POLLS)
def poll_results_json(request, pk):
    poll = _poll_or_404(request, pk)
    panel = poll_panel(Reader.from_request(request), poll)
    return JsonResponse(
        results_as_json(panel),
        status=200 if panel.results_visible else 403,
        json_dumps_params={"ensure_ascii": False},
    )


@vary_on_headers("HX-Request")
def poll_vote(request, pk):
    poll = _poll_or_404(request, pk)
    reader = Reader.from_request(request, create_token=request.method == "POST")
    try:
        if request.method != "POST":
            raise Refused(VOTE_BY_GET, status=405)
        choice = _choice_from_post(request, poll)
        result = record_vote(
            poll=poll, choice=choice, reader=reader, also=lambda: save_new_session(request)
        )
    except Refused as refusal:
        poll_counts_refresh(poll)
        panel = poll_panel(reader, poll).with_message(refusal.message, is_error=True)
        response = refused_response(
            request,
            refusal,
            partial=POLL_PARTIAL,
            page=POLL_PAGE,
            context={"panel": panel},
            focus=f"#poll-{poll.pk}-message",
        )
        if refusal.status == 405:
            response["Allow"] = "POST"
        return response

    if not result.counts_read:
        poll_counts_refresh(poll)
    panel = build_panel(poll, reader_choice_id=result.vote.choice_id, is_editor=reader.is_staff)
    message = result.message
    if not request.htmx:
        messages.success(request, message)
        return redirect(f"{poll.article.get_absolute_url()}#poll-{poll.pk}")
    panel = panel.with_message(message)
    response = _render_poll(request, panel, reader=reader)
    focus = f"#poll-{poll.pk}-results-heading" if panel.results_visible else None
    return announce(
        response,
        f"{message} {panel.results_summary}".strip(),
        focus=focus or f"#poll-{poll.pk}-message",
    )


def _choice_from_post(request, poll):
    try:
        choice_id = int(request.POST.get("choice", ""))
    except ValueError:
        message = FOREIGN_CHOICE if request.POST.get("choice") else NO_CHOICE
        raise Refused(message, status=400) from None
    choice = next((choice for choice in poll.counted_choices if choice.pk == choice_id), None)
    if choice is None:
        raise Refused(FOREIGN_CHOICE, status=400)
    return choice
