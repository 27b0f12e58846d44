"""Readers' suggested corrections to an article, and the editors' answer to them.

A reader names a paragraph (`k-1`, `p-3`) or a fact (`fact-12`) of the article, says what is
wrong and why, and may give a source. Editors accept a suggestion (saying what was corrected)
or decline it in the admin. Accepted corrections are listed, dated, at the end of the article,
and the facts they corrected say so on the page and in facts.json.
"""

from dataclasses import dataclass, replace
from datetime import date

from django import forms
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator

from comments.fields import ReaderTextField
from comments.models import ReaderControl
from comments.ratelimit import refuse_over_limit
from comments.refusals import Refused
from comments.stamps import (
    STAMP_PLACEHOLDER,
    stamp_is_stale,
    stamp_is_too_fast,
    stamp_may_be_kept,
)
from evsite.caching import CONTENT, bump

from .models import Correction, Fact, Paragraph

EXPLANATION_MIN_LENGTH = 10
EXPLANATION_MAX_LENGTH = 3000
SOURCE_URL_MAX_LENGTH = Correction._meta.get_field("source_url").max_length
CHOICE_LABEL_LENGTH = 90

# As comment posting is limited: per account or guest session and per address, as
# (setting, default, window); a setting of 0 turns that limit off. Each suggestion is read
# by an editor, so the allowance is small.
CORRECTION_LIMITS = (
    ("EVR_CORRECTIONS_PER_MINUTE", 3, 60),
    ("EVR_CORRECTIONS_PER_HOUR", 10, 60 * 60),
)

BANNED_READER = "Your account can no longer send suggestions."
GUESTS_CLOSED = "Log in or sign up to suggest a correction."
TOO_FAST = (
    "That was quicker than we expected from a person. "
    "Please check your suggestion and send it again."
)
TOO_MANY_SUGGESTIONS = (
    "You are sending suggestions faster than the limit allows. Wait {seconds} second{plural}, "
    "then send this one again: your text is still here."
)
FORM_EXPIRED = "This form has expired; please send it again: your text is still here."
UNKNOWN_ANCHOR = "That part is not in this article. Choose the paragraph or fact that is wrong."
NOTE_REQUIRED = "Say what was corrected: readers see this note, dated, under the article."


# Selectors


@dataclass(frozen=True)
class Target:
    """A part of the article a reader can say is wrong: a paragraph or a fact."""

    anchor: str
    label: str
    text: str
    paragraph: Paragraph | None = None
    fact: Fact | None = None

    @property
    def choice_label(self):
        return Truncator(f"{self.label}: {self.text}").chars(CHOICE_LABEL_LENGTH)


def target_choices(targets):
    """The targets as grouped <select> choices."""
    groups = {"Key points": [], "Paragraphs": [], "Facts": []}
    for target in targets.values():
        if target.fact is not None:
            group = "Facts"
        elif target.paragraph.kind == Paragraph.Kind.KEY_POINT:
            group = "Key points"
        else:
            group = "Paragraphs"
        groups[group].append((target.anchor, target.choice_label))
    choices = [("", "Choose a paragraph or fact")]
    return choices + [(name, options) for name, options in groups.items() if options]


@dataclass(frozen=True)
class PublishedCorrection:
    """An accepted correction as readers see it: when, what was corrected, and where."""

    date: date
    change_note: str
    anchor: str
    label: str  # what it corrected ("Paragraph 3"), "" when that part is no longer there
    fact_id: int | None
    # Where the page shows what it corrected: the anchor, or the model table's row for a fact
    # shown there rather than as a card (ArticlePage.corrections).
    link_anchor: str = ""

    @property
    def links(self):
        return bool(self.label)

    def shown_at(self, link_anchor):
        return replace(self, link_anchor=link_anchor)


