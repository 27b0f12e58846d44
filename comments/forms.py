from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from .claims import ANCHOR_UNKNOWN, LABEL_PATTERN
from .fields import ReaderTextField
from .models import Comment, CommentReport
from .stamps import (
    STAMP_PLACEHOLDER,
    form_stamp,
    stamp_is_stale,
    stamp_is_too_fast,
    stamp_may_be_kept,
)
from .text import clean_display_name, clean_line, shows_something

__all__ = ["form_stamp"]  # tests and the benchmark make stamps through the form module

BODY_MIN_LENGTH = 2
BODY_MAX_LENGTH = 5000  # a TextField: the limit is the form's own
# What the columns hold: a longer value would be refused by PostgreSQL (and kept whole by
# SQLite), so the forms take their limits from the model.
AUTHOR_NAME_MAX_LENGTH = Comment._meta.get_field("author_name").max_length
EMAIL_MAX_LENGTH = Comment._meta.get_field("email").max_length
REPORT_NOTE_MAX_LENGTH = CommentReport._meta.get_field("note").max_length
ANCHOR_MAX_LENGTH = Comment._meta.get_field("anchor").max_length

FORM_EXPIRED = "This form has expired; please post again: your text is still here."
NOTIFY_NEEDS_EMAIL = (
    "Give your email address to be emailed about replies, "
    "or untick “Email me when someone replies”."
)
NOTIFY_HELP_ACCOUNT = "At your account’s email address. Every email has a link to stop them."
NOTIFY_HELP_GUEST = "At the email address above. Every email has a link to stop them."


class CommentBodyField(ReaderTextField):
    def __init__(self, **kwargs):
        super().__init__(
            label="Your comment",
            min_length=BODY_MIN_LENGTH,
            max_length=BODY_MAX_LENGTH,
            error_messages={
                "required": "Write something before posting.",
                "min_length": (
                    "Write at least %(limit_value)d characters (you wrote %(show_value)d)."
                ),
                "max_length": (
                    "Keep it under %(limit_value)d characters: you wrote %(show_value)d. "
                    "Shorten it and post again."
                ),
            },
            help_text="Plain text, 2 to 5,000 characters. Links become clickable.",
            widget=forms.Textarea(attrs={"rows": 5}),
            **kwargs,
        )


class DisplayNameField(forms.CharField):
    """A guest's display name: no control or format characters (comments.text), and
    something in it that shows."""

    default_error_messages = {
        "invisible": "Give a name that shows: this one has no letters, numbers or symbols.",
    }

    def __init__(self, **kwargs):
        super().__init__(
            label="Display name",
            max_length=AUTHOR_NAME_MAX_LENGTH,
            error_messages={
                "required": "Give a name to show with your comment.",
                "max_length": (
                    "Keep your name to %(limit_value)d characters (it has %(show_value)d)."
                ),
            },
            widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
            **kwargs,
        )

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        cleaned = clean_display_name(value)
        if not shows_something(cleaned):
            raise ValidationError(self.error_messages["invisible"], code="invisible")
        return cleaned


class OneLineField(forms.CharField):
    """A short line of free text (a report note), cleaned like comment text."""

    def to_python(self, value):
        if value not in self.empty_values:
            value = clean_line(value)
        return super().to_python(value)


