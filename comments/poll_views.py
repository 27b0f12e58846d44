from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from articles.models import Article

from .poll_results import (
    build_panel,
    is_poll_editor,
    polls_with_counts,
    reader_choice_ids,
    results_as_json,
)
from .poll_services import VoteOutcome, poll_vote
from .readers import ip_hash, reader_fields

POLL_PARTIAL = "comments/_polls.html#poll"
RESULTS_PARTIAL = "comments/_polls.html#poll-results"
POLL_PAGE = "comments/poll_detail.html"

REFUSAL_STATUS = {
    VoteOutcome.NOT_OPEN: 409,
    VoteOutcome.CLOSED: 409,
    VoteOutcome.DUPLICATE: 409,
    VoteOutcome.OVER_CAP: 429,
}


def _poll_or_404(request, pk):
    polls = polls_with_counts().select_related("article")
    return get_object_or_404(
        polls.filter(article__in=Article.objects.visible_to(request.user)), pk=pk
    )


def _panel(request, poll):
    return build_panel(
        poll,
        reader_choice_id=reader_choice_ids(request, [poll]).get(poll.pk),
        is_editor=is_poll_editor(request.user),
    )


def _render_panel(request, panel, *, status=200):
    template = POLL_PARTIAL if request.htmx else POLL_PAGE
    return render(request, template, {"panel": panel}, status=status)


def _poll_anchor_url(poll):
    return f"{poll.article.get_absolute_url()}#poll-{poll.pk}"


@require_GET
@vary_on_headers("HX-Request")
def poll_detail(request, pk):
    poll = _poll_or_404(request, pk)
    return _render_panel(request, _panel(request, poll))


@require_GET
@vary_on_headers("HX-Request")
def poll_results(request, pk):
    """The results element alone, for the periodic refresh while the poll is open."""
    poll = _poll_or_404(request, pk)
    panel = _panel(request, poll)
    if not request.htmx:
        return render(request, POLL_PAGE, {"panel": panel})
    if not panel.is_open:
        # Closed since the page loaded: swap the whole poll so the form and the state change.
        response = render(request, POLL_PARTIAL, {"panel": panel})
        return reswap(retarget(response, f"#poll-{poll.pk}"), "outerHTML")
    return render(request, RESULTS_PARTIAL, {"panel": panel})


@require_GET
def poll_results_json(request, pk):
    poll = _poll_or_404(request, pk)
    panel = _panel(request, poll)
    return JsonResponse(
        results_as_json(panel),
        status=200 if panel.results_visible else 403,
        json_dumps_params={"ensure_ascii": False},
    )


def poll_vote_view(request, pk):
    poll = _poll_or_404(request, pk)
    if request.method != "POST":
        panel = _panel(request, poll).with_message(
            "Votes are sent with the poll's form. Choose an answer and press Vote.",
            is_error=True,
        )
        response = _render_panel(request, panel, status=405)
        response["Allow"] = "POST"
        return response

    choice = _choice_from_post(request, poll)
    if choice is None:
        message = (
            "Please choose one of the answers before voting."
            if not request.POST.get("choice")
            else "That answer is not part of this poll. Please choose one of the answers below."
        )
        panel = _panel(request, poll).with_message(message, is_error=True)
        return _render_panel(request, panel, status=400)

    owner = reader_fields(request)
    result = poll_vote(
        poll=poll,
        choice=choice,
        user=owner["user"],
        reader_token=owner["reader_token"],
        ip_hash=ip_hash(request),
    )
    if result.accepted and not request.htmx:
        messages.success(request, result.message)
        return redirect(_poll_anchor_url(poll))

    poll = _poll_or_404(request, pk)
    panel = _panel(request, poll).with_message(result.message, is_error=not result.accepted)
    return _render_panel(request, panel, status=REFUSAL_STATUS.get(result.outcome, 200))


def _choice_from_post(request, poll):
    try:
        choice_id = int(request.POST.get("choice", ""))
    except ValueError:
        return None
    return next((choice for choice in poll.counted_choices if choice.pk == choice_id), None)
