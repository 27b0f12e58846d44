"""The moderation desk: the queue page of the comment admin, its actions, and each comment's
moderation history on its change page.

Moderators (the comment change permission) act; staff who may only view comments see the
queue without its actions; everyone else gets a 403. Banning also needs the reader-control
permission. Private fields (emails, address hashes, guest tokens) are never shown here.
"""

from collections import Counter
from functools import reduce
from operator import or_

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django_htmx.http import reswap, retarget, trigger_client_event

from .. import desk, services
from ..models import Comment
from ..responses import announce
from ..text import clean_line

QUEUE_TEMPLATE = "admin/comments/queue.html"
LARGEST_ID = 2**63 - 1
MOST_SELECTED = 100

ACTION_STATUSES = {
    "approve": Comment.Status.APPROVED,
    "reject": Comment.Status.REJECTED,
    "spam": Comment.Status.SPAM,
    "ban": Comment.Status.REJECTED,
}
# What was done, said of one comment (by its author's name) and of several (by their number).
# "keep" is approving comments that were approved already: it clears their reports.
DONE_TO_ONE = {
    "approve": "Approved the comment by {name}.",
    "keep": "Kept the comment by {name} and cleared its reports.",
    "reject": "Rejected the comment by {name}.",
    "spam": "Marked the comment by {name} as spam.",
    "ban": "Banned {name} and rejected the comment.",
}
DONE_TO_SEVERAL = {
    "approve": "Approved {count} comment{plural}.",
    "keep": "Kept {count} comment{plural} and cleared {their} reports.",
    "reject": "Rejected {count} comment{plural}.",
    "spam": "Marked {count} comment{plural} as spam.",
    "ban": "Banned {count} reader{plural} and rejected their comments.",
}
NOTHING_TO_DO = {
    "approve": "already approved, with no reports to clear",
    "reject": "already rejected",
    "spam": "already marked as spam by a moderator",
}
# What someone did to a comment to give it each status, for "Another moderator already …".
STATUS_SET = {
    Comment.Status.APPROVED: "approved",
    Comment.Status.REJECTED: "rejected",
    Comment.Status.SPAM: "marked as spam",
}
NOT_ALLOWED = "You may look at the queue but not moderate: ask an administrator."
NO_BAN_PERMISSION = "You may not ban readers: ask an administrator."
GUEST_NOT_BANNABLE = (
    "This comment is by a guest, who has no account to ban: mark it as spam instead."
)
GUESTS_NOT_BANNABLE = (
    "The selected comments are by guests, who have no account to ban: mark them as spam."
)
GONE = "That comment no longer exists: it may have been deleted meanwhile."
NOTE_MAX_LENGTH = 300
APPROVED = Comment.Status.APPROVED


class CommentIdsField(forms.Field):
    """The ids of the comments an action is for (the checkboxes, or one entry's own)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one comment first.",
        "invalid": "That is not a comment of the queue. Reload the page and try again.",
        "too_many": f"Select at most {MOST_SELECTED} comments at a time.",
    }

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        ids = []
        for item in value:
            item = str(item)
            if not (item.isascii() and item.isdigit() and 0 < int(item) <= LARGEST_ID):
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            ids.append(int(item))
        ids = list(dict.fromkeys(ids))
        if len(ids) > MOST_SELECTED:
            raise ValidationError(self.error_messages["too_many"], code="too_many")
        return ids


class DeskActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("reject", "Reject"),
            ("spam", "Mark as spam"),
            ("ban", "Ban the author and reject"),
        ],
        error_messages={
            "required": "Choose what to do with the selected comments.",
            "invalid_choice": "Choose approve, reject, spam or ban.",
        },
    )
    comment = CommentIdsField()
    reason = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        label="Note for the history (optional)",
        error_messages={
            "max_length": "The note can be at most %(limit_value)d characters long: "
            "shorten it a little."
        },
    )

    def clean_reason(self):
        return clean_line(self.cleaned_data["reason"])


def page_number_from(value):
    """A page number sent back by a form: a small positive whole number, else 1."""
    value = value or ""
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 10**6 else 1


def seen_statuses(data, ids):
    """{comment id: the status the moderator saw} from the `seen-<id>` fields of a form; a
    comment without one (or with something that is no status) is not checked."""
    statuses = set(Comment.Status.values)
    seen = {pk: data.get(f"seen-{pk}", "") for pk in ids}
    return {pk: status for pk, status in seen.items() if status in statuses}


def changed_meanwhile(status):
    """Why an action was not done: the comment's status is no longer the one shown."""
    label = Comment.Status(status).label
    if status == Comment.Status.PENDING:
        said = (
            "This comment was held again meanwhile (by readers' reports or another "
            f"moderator); it now says {label}."
        )
    else:
        said = f"Another moderator already {STATUS_SET[status]} this comment; it now says {label}."
    return f"{said} Nothing was changed: look at it again, and act again if you still want to."