def _published(correction):
    label = ""
    if correction.fact is not None:
        label = Truncator(f"Fact: {correction.fact.statement}").chars(CHOICE_LABEL_LENGTH)
    elif correction.paragraph is not None:
        label = correction.paragraph.label
    return PublishedCorrection(
        date=timezone.localdate(correction.decided_at),
        change_note=correction.change_note,
        anchor=correction.anchor,
        label=label,
        fact_id=correction.fact_id,
        link_anchor=correction.anchor if label else "",
    )


def published_corrections(article):
    """The article's accepted corrections, oldest first (one query)."""
    corrections = (
        article.corrections.filter(status=Correction.Status.ACCEPTED)
        .select_related("paragraph", "fact")
        .order_by("decided_at", "pk")
    )
    return [_published(correction) for correction in corrections]


def corrected_dates(published):
    """{fact pk: the date of its latest accepted correction}, from `published_corrections`."""
    return {correction.fact_id: correction.date for correction in published if correction.fact_id}


def mark_corrected(facts, dates):
    """Give each fact its `corrected_on` date (None when never corrected); returns `facts`."""
    for fact in facts:
        fact.corrected_on = dates.get(fact.pk)
    return facts


# The reader's form


class ExplanationField(ReaderTextField):
    def __init__(self, **kwargs):
        super().__init__(
            label="What is wrong, and why?",
            min_length=EXPLANATION_MIN_LENGTH,
            max_length=EXPLANATION_MAX_LENGTH,
            error_messages={
                "required": "Say what is wrong and why before sending.",
                "min_length": (
                    "Give the editors a little more to go on: at least %(limit_value)d "
                    "characters (you wrote %(show_value)d)."
                ),
                "max_length": (
                    "Keep it under %(limit_value)d characters: you wrote %(show_value)d. "
                    "Shorten it and send again."
                ),
            },
            help_text=(
                f"What the article gets wrong and what is right. Plain text, "
                f"{EXPLANATION_MIN_LENGTH} to {EXPLANATION_MAX_LENGTH:,} characters."
            ),
            widget=forms.Textarea(attrs={"rows": 6}),
            **kwargs,
        )


class WebPageURLField(forms.URLField):
    """The address of a web page: http or https only. It replaces URLField's own check (which
    also takes ftp), so a bad address gets one message, not the same one twice."""

    default_validators = [URLValidator(schemes=["http", "https"])]


class CorrectionForm(forms.Form):
    """A reader's suggested correction. The part it is about is named by its anchor: shown
    as text (a hidden field) when the reader came from a paragraph or fact, else chosen."""

    anchor = forms.ChoiceField(
        label="Which part is wrong?",
        error_messages={
            "required": "Choose the paragraph or fact that is wrong.",
            "invalid_choice": UNKNOWN_ANCHOR,
        },
    )
    explanation = ExplanationField()
    source_url = WebPageURLField(
        label="A source that shows it (optional)",
        required=False,
        max_length=SOURCE_URL_MAX_LENGTH,
        assume_scheme="https",
        error_messages={
            "invalid": (
                "Give a web address that starts with http:// or https://, or leave it empty."
            ),
            "max_length": (
                "Use a web address of at most %(limit_value)d characters "
                "(this one has %(show_value)d), or leave it empty."
            ),
        },
        help_text="A web page that backs what you say, such as the maker’s announcement.",
        widget=forms.URLInput(attrs={"autocomplete": "url"}),
    )
    # The honeypot: hidden from people and screen readers; only bots fill it in.
    website = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    rendered_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, targets, binding=None, **kwargs):
        """`targets` are the article's (`selectors.correction_targets`); `binding` is the
        reader's CSRF secret, which the form's stamp must have been made for."""
        kwargs.setdefault("auto_id", "correction-%s")
        kwargs.setdefault("label_suffix", "")  # labels without a colon, like the rest of the site
        super().__init__(*args, **kwargs)
        self.targets = targets
        self.binding = binding
        self.initial.setdefault("rendered_at", STAMP_PLACEHOLDER)
        self.fields["anchor"].choices = target_choices(targets)
        asked = self.data.get("anchor") if self.is_bound else self.initial.get("anchor")
        self.target = targets.get(asked) if isinstance(asked, str) else None
        # An anchor that names nothing in this article: say so, and offer the list.
        self.unknown_anchor = bool(asked) and self.target is None
        if self.target is not None:
            self.fields["anchor"].widget = forms.HiddenInput()

    def restamp(self):
        """Before a refused form is shown again: keep the stamp it was sent with while that is
        good for this browser, so that sending it again at once is not "too fast"; otherwise
        a fresh one."""
        if self.is_bound and not stamp_may_be_kept(self.stamp, self.binding):
            self.data = self.data.copy()
            self.data[self.add_prefix("rendered_at")] = STAMP_PLACEHOLDER

    @property
    def stamp(self):
        return self.data.get(self.add_prefix("rendered_at"), "")

    def clean(self):
        cleaned_data = super().clean()
        if stamp_is_stale(self.stamp, self.binding):
            raise ValidationError(FORM_EXPIRED, code="expired")
        return cleaned_data

    def submission(self):
        """What a valid form asks `correction_submit` to record."""
        return {
            "target": self.targets[self.cleaned_data["anchor"]],
            "explanation": self.cleaned_data["explanation"],
            "source_url": self.cleaned_data["source_url"],
            "honeypot_filled": bool(self.data.get(self.add_prefix("website"), "").strip()),
            "too_fast": stamp_is_too_fast(self.stamp),
        }


