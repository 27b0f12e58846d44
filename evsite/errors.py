"""The site's error answers: 400, 403 (and the CSRF failure), 404, 500 and 503.

They run when something already went wrong, so they must not fail in turn: they never read
the database, the session, the user, the form data or the shared cache, and their template
(templates/errors/error.html) gets only the plain values passed here, no context processors.
Should even that template fail, a plain page built here answers instead.

An htmx request gets a short notice rather than a page: one paragraph placed after the
element that made the request (`HX-Retarget: this`, `HX-Reswap: afterend`), never swapped
over the form the reader was filling in. The site's htmx config swaps 4xx answers and not
5xx ones; for those, static/js/site.js shows its own "try again" notice.
"""

import logging
import sqlite3
import sys
import time

from diskcache import Timeout as DiskCacheTimeout
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import escape
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long a reader should wait before trying a write again while the database cannot take
# it (sent as Retry-After with every 503).
RETRY_AFTER_SECONDS = 30
# At most one warning about an unavailable database or cache per process in this many seconds:
# during an outage every request would say the same thing.
WARNING_INTERVAL = 60

PAGES = {
    400: (
        "Bad request",
        "Your browser sent a request this site could not read. "
        "Please go back, reload the page and try again.",
    ),
    403: ("Not allowed", "You do not have permission to do that."),
    404: (
        "Page not found",
        "There is no page at this address. It may have moved, or the link may be mistyped.",
    ),
    500: (
        "Something went wrong",
        "Sorry, something went wrong on our side. Please try again in a moment.",
    ),
    503: (
        "Temporarily unavailable",
        "This page cannot be shown at the moment. Please try again in a minute.",
    ),
}
UNSAVED = (
    "Temporarily unavailable",
    "The site cannot save changes at the moment, so what you sent was not saved. "
    "Please try again in a minute.",
)
CSRF_PAGE = (
    "Your form has expired",
    "The form could not be checked: it may have been open for a long time, or your browser "
    "does not keep this site's cookies. Please go back, reload the page and send it again.",
)


def _is_htmx(request):
    # The header itself: django-htmx's middleware may not have run for this request.
    return request is not None and request.headers.get("HX-Request") == "true"


def _static(path):
    try:
        return static(path)
    except Exception:  # e.g. no manifest entry: the page still renders, unstyled
        return f"{settings.STATIC_URL}{path}"


def error_response(request, status, title, message, *, retry_after=None):
    """The page (or, for htmx, the notice) for `status`, safe to render whatever is broken."""
    if _is_htmx(request):
        content = f'<p class="request-error" role="alert">{escape(message)}</p>\n'
        response = HttpResponse(content, status=status)
        response["HX-Retarget"] = "this"
        response["HX-Reswap"] = "afterend"
    else:
        response = HttpResponse(_page(status, title, message), status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    # An error answer is about this moment only: no CDN or browser should keep it.
    response["Cache-Control"] = "no-store"
    return response


def _page(status, title, message):
    context = {
        "status": status,
        "title": title,
        "message": message,
        "site_name": settings.EVR_SITE_NAME,
        "home_url": "/",
        "stylesheet": _static("css/site.css"),
        "icon": _static("favicon.svg"),
    }
    try:
        return render_to_string("errors/error.html", context)
    except Exception:
        logger.exception("The error page could not be rendered")
        return (
            f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
            f'<p><a href="/">Back to {escape(settings.EVR_SITE_NAME)}</a></p></html>'
        )


def _page_for(request, status, **options):
    title, message = PAGES[status]
    return error_response(request, status, title, message, **options)


def bad_request(request, exception=None):
    # The request's form data is what was unreadable (e.g. a charset other than UTF-8): make
    # any later read of request.POST an empty form instead of the same error again.
    mark = getattr(request, "_mark_post_parse_error", None)
    if mark is not None:
        mark()
    return _page_for(request, 400)


def permission_denied(request, exception=None):
    return _page_for(request, 403)


def page_not_found(request, exception=None):
    return _page_for(request, 404)


def server_error(request):
    """Any uncaught exception, including those raised by middleware (e.g. the page cache's,
    when the cache is down): a database or cache that cannot answer gets the 503 (see
    `unavailable`), anything else the 500."""
    if unavailable(_current_exception()) is not None:
        return service_unavailable(request)
    return _page_for(request, 500)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: never reads the form data (it may be what failed)."""
    title, message = CSRF_PAGE
    return error_response(request, 403, title, message)


def service_unavailable(request):
    """503 with Retry-After: the database (or cache) cannot answer for now."""
    if request is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
        title, message = UNSAVED
        return error_response(request, 503, title, message, retry_after=RETRY_AFTER_SECONDS)
    return _page_for(request, 503, retry_after=RETRY_AFTER_SECONDS)


def _current_exception():
    # handler500 is called while Django handles the exception, so it is still the current one.
    return sys.exc_info()[1]


# --- Which failures mean "try again later" ---------------------------------------------------

# SQLite's primary result codes for a database that is there but cannot be used right now.
SQLITE_UNAVAILABLE = {
    5,  # SQLITE_BUSY: "database is locked" (the busy timeout ran out)
    6,  # SQLITE_LOCKED: "database table is locked"
    8,  # SQLITE_READONLY: "attempt to write a readonly database"
    10,  # SQLITE_IOERR
    13,  # SQLITE_FULL: "database or disk is full"
    14,  # SQLITE_CANTOPEN: "unable to open database file"
}
SQLITE_UNAVAILABLE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "readonly database",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)
# PostgreSQL SQLSTATE classes: connection exception, insufficient resources, operator
# intervention (shutdown, cannot connect now), system error; and 25006, a write in a read-only
# transaction (a standby, or default_transaction_read_only).
POSTGRES_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
POSTGRES_READ_ONLY = "25006"


def unavailable(exc):
    """Which of "database" or "cache" cannot answer right now, if `exc` says so (the answer is
    then a 503 and the reader should try again later); else None: a bug stays a 500."""
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, DiskCacheTimeout)):
        return "cache"
    if isinstance(exc, sqlite3.Error):  # raised as it is: by the disk cache, not the ORM
        return "cache" if _sqlite_unavailable(exc) else None
    if not isinstance(exc, DatabaseError):
        return None
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        return "database" if _sqlite_unavailable(cause) else None
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        if sqlstate == POSTGRES_READ_ONLY or sqlstate[:2] in POSTGRES_UNAVAILABLE_CLASSES:
            return "database"
        return None
    # No SQLSTATE: psycopg could not reach the server at all ("connection failed",
    # "server closed the connection unexpectedly", "the connection is closed").
    if isinstance(exc, (OperationalError, InterfaceError)):
        return "database"
    return None


def _sqlite_unavailable(error):
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in SQLITE_UNAVAILABLE:
        return True
    message = str(error).lower()
    return any(text in message for text in SQLITE_UNAVAILABLE_MESSAGES)


_last_warning = {}


def warn_unavailable(what, exc, path):
    """Log that the database or cache cannot answer (a 503 for a request that needs it, or
    an "error" in /healthz), at most once a minute per process."""
    now = time.monotonic()
    last = _last_warning.get(what)
    if last is not None and now - last < WARNING_INTERVAL:
        return
    _last_warning[what] = now
    logger.warning(
        "The %s cannot answer (%s: %s), seen at %s (this warning repeats at most once a "
        "minute per process)",
        what,
        type(exc).__name__,
        exc,
        path,
    )
