"""Who is reading: a signed-in user, or a guest known by a random token in their session."""

import hashlib
import hmac
import secrets

from django.conf import settings

READER_TOKEN_SESSION_KEY = "evr_reader_token"


def reader_token(request, *, create=True):
    """The guest's token, created on first use. Signed-in users are identified by account."""
    token = request.session.get(READER_TOKEN_SESSION_KEY, "")
    if not token and create:
        token = secrets.token_hex(16)
        request.session[READER_TOKEN_SESSION_KEY] = token
    return token


def reader_lookup(*, user, reader_token):
    """Keyword arguments that select the rows of one reader: the signed-in `user`, or else
    the guest known by `reader_token`. None for a guest who has no token yet, who owns nothing.
    """
    if user is not None:
        return {"user": user}
    if reader_token:
        return {"user__isnull": True, "reader_token": reader_token}
    return None


def reader_filter(request):
    """Keyword arguments that select rows belonging to this request's reader, or None."""
    if request.user.is_authenticated:
        return reader_lookup(user=request.user, reader_token="")
    return reader_lookup(user=None, reader_token=reader_token(request, create=False))


def reader_fields(request):
    """Field values that mark a new row as this reader's."""
    if request.user.is_authenticated:
        return {"user": request.user, "reader_token": ""}
    return {"user": None, "reader_token": reader_token(request)}


def client_ip(request):
    """The client's address; behind N trusted proxies, the Nth address from the right of
    X-Forwarded-For (the leftmost entries are whatever the client chose to send)."""
    proxies = settings.EVR_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [ip.strip() for ip in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [ip for ip in forwarded if ip]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def ip_hash(request):
    """A salted hash of the client's address: enough to rate-limit, never the address itself."""
    salt = settings.EVR_IP_HASH_SALT.encode()
    return hmac.new(salt, client_ip(request).encode(), hashlib.sha256).hexdigest()
