"""When, and for which browser, a comment form was shown: a signed stamp, so a form sent back
sooner than a person could fill it is recognised, and a stamp cannot be kept and replayed.

A stamp holds the time it was made and a tag of the reader's CSRF secret (the one their
`csrftoken` cookie holds), so it serves only the browser it was shown to, and only for
`MAX_AGE_SECONDS`. Every response fills in a fresh one (evsite.caching), even from a cached
page, so a reader never sees an old stamp on a new page. A refused form shown again keeps the
stamp it was sent with while that stamp is good for the browser (`stamp_may_be_kept`): a
reader who fixes one field and sends the form again at once is not "too fast".
"""

import base64
import hashlib
import hmac
import time
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from evsite.csrf import csrf_secret

# A person needs at least this long to read the form and type something into it.
MIN_SECONDS_TO_FILL = 3
# After this long a form must be shown again (the reader's text is kept when it is refused).
MAX_AGE_SECONDS = 2 * 60 * 60
# A refused form keeps its stamp only while it leaves the reader this long to fix the form.
KEPT_STAMP_MIN_LIFE_SECONDS = 15 * 60
FORM_STAMP_SALT = "comments.comment-form"
# Forms render this; every response replaces it with a fresh stamp (evsite.caching).
STAMP_PLACEHOLDER = f"evr-stamp-{salted_hmac(FORM_STAMP_SALT, 'placeholder').hexdigest()[:24]}"
MAX_STAMP_LENGTH = 500  # a genuine stamp is under 100 characters


def request_binding(request):
    """What a stamp for this request is bound to: the reader's CSRF secret, made now (and then
    sent with the response, as for any page with a form) if they have none yet."""
    if "CSRF_COOKIE" in request.META:
        return request.META["CSRF_COOKIE"]
    return csrf_secret(request)


@lru_cache(maxsize=8)
def _keyed_hash(secret_key, purpose):
    # A keyed hash to copy for each message: deriving the key (as salted_hmac does on every
    # call) is half the work, and every page fills in a stamp.
    key = hashlib.sha256(f"{FORM_STAMP_SALT}.{purpose}{secret_key}".encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _digest(purpose, message, secret_key=None):
    keyed = _keyed_hash(secret_key or settings.SECRET_KEY, purpose).copy()
    keyed.update(message.encode())
    return keyed.digest()


def _tag(binding):
    # A keyed digest: the page shows the stamp, and must not show the secret.
    return _digest("binding", binding or "").hex()[:24]


def _signature(payload, secret_key=None):
    return base64.urlsafe_b64encode(_digest("signature", payload, secret_key)).decode().rstrip("=")


def form_stamp(binding="", now=None):
    """A signed record of when a comment form was rendered, and for whom.

    `binding` is the reader's CSRF secret, or the request to take it from (`request_binding`).
    """
    if isinstance(binding, HttpRequest):
        binding = request_binding(binding)
    at = int(now if now is not None else time.time())
    payload = f"{at}.{_tag(binding)}"
    return f"{payload}.{_signature(payload)}"


def _read(stamp):
    """The stamp's contents, or None when it is not a stamp we signed."""
    if not isinstance(stamp, str) or len(stamp) > MAX_STAMP_LENGTH:
        return None
    payload, _, signature = stamp.rpartition(".")
    at, _, tag = payload.partition(".")
    if not (at.isascii() and at.isdigit() and tag):
        return None
    # A stamp signed before the secret key was rotated still counts until it expires.
    for secret_key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if constant_time_compare(signature, _signature(payload, secret_key)):
            return {"at": int(at), "for": tag}
    return None


def stamp_is_too_fast(stamp, now=None):
    """True when the form came back sooner than a person could fill it, or was tampered with."""
    contents = _read(stamp)
    if contents is None:
        return True
    now = now if now is not None else time.time()
    return now - contents["at"] < MIN_SECONDS_TO_FILL


def stamp_is_stale(stamp, binding=None, now=None):
    """True when a genuine stamp is older than `MAX_AGE_SECONDS`, or was made for another
    browser than the one whose CSRF secret is `binding` (None: not known, not checked).

    A stamp that is not genuine is not stale: it is "too fast" (`stamp_is_too_fast`)."""
    contents = _read(stamp)
    if contents is None:
        return False
    now = now if now is not None else time.time()
    if now - contents["at"] > MAX_AGE_SECONDS:
        return True
    if binding is None:
        return False
    return not constant_time_compare(str(contents.get("for", "")), _tag(binding))


def stamp_may_be_kept(stamp, binding, now=None):
    """True when a refused form may be shown again with `stamp` rather than a fresh one: a
    stamp we signed, for the browser whose CSRF secret is `binding`, with at least
    `KEPT_STAMP_MIN_LIFE_SECONDS` left before it expires. Without a `binding` the browser
    had no CSRF secret yet: it gets one with the response, and a fresh stamp made for it."""
    contents = _read(stamp)
    if contents is None or not binding:
        return False
    now = now if now is not None else time.time()
    if now - contents["at"] > MAX_AGE_SECONDS - KEPT_STAMP_MIN_LIFE_SECONDS:
        return False
    return constant_time_compare(str(contents["for"]), _tag(binding))