class PlainLabelsForm(forms.Form):
    """Labels without the trailing colon, like the rest of the site."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CommentForm(PlainLabelsForm):
    """A new comment or reply. Guests also give a display name and, if they like, an email."""

    body = CommentBodyField()
    author_name = DisplayNameField()
    email = forms.EmailField(
        label="Email (optional, never shown)",
        required=False,
        max_length=EMAIL_MAX_LENGTH,
        error_messages={
            "invalid": "Enter an email address such as name@example.com, or leave it empty.",
            "max_length": (
                "Use an email address of at most %(limit_value)d characters "
                "(this one has %(show_value)d), or leave it empty."
            ),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    notify_replies = forms.BooleanField(
        label="Email me when someone replies",
        required=False,
        help_text=NOTIFY_HELP_ACCOUNT,
    )
    # The honeypot: hidden from people and screen readers; only bots fill it in.
    website = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    rendered_at = forms.CharField(required=False, widget=forms.HiddenInput)
    # The paragraph or fact card a new comment responds to ("p-3", "fact-12"), if any; that
    # the article has it is checked by services.comment_submit. Replies have none.
    anchor = forms.CharField(
        required=False,
        max_length=ANCHOR_MAX_LENGTH,
        validators=[RegexValidator(LABEL_PATTERN, ANCHOR_UNKNOWN)],
        error_messages={"max_length": ANCHOR_UNKNOWN},
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, guest=False, reply_to=None, binding=None, **kwargs):
        """`binding` is the posting reader's CSRF secret (`request.META["CSRF_COOKIE"]`): the
        form's stamp must have been made for it. Without it, only the stamp's age is checked."""
        super().__init__(*args, **kwargs)
        self.binding = binding
        # Filled in with a fresh stamp in every response (evsite.caching), cached or not.
        self.initial.setdefault("rendered_at", STAMP_PLACEHOLDER)
        if reply_to is not None:
            self.fields["body"].label = f"Your reply to {reply_to.author_name}"
            del self.fields["anchor"]  # a reply answers its comment, not a part of the article
        self.guest = guest
        if not guest:
            del self.fields["author_name"]
            del self.fields["email"]
        else:
            self.fields["notify_replies"].help_text = NOTIFY_HELP_GUEST

    def blank_key(self, article):
        """Everything the fields of this form show when nothing was sent in it yet, as one
        key: a guest's new-comment form not answering a part of the article. None for any
        other form (sent back with errors, a reply, an account's, a response to a claim)."""
        if self.is_bound or not self.guest or "anchor" not in self.fields:
            return None
        if self.initial.get("anchor"):
            return None
        initial = tuple(sorted((name, str(value)) for name, value in self.initial.items()))
        return (article.pk, article.get_absolute_url(), self.auto_id, initial)

    def restamp(self):
        """Before a refused form is shown again: keep the stamp it was sent with while that is
        good for this browser, so that posting it again at once is not "too fast"; otherwise
        a fresh one. A kept stamp is rendered as it is: only the placeholder is filled in."""
        if self.is_bound and not stamp_may_be_kept(self.stamp, self.binding):
            self.data = self.data.copy()
            self.data[self.add_prefix("rendered_at")] = STAMP_PLACEHOLDER

    @property
    def honeypot_filled(self):
        return bool(self.data.get(self.add_prefix("website"), "").strip())

    @property
    def stamp(self):
        return self.data.get(self.add_prefix("rendered_at"), "")

    @property
    def too_fast(self):
        return stamp_is_too_fast(self.stamp)

    def clean(self):
        cleaned_data = super().clean()
        # An old stamp, or one made for another browser, is refused; the form comes back
        # with the text and a fresh stamp (responses.refused_response calls restamp).
        if stamp_is_stale(self.stamp, self.binding):
            raise ValidationError(FORM_EXPIRED, code="expired")
        if (
            self.guest
            and cleaned_data.get("notify_replies")
            and not cleaned_data.get("email")
            and "email" not in self.errors
        ):
            self.add_error("email", ValidationError(NOTIFY_NEEDS_EMAIL, code="notify_needs_email"))
        return cleaned_data

    def submission(self):
        """What a valid form asks `services.comment_submit` to post."""
        return {
            "body": self.cleaned_data["body"],
            "author_name": self.cleaned_data.get("author_name", ""),
            "email": self.cleaned_data.get("email", ""),
            "notify_replies": self.cleaned_data.get("notify_replies", False),
            "honeypot_filled": self.honeypot_filled,
            "too_fast": self.too_fast,
            "anchor": self.cleaned_data.get("anchor", ""),
        }


class CommentEditForm(PlainLabelsForm):
    body = CommentBodyField()


class CommentReportForm(PlainLabelsForm):
    reason = forms.ChoiceField(
        label="What is wrong with this comment?",
        choices=CommentReport.Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a reason."},
    )
    note = OneLineField(
        label="Anything moderators should know (optional)",
        max_length=REPORT_NOTE_MAX_LENGTH,
        required=False,
        error_messages={
            "max_length": ("Keep the note to %(limit_value)d characters (it has %(show_value)d)."),
        },
        widget=forms.TextInput,
    )


HELPFUL_ORDER = ["-helpful_count", "-created_at", "-pk"]
BOTH_SIDES = "both"
SORTS = {
    # The first page takes the most helpful threads of each stance in turn, then the rest
    # follow in this order (selectors.BothSidesThreads).
    BOTH_SIDES: ("Both sides", HELPFUL_ORDER),
    "newest": ("Newest first", ["-created_at", "-pk"]),
    "oldest": ("Oldest first", ["created_at", "pk"]),
    "helpful": ("Most helpful", HELPFUL_ORDER),
    "discussed": ("Most discussed", ["-reply_count", "-created_at", "-pk"]),
}
# Until a poll of the article has votes for two answers; then BOTH_SIDES (selectors).
DEFAULT_SORT = "newest"


class CommentListForm(forms.Form):
    """The reader's choice of order and stance filter; bad values fall back to the defaults."""

    sort = forms.ChoiceField(
        label="Sort by",
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        required=False,
    )
    stance = forms.TypedChoiceField(
        label="Show",
        coerce=int,
        required=False,
        empty_value=None,
    )
    # Later pages leave out threads newer than the first page the reader saw, so nothing
    # posted meanwhile pushes a thread they have already seen onto the next page again.
    upto = forms.IntegerField(required=False, min_value=0)
    # The page the reader started from, under pages added by "Load more": what is on screen.
    first_page = forms.IntegerField(required=False, min_value=1)
    # Only the comments on one paragraph or fact card ("p-3"): what its count of comments lists.
    anchor = forms.CharField(
        required=False, max_length=ANCHOR_MAX_LENGTH, validators=[RegexValidator(LABEL_PATTERN)]
    )

    def __init__(self, *args, stance_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stance"].choices = [("", "All comments")] + [
            (choice.pk, f"Voted: {choice.label}") for choice in stance_choices
        ]

    def value(self, name, default=None):
        self.is_valid()  # invalid fields are left out of cleaned_data, so they take the default
        return self.cleaned_data.get(name) or default
