import unicodedata

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from ..readers import ip_hash
from ..refusals import Refused
from . import services

WRONG_PASSWORD = "That is not your password. Nothing was deleted."


class ThrottledSignIn:
    """For an AuthenticationForm: a locked account or address is refused before any password
    is checked, and a wrong username or password counts against both (accounts/services.py).

    A refusal is a non-field error like the form's own, so the page shows it with the
    username kept; `refusal` holds it for the view, which answers 429 with `Retry-After`.
    """

    refusal = None

    @sensitive_variables()
    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # nothing is checked: the fields' own errors say why
        address = ip_hash(self.request) if self.request is not None else ""
        try:
            services.login_check_allowed(username=username, ip_hash=address)
            try:
                return super().clean()
            except ValidationError:
                if self.user_cache is None:  # the username or the password was wrong
                    services.login_failed(username=username, ip_hash=address)
                raise
        except Refused as refusal:
            self.refusal = refusal
            raise


class LoginForm(ThrottledSignIn, AuthenticationForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AdminLoginForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's own sign-in form, throttled like the readers' (the same counters)."""


# Letters that draw nothing (Hangul and braille blanks, Mongolian vowel separator...): a
# username made only of them shows as nothing beside a comment (as comments.text has it).
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")
INVISIBLE_USERNAME = "Choose a username that shows: this one has no visible letters or numbers."


def shows_something(text):
    return any(
        unicodedata.category(character)[0] in "LNPS" and character not in BLANK_LETTERS
        for character in text
    )


INVALID_EMAIL = "Enter an email address such as name@example.com, or leave it empty."


class AccountEmailField(forms.EmailField):
    """The optional address a reader's reply emails go to. Not checked for uniqueness: two
    accounts may share one, and no answer tells whether an address is in use."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            max_length=get_user_model()._meta.get_field("email").max_length,
            error_messages={
                "invalid": INVALID_EMAIL,
                "max_length": (
                    "Use an email address of at most %(limit_value)d characters "
                    "(this one has %(show_value)d), or leave it empty."
                ),
            },
            widget=forms.EmailInput(attrs={"autocomplete": "email"}),
            **kwargs,
        )

    def clean(self, value):
        value = super().clean(value)
        return get_user_model().objects.normalize_email(value) if value else value


class SignupForm(UserCreationForm):
    email = AccountEmailField(
        label="Email (optional, never shown)",
        help_text=(
            "Only for the reply emails you ask for. You can add or change it later on your "
            "data page."
        ),
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_username(self):
        username = super().clean_username()
        if username and not shows_something(username):
            raise ValidationError(INVISIBLE_USERNAME, code="invisible")
        return username

    def username_taken_error(self):
        return self.instance.unique_error_message(self._meta.model, ["username"])

    @property
    def tells_username_taken(self):
        """The form would say that an account with this username exists."""
        return self.has_error("username", "unique")


class AccountEmailForm(forms.Form):
    email = AccountEmailField(
        label="Email address",
        help_text="Never shown to other readers. Leave it empty to get no reply emails.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AccountDeleteForm(forms.Form):
    """Closing an account takes its password: the same throttle as signing in guards it."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    refusal = None

    def __init__(self, *args, user, request=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    @sensitive_variables()
    def clean_password(self):
        password = self.cleaned_data["password"]
        username = self.user.get_username()
        address = ip_hash(self.request) if self.request is not None else ""
        try:
            services.login_check_allowed(username=username, ip_hash=address)
            if not self.user.check_password(password):
                services.login_failed(username=username, ip_hash=address)
                raise ValidationError(WRONG_PASSWORD, code="wrong_password")
        except Refused as refusal:
            self.refusal = refusal
            raise
        return password
