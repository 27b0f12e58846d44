"""Shared copies of pages answered before Django handles the request.

A reader without a session gets the copy of a page that every such reader shares
(`evsite.caching.PageCacheMiddleware`). Once this worker has answered a page that way through
Django, `SharedCopies` answers the next such requests for it in the WSGI layer, with the
headers Django's middleware gave that answer and the reader's own CSRF token, cookie and form
stamp put in as `PageCacheMiddleware` puts them: the same response, without the request and
response objects, the signals and the middleware around the page cache.

Anything else goes to Django: another method, a conditional request, a session or a message
waiting, a CSRF cookie that is not a plain secret, a host Django would refuse, and any page
whose copy is not current or whose headers this worker has not seen.
"""

import logging
import time
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

from comments.stamps import form_stamp

from .caching import (
    LOCAL_ENTRIES,
    PAGE_TTL,
    SHARED_COPY_MARK,
    LocalCache,
    filled,
    guest_copy,
    local_pages,
    may_share,
    placeholders_in,
    private,
    request_key,
    shareable,
)
from .csrf import masked_secret, random_csrf_string

logger = logging.getLogger(__name__)

# What differs between two readers' answers of one copy: worked out for each request.
PER_READER_HEADERS = {"set-cookie", "etag", "content-length", "cache-control"}
_SECRET_CHARS = frozenset(CSRF_ALLOWED_CHARS)


class SharedCopies:
    """WSGI middleware around Django's application (evsite/wsgi.py)."""

    def __init__(self, application):
        self.application = application
        # (page key, secure, page digest) -> the headers Django gave the copy: room for
        # every page the worker keeps (`local_pages`), with guests' copies coming and going
        self.headers = LocalCache(4 * LOCAL_ENTRIES)

    def __call__(self, environ, start_response):
        answer = None
        if environ.get("REQUEST_METHOD") == "GET":
            try:
                answer = self._answer(environ)
            except Exception:  # Django answers instead, and shows or logs what is wrong
                logger.exception("A shared copy could not be answered before Django")
        if answer is not None:
            status, headers, body = answer
            start_response(status, headers)
            return [body]
        seen = []

        def start_and_see(status, headers, exc_info=None):
            seen.append((status, headers))
            return start_response(status, headers, exc_info)

        response = self.application(environ, start_and_see)
        marked = environ.get(SHARED_COPY_MARK)
        if marked and seen and seen[0][0].startswith("200 "):
            shared = [
                (name, value)
                for name, value in seen[0][1]
                if name.lower() not in PER_READER_HEADERS
            ]
            self.headers.set(marked, shared, PAGE_TTL)
        return response

    def _answer(self, environ):
        if settings.CSRF_USE_SESSIONS or "HTTP_IF_NONE_MATCH" in environ:
            return None
        request = WSGIRequest(environ)
        try:
            shared = may_share(request)
            found = _shared_copy(request) if shared else guest_copy(request)
        except DisallowedHost:  # a host Django refuses
            return None
        if found is None:
            return None
        key, page = found
        headers = self.headers.get((key, request.is_secure(), page.digest))
        if headers is None:
            return None
        cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
        if cookie is not None and not _is_secret(cookie):
            return None  # Django's CSRF middleware says what to do with it
        secret = cookie or random_csrf_string()
        has_stamp, has_csrf = placeholders_in(page.parts)
        token = masked_secret(secret).encode() if has_csrf else b""
        stamp = form_stamp(secret).encode() if has_stamp else b""
        body = filled(page.parts, token, stamp)
        sets_cookie = has_csrf and cookie is None
        headers = [
            *headers,
            ("Content-Length", str(len(body))),
            ("ETag", page.etag(request)),
            ("Cache-Control", _cache_control(shared=shared and not sets_cookie)),
        ]
        if sets_cookie:
            headers.append(("Set-Cookie", _csrf_cookie(secret)))
        return "200 OK", headers, body


def _shared_copy(request):
    """(key, page) of the copy every reader without a session shares, if it is current."""
    key = request_key(request)
    page = local_pages.get(key)
    if page is None or not page.is_current(shared=True):
        return None
    return key, page


def _is_secret(cookie):
    """A CSRF cookie as Django sets it: a secret it keeps as it is."""
    return len(cookie) == CSRF_SECRET_LENGTH and _SECRET_CHARS.issuperset(cookie)


@lru_cache(maxsize=2)
def _cache_control(*, shared):
    """As `PageCacheMiddleware` marks a shared copy, or a reader's own (or one that sets
    their cookie)."""
    return (shareable if shared else private)(HttpResponse())["Cache-Control"]


def _csrf_cookie(secret):
    """The Set-Cookie value CsrfViewMiddleware sends with a new secret."""
    return _csrf_cookie_with(int(time.time())).replace(_SECRET_SLOT, secret)


_SECRET_SLOT = "evr-csrf-secret-slot"


@lru_cache(maxsize=2)
def _csrf_cookie_with(now):
    # Only its expiry date changes, once a second.
    response = HttpResponse()
    response.set_cookie(
        settings.CSRF_COOKIE_NAME,
        _SECRET_SLOT,
        max_age=settings.CSRF_COOKIE_AGE,
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,
    )
    return response.cookies[settings.CSRF_COOKIE_NAME].output(header="")
