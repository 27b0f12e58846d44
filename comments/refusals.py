"""The one way a rule of the reader discussion says no."""

from django.core.exceptions import ValidationError


class Refused(ValidationError):
    """A reader may not do this now. It says why in words the reader sees, with the HTTP status
    that fits (403 not allowed, 404 not shown, 409 no longer possible, 422 not acceptable, 429
    too often); `field` names the form field it is about, `about` the comment it concerns, and
    `retry_after` the seconds to wait.

    Being a ValidationError, it goes straight onto a form with `form.add_error(field, refusal)`.
    """

    def __init__(
        self, message, *, status=403, field=None, about=None, retry_after=None, code="refused"
    ):
        super().__init__(message, code=code)
        self.status = status
        self.field = field
        self.about = about
        self.retry_after = retry_after

    @property
    def headers(self):
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}

    @classmethod
    def invalid_form(cls):
        """The form's own errors say what is wrong: nothing more is added to it."""
        return cls("Some fields need correcting.", status=422, code="invalid")