# Services


def correction_submit(
    *,
    article,
    reader,
    target,
    explanation,
    source_url="",
    honeypot_filled=False,
    too_fast=False,
):
    """A reader suggests a correction to `target` (a paragraph or fact of `article`), kept
    open for the editors. Returns it, or None for a bot (the honeypot): it is thanked the
    same, and nothing is kept."""
    if not reader.can_post:
        raise Refused(GUESTS_CLOSED, status=403)
    if (
        reader.user is not None
        and ReaderControl.objects.filter(user=reader.user, is_banned=True).exists()
    ):
        raise Refused(BANNED_READER, status=403)
    if too_fast:
        raise Refused(TOO_FAST, status=422, field="explanation")
    # Only a suggestion that is taken counts against the limits (a bot's too: it is thanked).
    refuse_over_limit("correction", reader, CORRECTION_LIMITS, TOO_MANY_SUGGESTIONS)
    if honeypot_filled:
        return None
    return Correction.objects.create(
        article=article,
        anchor=target.anchor,
        paragraph=target.paragraph,
        fact=target.fact,
        explanation=explanation,
        source_url=source_url,
        **reader.new_row_fields(),
        ip_hash=reader.ip_hash,
    )


@transaction.atomic
def corrections_decide(*, corrections, status, editor, change_note=None, log=True):
    """An editor accepts, declines or reopens `corrections` (a queryset); returns how many.

    Accepting needs a `change_note` (what was corrected), which readers see under the
    article. The decision is dated and signed; reopening clears both. The article page and
    facts.json show it on the next request.
    """
    if status == Correction.Status.ACCEPTED and not (change_note or "").strip():
        raise ValidationError(NOTE_REQUIRED, code="note_required")
    decided = list(corrections.select_related(None).only("pk", "anchor", "explanation"))
    if not decided:
        return 0
    fields = {"status": status}
    if status == Correction.Status.OPEN:
        fields.update(decided_at=None, decided_by=None)
    else:
        fields.update(decided_at=timezone.now(), decided_by=editor)
    if change_note is not None:
        fields["change_note"] = change_note.strip()
    Correction.objects.filter(pk__in=[correction.pk for correction in decided]).update(**fields)
    bump(CONTENT)
    if log:
        LogEntry.objects.log_actions(
            editor.pk,
            decided,
            CHANGE,
            f"Set status to {Correction.Status(status).label}.",
            single_object=False,
        )
    return len(decided)