def several_changed_meanwhile(moved):
    """What a bulk action says of the comments it left alone because they changed."""
    if len(moved) == 1:
        (status,) = moved.values()
        return (
            "1 ticked comment was left alone: another moderator changed it meanwhile (it now "
            f"says {Comment.Status(status).label}). Look at it again before you act on it."
        )
    now = ", ".join(
        f"{number} {Comment.Status(status).label.lower()}"
        for status, number in sorted(Counter(moved.values()).items())
    )
    return (
        f"{len(moved)} ticked comments were left alone: other moderators changed them "
        f"meanwhile (now {now}). Look at them again before you act on them."
    )


def guests_warning(guests):
    if guests == 1:
        return "1 selected comment is by a guest, who has no account to ban: mark it as spam."
    return (
        f"{guests} selected comments are by guests, who have no accounts to ban: "
        "mark them as spam instead."
    )


def may_ban(request):
    return request.user.has_perm("comments.change_readercontrol")


def entry_notice_target(request):
    """Where an htmx refusal is shown: under the entry the form belongs to, else above the
    list (the bulk form)."""
    if "bulk" not in request.POST:
        pk = request.POST.get("comment", "")
        if pk.isascii() and pk.isdigit():
            return f"#entry-{int(pk)}-notice"
    return "#desk-bulk-notice"


