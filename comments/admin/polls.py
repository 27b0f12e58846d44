import csv

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.http import HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from evsite.caching import DISCUSSION, POLLS, BumpsVersionsAdmin

from ..models import Poll, PollChoice, Vote
from ..polls.selectors import (
    PollState,
    choices_with_counts,
    largest_remainder_percentages,
    poll_state,
)
from ..polls.services import polls_close
from ..privacy import HidesPrivateFields

STATE_LABELS = {
    PollState.SCHEDULED: "Not yet open",
    PollState.OPEN: "Open",
    PollState.CLOSED: "Closed",
}

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value):
    """Keep spreadsheet programs from running a label that looks like a formula."""
    text = str(value)
    return f"'{text}" if text.startswith(CSV_FORMULA_STARTS) else text


def _csv_response(filename):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _shares_by_choice(choices):
    counted = list(choices)
    percentages = largest_remainder_percentages(choice.vote_count for choice in counted)
    return {choice.pk: percent for choice, percent in zip(counted, percentages, strict=True)}


class PollChoiceInline(HidesPrivateFields, admin.TabularInline):
    model = PollChoice
    extra = 0
    fields = ["label", "position", "votes", "share"]
    readonly_fields = ["votes", "share"]
    ordering = ["position", "pk"]

    def get_queryset(self, request):
        self._shares = {}
        return super().get_queryset(request)

    @admin.display(description="Votes")
    def votes(self, choice):
        return "—" if choice.pk is None else choice.vote_count

    @admin.display(description="Share")
    def share(self, choice):
        if choice.pk is None:
            return "—"
        shares = getattr(self, "_shares", {})
        if choice.poll_id not in shares:
            shares[choice.poll_id] = _shares_by_choice(
                choices_with_counts().filter(poll_id=choice.poll_id)
            )
            self._shares = shares
        return f"{shares[choice.poll_id].get(choice.pk, 0)}%"


@admin.register(Poll)
class PollAdmin(BumpsVersionsAdmin, HidesPrivateFields, admin.ModelAdmin):
    bumps_versions = (POLLS, DISCUSSION)  # comments show their authors' poll choices

    list_display = [
        "question",
        "article",
        "status",
        "total_votes",
        "refused_duplicates",
        "refused_over_cap",
        "opens_at",
        "closes_at",
    ]
    list_filter = ["results_visibility", "allow_vote_change", "article"]
    search_fields = ["question", "description", "article__headline"]
    date_hierarchy = "opens_at"
    inlines = [PollChoiceInline]
    readonly_fields = ["results", "refused_duplicates", "refused_over_cap", "created_at"]
    fieldsets = [
        (None, {"fields": ["article", "question", "description", "position"]}),
        (
            "Voting",
            {"fields": ["opens_at", "closes_at", "allow_vote_change", "results_visibility"]},
        ),
        (
            "Results",
            {"fields": ["results", "refused_duplicates", "refused_over_cap", "created_at"]},
        ),
    ]
    actions = ["close_now", "export_results_csv", "export_votes_per_day_csv"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("article")
            .annotate(vote_total=Sum("choices__vote_count"))
        )

    @admin.display(description="Status")
    def status(self, poll):
        return STATE_LABELS[poll_state(poll)]

    @admin.display(description="Votes", ordering="vote_total")
    def total_votes(self, poll):
        return poll.vote_total or 0

    @admin.display(description="Results")
    def results(self, poll):
        if poll.pk is None:
            return "—"
        choices = list(choices_with_counts().filter(poll=poll))
        shares = _shares_by_choice(choices)
        rows = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td>{}</td><td>{}%</td></tr>",
            ((choice.label, choice.vote_count, shares[choice.pk]) for choice in choices),
        )
        total = sum(choice.vote_count for choice in choices)
        return format_html(
            "<table><thead><tr><th scope='col'>Choice</th><th scope='col'>Votes</th>"
            "<th scope='col'>Share</th></tr></thead><tbody>{}</tbody>"
            "<tfoot><tr><th scope='row'>Total</th><td>{}</td><td></td></tr></tfoot></table>",
            rows,
            total,
        )

    def response_change(self, request, obj):
        if "_close_now" in request.POST:
            self.close_now(request, Poll.objects.filter(pk=obj.pk))
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description="Close the selected polls now")
    def close_now(self, request, queryset):
        count, skipped = polls_close(polls=queryset)
        if count:
            self.message_user(request, f"Closed {count} poll{'s' if count != 1 else ''}.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected poll{'s were' if skipped != 1 else ' was'} already closed "
                "or not yet open, and left as it was.",
                messages.WARNING,
            )

    @admin.action(description="Export results per choice (CSV)")
    def export_results_csv(self, request, queryset):
        response = _csv_response(f"poll-results-{timezone.now():%Y%m%d}.csv")
        writer = csv.writer(response)
        writer.writerow(
            ["poll_id", "question", "status", "choice_id", "choice", "votes", "percent"]
        )
        polls = {poll.pk: poll for poll in queryset}
        choices = choices_with_counts().filter(poll__in=polls).order_by("poll", "position", "pk")
        by_poll = {}
        for choice in choices:
            by_poll.setdefault(choice.poll_id, []).append(choice)
        for poll_pk, poll_choices in by_poll.items():
            poll = polls[poll_pk]
            shares = _shares_by_choice(poll_choices)
            for choice in poll_choices:
                writer.writerow(
                    [
                        poll.pk,
                        _csv_text(poll.question),
                        poll_state(poll).value,
                        choice.pk,
                        _csv_text(choice.label),
                        choice.vote_count,
                        shares[choice.pk],
                    ]
                )
        return response

    @admin.action(description="Export votes per day (CSV)")
    def export_votes_per_day_csv(self, request, queryset):
        response = _csv_response(f"poll-votes-per-day-{timezone.now():%Y%m%d}.csv")
        writer = csv.writer(response)
        writer.writerow(["poll_id", "question", "date", "choice_id", "choice", "votes"])
        rows = (
            Vote.objects.filter(poll__in=[poll.pk for poll in queryset])
            .annotate(day=TruncDate("created_at"))
            .values("poll_id", "poll__question", "day", "choice_id", "choice__label")
            .annotate(votes=Count("pk"))
            .order_by("poll_id", "day", "choice__position", "choice_id")
        )
        for row in rows:
            writer.writerow(
                [
                    row["poll_id"],
                    _csv_text(row["poll__question"]),
                    row["day"].isoformat(),
                    row["choice_id"],
                    _csv_text(row["choice__label"]),
                    row["votes"],
                ]
            )
        return response
