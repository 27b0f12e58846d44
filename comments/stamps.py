"""When a comment form was shown: a signed stamp, so a form sent back sooner than a person
could fill it is recognised."""

import time

from django.core import signing

# A person needs at least this long to read the form and type something into it.
MIN_SECONDS_TO_FILL = 3
FORM_STAMP_SALT = "comments.comment-form"
# Forms render this; every response replaces it with a fresh stamp (evsite.caching).
STAMP_PLACEHOLDER = "evr-form-stamp-placeholder"


def form_stamp(now=None):
    """A signed record of when a comment form was rendered."""
    at = int(now if now is not None else time.time())
    return signing.TimestampSigner(salt=FORM_STAMP_SALT).sign_object({"at": at})


def stamp_is_too_fast(stamp, now=None):
    """True when the form came back sooner than a person could fill it, or was tampered with."""
    try:
        rendered_at = signing.TimestampSigner(salt=FORM_STAMP_SALT).unsign_object(stamp)["at"]
    except (signing.BadSignature, KeyError, TypeError):
        return True
    now = now if now is not None else time.time()
    return now - rendered_at < MIN_SECONDS_TO_FILL