class ModerationDeskAdmin:
    """CommentAdmin's moderation desk (mixed in before ModelAdmin)."""

    def get_urls(self):
        queue = path(
            "queue/",
            self.admin_site.admin_view(self.queue_view),
            name="comments_comment_queue",
        )
        return [queue, *super().get_urls()]

    # --- Pages -------------------------------------------------------------------------------

    def queue_view(self, request):
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self.queue_action(request)
        tab = desk.queue_tab(request.GET.get("tab"))
        page = desk.queue_page(tab.slug, request.GET.get("page") or 1)
        return TemplateResponse(request, QUEUE_TEMPLATE, self.queue_context(request, tab, page))

    def queue_context(self, request, tab, page=None, *, page_number=1, **extra):
        counts = desk.tab_counts()
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Moderation queue",
            "tab": tab,
            "tabs": [(each, counts[slug]) for slug, each in desk.TABS.items()],
            "page": page,
            "page_number": page.number if page is not None else page_number,
            "may_moderate": self.has_change_permission(request),
            "may_ban": may_ban(request),
            **extra,
        }

    def queue_url(self, tab, page_number=None):
        query = {"tab": tab.slug}
        if page_number and page_number != 1:
            query["page"] = page_number
        return f"{reverse('admin:comments_comment_queue')}?{urlencode(query)}"

    # --- Actions -----------------------------------------------------------------------------

    def queue_action(self, request):
        """Approve (or keep), reject, mark as spam or ban: one entry (its own form) or a
        selection (the bulk form). htmx gets the entry or the queue back in place; without
        JavaScript the answer is a redirect to the same tab and page, with a message.

        Each form says which status the moderator saw (`seen-<id>`): a comment that another
        moderator changed meanwhile is left alone and the moderator told (409 for one entry;
        a bulk action does the rest and names how many it left)."""
        tab = desk.queue_tab(request.POST.get("tab"))
        page_number = page_number_from(request.POST.get("page"))
        if not self.has_change_permission(request):
            return self.queue_refused(request, NOT_ALLOWED, status=403, tab=tab)
        form = DeskActionForm(request.POST)
        if not form.is_valid():
            error = next(iter(form.errors.values()))[0]
            return self.queue_refused(request, error, status=422, tab=tab, page=page_number)
        action = form.cleaned_data["action"]
        ids = form.cleaned_data["comment"]
        reason = form.cleaned_data["reason"]
        bulk = "bulk" in request.POST
        if action == "ban" and not may_ban(request):
            return self.queue_refused(request, NO_BAN_PERMISSION, status=403, tab=tab)
        current = dict(Comment.objects.filter(pk__in=ids).values_list("pk", "status"))
        if not current:
            return self.queue_refused(request, GONE, status=404, tab=tab, page=page_number)
        seen = seen_statuses(request.POST, ids)
        moved = {
            pk: current[pk]
            for pk, status in seen.items()
            if pk in current and current[pk] != status
        }
        if moved and not bulk:
            return self.queue_conflict(request, ids[0], moved[ids[0]], tab, page_number)
        unchanged = [pk for pk in ids if pk in current and pk not in moved]
        if not unchanged:
            message = several_changed_meanwhile(moved)
            return self.queue_refused(request, message, status=409, tab=tab, page=page_number)
        # Still as seen when the action is done (its service reads them in its transaction).
        comments = Comment.objects.filter(
            reduce(or_, (Q(pk=pk, status=current[pk]) for pk in unchanged))
        )
        said_as = action
        if action == "ban":
            if not comments.filter(user__isnull=False).exists():
                message = GUESTS_NOT_BANNABLE if bulk else GUEST_NOT_BANNABLE
                return self.queue_refused(request, message, status=409, tab=tab, page=page_number)
        else:
            to_act_on = set(desk.needing(action, comments).values_list("pk", flat=True))
            if not to_act_on:
                return self.queue_refused(
                    request,
                    self.nothing_to_do_message(action, comments, bulk=bulk),
                    status=409,
                    tab=tab,
                    page=page_number,
                )
            comments = comments.filter(pk__in=to_act_on)
            if action == "approve" and all(current[pk] == APPROVED for pk in to_act_on):
                said_as = "keep"
        done, warning = self.queue_act(request, action, comments, reason)
        entry = None if bulk or not done else desk.queue_entry(ids[0])
        if not done or not (bulk or entry):
            return self.queue_refused(request, GONE, status=404, tab=tab, page=page_number)
        message = self.done_message(said_as, ids, done, bulk=bulk)
        if moved:
            warning = f"{warning} {several_changed_meanwhile(moved)}".strip()
        if not request.htmx:
            self.message_user(request, message, messages.SUCCESS)
            if warning:
                self.message_user(request, warning, messages.WARNING)
            return HttpResponseRedirect(self.queue_url(tab, page_number))
        spoken = f"{message} {warning}".strip()
        if bulk:
            page = desk.queue_page(tab.slug, page_number)
            context = self.queue_context(request, tab, page)
            response = TemplateResponse(request, f"{QUEUE_TEMPLATE}#desk-queue", context)
            return announce(response, spoken, focus="#desk-queue-heading")
        entry.done_message = spoken
        context = self.queue_context(request, tab, page_number=page_number, entry=entry)
        response = TemplateResponse(request, f"{QUEUE_TEMPLATE}#desk-entry-done", context)
        response = announce(response, spoken)
        return trigger_client_event(response, "desk:acted", {"entry": entry.pk}, after="settle")

    def queue_conflict(self, request, pk, status, tab, page_number):
        """One entry's comment changed since the moderator saw it: nothing is done. htmx gets
        the entry back as it is now (so acting again is a choice made on what it says);
        without JavaScript, the queue again with the message and the note kept."""
        message = changed_meanwhile(status)
        entry = desk.queue_entry(pk) if request.htmx else None
        if entry is None:
            return self.queue_refused(request, message, status=409, tab=tab, page=page_number)
        entry.refusal = message
        context = self.queue_context(request, tab, page_number=page_number, entry=entry)
        response = TemplateResponse(
            request, f"{QUEUE_TEMPLATE}#desk-entry-done", context, status=409
        )
        return announce(response, message, focus=f"#entry-{pk}")

    def queue_act(self, request, action, comments, reason):
        """Do `action` to `comments`; returns (how many comments, a warning or "")."""
        if action == "ban":
            banned, guests = services.comments_authors_ban(
                comments=comments, moderator=request.user, reason=reason, reject=True
            )
            return banned, guests_warning(guests) if guests else ""
        done = services.comments_moderate(
            comments=comments,
            status=ACTION_STATUSES[action],
            moderator=request.user,
            reason=reason,
        )
        return done, ""

    def done_message(self, action, ids, done, *, bulk):
        if bulk:
            return DONE_TO_SEVERAL[action].format(
                count=done, plural=pluralize(done), their=pluralize(done, "its,their")
            )
        comment = Comment.objects.filter(pk=ids[0]).only("author_name").first()
        return DONE_TO_ONE[action].format(name=comment.author_name if comment else "its author")

    def nothing_to_do_message(self, action, comments, *, bulk):
        state = NOTHING_TO_DO[action]
        if bulk:
            return f"Nothing to do: the ticked comments are {state}."
        comment = comments.only("author_name").first()
        name = comment.author_name if comment else "its author"
        return f"Nothing to do: the comment by {name} is {state}."

    def queue_refused(self, request, message, *, status, tab, page=1):
        """Say no: under the entry or above the list for htmx; without JavaScript a 403 page,
        or the queue again with the message and the note the moderator typed."""
        if request.htmx:
            context = {"notice": message}
            response = TemplateResponse(
                request, f"{QUEUE_TEMPLATE}#desk-notice", context, status=status
            )
            target = entry_notice_target(request)
            return announce(reswap(retarget(response, target), "innerHTML"), message)
        if status == 403:
            raise PermissionDenied(message)
        self.message_user(request, message, messages.ERROR)
        kept = {
            "entry": request.POST.get("comment", "") if "bulk" not in request.POST else "bulk",
            "reason": request.POST.get("reason", ""),
            "action": request.POST.get("action", ""),
        }
        page_of_queue = desk.queue_page(tab.slug, page)
        context = self.queue_context(request, tab, page_of_queue, kept=kept)
        return TemplateResponse(request, QUEUE_TEMPLATE, context, status=status)

    # --- History -----------------------------------------------------------------------------

    @admin.display(description="Moderation history")
    def moderation_history(self, comment):
        if comment.pk is None:
            return "-"
        actions = list(comment.moderation_actions.select_related("actor"))
        if not actions:
            return "No moderator has acted on this comment yet."
        rows = format_html_join(
            "",
            '<li><time datetime="{}">{}</time>: {} {}{}{}</li>',
            (
                (
                    action.created_at.isoformat(timespec="seconds"),
                    history_time(action.created_at),
                    action.actor.get_username() if action.actor else "A former moderator",
                    history_deed(action),
                    _status_change(action),
                    format_html(". Note: “{}”", action.reason) if action.reason else "",
                )
                for action in actions
            ),
        )
        return format_html('<ol class="moderation-history">{}</ol>', rows)


# What a moderator did, after their name in a comment's history: "moira rejected it".
HISTORY_DEEDS = {
    "approve": "approved it",
    "reject": "rejected it",
    "spam": "marked it as spam",
    "ban": "banned the author",
}


def history_deed(action):
    if action.kind == "approve" and action.from_status == action.to_status == APPROVED:
        return "kept it, clearing its reports"
    return HISTORY_DEEDS.get(action.kind, action.get_kind_display().lower())


def history_time(moment):
    """As the admin shows every other date and time (the site's format, in its time zone),
    with the zone's name."""
    local = timezone.localtime(moment)
    return f"{formats.localize(local)} {local.tzname()}"


def _status_change(action):
    if not action.from_status or action.from_status == action.to_status:
        return ""
    return format_html(
        " ({} → {})",
        Comment.Status(action.from_status).label,
        Comment.Status(action.to_status).label,
    )
