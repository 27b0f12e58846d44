"""Caching that never serves stale pages: everything cached is keyed by versions.

- Version counters live in the shared cache (Redis, or the disk cache that every worker of a
  machine shares): "content" for the article text and facts, "discussion" for comments,
  "polls" for votes, and one per reader. A write moves its counters on, and again once its
  transaction commits, so the next request on any worker and any app server builds a new
  key and renders afresh; nothing is ever purged, old entries just age out.
- What is rendered under a versioned key is the same on every worker, so each worker keeps a
  small copy in its own memory as well and a hit costs no cache round trip.
- Cached HTML carries placeholders where a reader's CSRF token and a comment form's stamp go;
  `PageCacheMiddleware` puts each reader's own values in every response.
"""

import hashlib
import logging
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache, wraps
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.core.cache import DEFAULT_CACHE_ALIAS, cache
from django.db import DatabaseError, transaction
from django.http import HttpResponse, HttpResponseNotModified
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.crypto import salted_hmac

from comments.ratelimit import CACHE_ERRORS
from comments.readers import guest_cache_scope, reader_cache_scope
from comments.stamps import STAMP_PLACEHOLDER, form_stamp

from .csrf import csrf_token

logger = logging.getLogger(__name__)

CONTENT = "content"
DISCUSSION = "discussion"
POLLS = "polls"
DISCUSSION_CHANGES = "discussion-changes"

# Placeholders no reader can type (they derive from the secret key): a comment holding one
# must not have a reader's token put into it.
CSRF_PLACEHOLDER = f"evr-csrf-{salted_hmac('evsite.caching.csrf', 'placeholder').hexdigest()[:24]}"
VERSION_KEY = "evr:version:{}"
PAGE_KEY = "evr:page:{}"
# Pages show relative times ("3 minutes ago") and poll deadlines: even with no write, an
# entry is rendered again after this long.
PAGE_TTL = 60
# How long a CDN may serve an anonymous page, and serve it stale while it fetches a new one.
SHARED_MAX_AGE = 10
STALE_WHILE_REVALIDATE = 30
# While one worker renders a shared copy again, the others serve the one before for at
# most this long (`shared_copy_to_serve`)...
STAND_IN_SECONDS = 5
# ...if it is no older than a CDN may serve it: so a copy is kept this long past its time.
KEPT_TO_STAND_IN = SHARED_MAX_AGE + STALE_WHILE_REVALIDATE
RENDER_CLAIM_KEY = "evr:rendering:{}"
RENDER_CLAIM_SECONDS = 30
LOCAL_ENTRIES = 64
STAMP_REFRESH_SECONDS = 60 * 60


def versions(*names):
    """The current value of each version counter, starting any that is missing; None when
    the shared cache cannot answer (then nothing is cached: every page is rendered)."""
    keys = [VERSION_KEY.format(name) for name in names]
    try:
        if pending_bumps:
            _move_on(*pending_bumps)  # moves that a cache outage held back
        found = cache.get_many(keys)
        missing = {key: time.time_ns() for key in keys if key not in found}
        if missing:
            # A new counter (or one evicted) starts from the clock, so it never repeats an
            # earlier value and never matches an old key.
            for key, value in missing.items():
                cache.add(key, value, timeout=None)
            found.update(cache.get_many(list(missing)))
    except CACHE_ERRORS as error:
        _cache_failed(error)
        return None
    return tuple(found.get(key, missing.get(key)) for key in keys)


# A reader without a session may be given a copy up to SHARED_MAX_AGE old by a CDN; this
# worker checks the versions of the copies it serves them at most once in this long.
SHARED_VERSIONS_MAX_AGE = 1.0
_shared_versions = {}


def shared_versions(*names):
    """`versions(*names)` as read at most SHARED_VERSIONS_MAX_AGE ago by this worker (and
    read again at once after a write here), for readers without a session: they have written
    nothing, and see others' writes within that second."""
    now = time.monotonic()
    found, read_at = _shared_versions.get(names, (None, 0.0))
    if found is None or now - read_at >= SHARED_VERSIONS_MAX_AGE:
        found = versions(*names)
        if found is not None:
            _shared_versions[names] = (found, now)
    return found


def forget_shared_versions():
    """Read the versions afresh on the next request (after the cache was cleared)."""
    global _forgotten
    _forgotten += 1
    _shared_versions.clear()
    _standing_in.clear()


_forgotten = 0  # how many times the worker forgot them: a read from before is no good then


def version_or_unique(name):
    """The version of `name`, or a value never seen before when the cache cannot answer, so
    that a fragment keyed by it is rendered afresh."""
    found = versions(name)
    return found[0] if found else f"unknown-{time.time_ns()}"


def bump(*names, comments_added_only=False):
    """Move these version counters on now, and again once the current transaction commits
    (if there is one): a page rendered in between, from data without this write, is then
    never served.

    A write to the discussion moves "discussion-changes" too, unless it only added comments
    (`comments_added_only`, a new comment or reply): the counts kept of the comments before
    it (comments.selectors.listed_counts) stay right then."""
    if DISCUSSION in names and not comments_added_only:
        names = (*names, DISCUSSION_CHANGES)
    _move_on(*names)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _move_on(*names))


pending_bumps = set()


def _move_on(*names):
    forget_shared_versions()
    for name in names:
        key = VERSION_KEY.format(name)
        try:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, time.time_ns(), timeout=None)
        except CACHE_ERRORS as error:
            _cache_failed(error)
            pending_bumps.add(name)  # moved on as soon as the cache answers again
        else:
            pending_bumps.discard(name)


_last_warnings = {}


def warn_cache_down(what, error, *, every=60):
    """Log that the shared cache cannot answer, and what is done instead (`what`), at most
    once every `every` seconds for each `what`: an outage must not flood the log."""
    if time.monotonic() - _last_warnings.get(what, -every) >= every:
        _last_warnings[what] = time.monotonic()
        logger.warning("The shared cache cannot answer (%s): %s", error, what)


def _cache_failed(error):
    warn_cache_down("pages are rendered for every request", error)


class LocalCache:
    """A small least-recently-used store in this worker's memory, for versioned entries.
    Threaded workers share it, so every change holds the lock."""

    def __init__(self, size=LOCAL_ENTRIES):
        self.size = size
        self.entries = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            value, expires = entry
            if expires < time.monotonic():
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return value

    def set(self, key, value, ttl):
        with self.lock:
            self.entries[key] = (value, time.monotonic() + ttl)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


local_pages = LocalCache()


# The pages (as `request_key` names them without a scope) some reader with a session has
# their own copy of in this worker.
_pages_with_own_copies = LocalCache(4096)


def cache_scope(request):
    """Whose copy of a page this request may get: "" for a reader without a session (what
    every such reader sees), the reader's own version name for a reader with a session, or
    None when the page must be rendered afresh (not a GET, a message waiting to be shown)."""
    if may_share(request):
        return ""
    if request.method not in ("GET", "HEAD") or request.COOKIES.get("messages"):
        return None
    if "_messages" in request.session:
        return None
    return reader_cache_scope(request)


def may_share(request):
    """A GET by a reader with no session and no message waiting: they see what every such
    reader sees."""
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.COOKIES.get("messages")
    )


def request_key(request, scope=""):
    meta = request.META  # (request.headers would copy every header first)
    parts = [
        request.get_host(),
        request.path,
        meta.get("QUERY_STRING", ""),
        meta.get("HTTP_HX_REQUEST", ""),
        meta.get("HTTP_HX_TRIGGER", ""),
        scope,
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def filled(parts, token, stamp):
    """A page cut at its placeholders (`placeholder_parts`) with a reader's CSRF token and
    form stamp (bytes) put in."""
    return stamp.join([token.join(pieces) for pieces in parts])


def placeholders_in(parts):
    """(whether the content cut into `parts` holds a stamp placeholder, a CSRF one)."""
    return len(parts) > 1, any(len(pieces) > 1 for pieces in parts)


def placeholder_parts(content):
    """The content cut at its placeholders, to be joined again with a reader's own values
    (`with_reader_values`): the pieces between stamp placeholders, each cut at its CSRF
    placeholders. A page with no placeholder is one piece: ((content,),)."""
    return tuple(
        tuple(chunk.split(CSRF_PLACEHOLDER.encode()))
        for chunk in content.split(STAMP_PLACEHOLDER.encode())
    )


@dataclass(frozen=True)
class CachedPage:
    """A response as rendered, cut at its placeholders (`placeholder_parts`), with the
    versions it was rendered at."""

    names: tuple
    values: tuple
    parts: tuple
    headers: dict
    ttl: int
    digest: str
    fresh_until: float = 0.0  # time.time() when it is to be rendered again regardless

    @classmethod
    def of(cls, response, names, values):
        headers = {
            name: value
            for name, value in response.items()
            if name.lower() not in ("set-cookie", "content-length", "etag")
        }
        ttl = min(PAGE_TTL, getattr(response, "cache_ttl", PAGE_TTL))
        digest = hashlib.sha256(response.content).hexdigest()
        parts = placeholder_parts(response.content)
        return cls(names, values, parts, headers, ttl, digest, time.time() + ttl)

    @property
    def rendered_at(self):
        return self.fresh_until - self.ttl

    def is_current(self, *, shared=False):
        """Whether the page was rendered at the current versions (`shared`: as this worker
        read them for readers without a session, `shared_versions`) less than its `ttl`
        ago."""
        if time.time() >= self.fresh_until:
            return False
        current = shared_versions(*self.names) if shared else versions(*self.names)
        return current == self.values

    def etag(self, request):
        # The page holds the reader's CSRF token, masked anew each time: any mask of the same
        # secret is as good, so the tag names the secret the reader's cookie holds.
        # The form stamp in it lasts two hours: a copy kept longer is not the same page.
        secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
        return _etag(self.digest, secret, int(time.time() // STAMP_REFRESH_SECONDS))

    def response(self):
        """A response of this page, whose placeholders `PageCacheMiddleware` fills in."""
        if self.parts == ((self.parts[0][0],),):
            response = HttpResponse(self.parts[0][0])
        else:
            response = HttpResponse()
            response.placeholder_parts = self.parts
        for name, value in self.headers.items():
            response.headers[name] = value
        return response


@lru_cache(maxsize=1)
def _session_engine():
    return import_module(settings.SESSION_ENGINE)


@lru_cache(maxsize=256)
def _etag(digest, secret, period):
    seed = f"{digest}:{secret}:{period}"
    return f'W/"{hashlib.sha256(seed.encode()).hexdigest()[:32]}"'


def page_cache(*version_names):
    """Cache a GET view's response under these versions; a conditional request that still
    matches gets a 304.

    Readers without a session share one copy (`PageCacheMiddleware` serves it, before the
    session, the URL resolver or the view), which a CDN may keep for a few seconds. A reader
    with a session gets their own copy, kept only in this worker's memory and keyed by their
    own version too, which every write of theirs moves on (a vote, a comment, a mark), so
    they always see what they just did; it is marked private.
    """

    def decorate(view):
        @wraps(view)
        def cached(request, *args, **kwargs):
            scope = cache_scope(request)
            if scope is None:
                return private(view(request, *args, **kwargs))
            names = (*version_names, scope) if scope else version_names
            values = _page_versions(version_names, scope)
            if values is None:
                return private(view(request, *args, **kwargs))
            if not scope:
                # Rendered now; PageCacheMiddleware keeps it under the versions read before.
                read = (_forgotten, time.monotonic())
                response = view(request, *args, **kwargs)
                response.shared_versions = (names, values)
                response.shared_versions_read = read
                return response
            key = request_key(request, scope)
            page = local_pages.get(key)
            if page is None or page.values != values:
                response = view(request, *args, **kwargs)
                if response.status_code != 200 or response.streaming:
                    return private(response)
                page = CachedPage.of(response, names, values)
                if page.ttl <= 0:
                    return private(response)
                local_pages.set(key, page, page.ttl)
                _pages_with_own_copies.set(request_key(request), True, page.ttl)
            return _own_copy(request, page)

        return cached

    return decorate


def _own_copy(request, page):
    """A reader's own copy of a page, or a 304 when theirs still matches."""
    etag = page.etag(request)
    if etag in request.headers.get("If-None-Match", ""):
        return private(HttpResponseNotModified(), etag)
    return private(page.response(), etag)


def _page_versions(version_names, scope, *, own=None):
    """The versions a page is keyed by. A reader's own copy takes the shared ones as this
    worker read them at most a second ago (`shared_versions`), and their own version as it
    is now (`own`, when the caller has just read it): every write of theirs moves that on,
    so they see it at once, and others' writes within a second."""
    if not scope:
        return versions(*version_names)
    shared = shared_versions(*version_names)
    own = (own,) if own is not None else versions(scope)
    if shared is None or own is None:
        return None
    return (*shared, *own)


# Where the WSGI environ keeps a session read for `guest_copy`, for the rest of the request.
LOADED_SESSION = "evr.session"


def guest_copy(request):
    """(key, page) for a guest with a session (not signed in) asking again, with a GET, for
    a page this worker keeps their own copy of (`page_cache`), if it is current; else None.
    The session is read only then, into `request.session`, which `SessionMiddleware` uses on
    any other answer."""
    if request.method != "GET" or request.COOKIES.get("messages"):
        return None
    if not _pages_with_own_copies.get(request_key(request)):
        return None  # nothing to serve: the session is not read here
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    session = request.META.get(LOADED_SESSION)  # read before Django's handling began
    own = None
    if session is None or session.session_key != session_key:
        session = request.META[LOADED_SESSION] = _session_engine().SessionStore(session_key)
        own = _read_with_session(session, _guest_scopes.get(session_key))
    request.session = session
    try:
        if AUTH_SESSION_KEY in session or "_messages" in session:
            return None
        if session.is_empty():  # gone: SessionMiddleware deletes its cookie
            return None
    except DatabaseError:
        return None  # the view's answer says what is wrong
    scope = guest_cache_scope(session)
    _guest_scopes.set(session_key, scope, PAGE_TTL)
    key = request_key(request, scope)
    page = local_pages.get(key)
    if page is None or page.names[-1] != scope:
        return None
    if own is not None and own[0] != scope:
        own = None  # the session names another reader now
    own_version = own[1] if own is not None else None
    if _page_versions(page.names[:-1], scope, own=own_version) != page.values:
        return None
    return key, page


# The scope each session key had when this worker last read it: a guest's next request
# reads their session and their own version together (`_read_with_session`).
_guest_scopes = LocalCache(4096)


def _read_with_session(session, scope):
    """Read a cached session together with the version of the scope it had last time, in
    one round trip to the shared cache: (that scope, its version), or None. The session's
    data is kept in it as its own `load()` would keep it; a session that is not in the
    cache is read as usual."""
    if scope is None or not session.session_key or not hasattr(type(session), "cache_key"):
        return None  # (asking a store without a key for its cache key would make one)
    if pending_bumps:
        return None  # versions() moves them on first
    if settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS:
        return None
    version_key = VERSION_KEY.format(scope)
    try:
        found = cache.get_many([session.cache_key, version_key])
    except CACHE_ERRORS:
        return None
    if session.cache_key in found:
        session._session_cache = found[session.cache_key]
    return (scope, found[version_key]) if version_key in found else None


def limit_cache_ttl(response, seconds):
    """Keep a cached copy of `response` no longer than `seconds` (None: no limit of its own),
    because something on it changes by itself then (an Edit link that expires)."""
    if seconds is not None:
        response.cache_ttl = min(getattr(response, "cache_ttl", PAGE_TTL), int(seconds))
    return response


def _shared_page(key):
    try:
        return cache.get(PAGE_KEY.format(key))
    except CACHE_ERRORS as error:
        _cache_failed(error)
        return None


def _share_page(key, page):
    try:
        cache.set(PAGE_KEY.format(key), page, page.ttl + KEPT_TO_STAND_IN)
    except CACHE_ERRORS as error:
        _cache_failed(error)


@dataclass(frozen=True)
class SharedCopyToServe:
    """What `PageCacheMiddleware` does with a request for a shared copy: serve `page` (None:
    render it), which `stands_in` for one being rendered elsewhere; `claim` is this
    request's claim on the rendering, to give back once it has rendered."""

    page: CachedPage | None
    stands_in: bool = False
    claim: str | None = None


def shared_copy_to_serve(key):
    """The current copy, from this worker or the shared cache. Failing that, the copy
    before, while another worker renders its successor, for at most STAND_IN_SECONDS from
    when this worker found it outdated: a write or the time outdates a popular page for
    every worker at once, and it is rendered once, with no reader waiting for it but the
    one whose request renders it."""
    page = local_pages.get(key)
    if page is not None and page.is_current(shared=True):
        return SharedCopyToServe(page)
    standing_in = _standing_in.get(key)
    if standing_in is not None:
        return SharedCopyToServe(standing_in, stands_in=True)
    shared = _shared_page(key)
    if shared is not None and shared.is_current(shared=True):
        local_pages.set(key, shared, shared.ttl + KEPT_TO_STAND_IN)
        return SharedCopyToServe(shared)
    before = max(filter(None, (page, shared)), key=lambda copy: copy.rendered_at, default=None)
    if before is None or not _may_stand_in(key, before):
        return SharedCopyToServe(None)
    claim = _claim_render(key)
    if claim is not None:
        return SharedCopyToServe(None, claim=claim)
    _standing_in.set(key, before, STAND_IN_RECHECK_SECONDS)
    return SharedCopyToServe(before, stands_in=True)


# A worker serving a copy that stands in looks again for its successor this often, not on
# every request.
STAND_IN_RECHECK_SECONDS = 0.2
_standing_in = LocalCache()
_outdated_since = LocalCache(256)


def _may_stand_in(key, page):
    """Whether `page`, outdated, may still stand in: for STAND_IN_SECONDS from when this
    worker first found it outdated, and no later than KEPT_TO_STAND_IN past its time."""
    if time.time() >= page.fresh_until + KEPT_TO_STAND_IN:
        return False
    found = (key, page.digest, page.values, page.fresh_until)
    since = _outdated_since.get(found)
    if since is None:
        since = time.monotonic()
        _outdated_since.set(found, since, PAGE_TTL + KEPT_TO_STAND_IN)
    return time.monotonic() - since < STAND_IN_SECONDS


def _claim_render(key):
    """A claim on rendering the page now, or None when another worker holds one. A claim
    lapses after RENDER_CLAIM_SECONDS, should its worker never give it back (the others
    stop standing in well before)."""
    claim = secrets.token_hex(8)
    try:
        added = cache.add(RENDER_CLAIM_KEY.format(key), claim, RENDER_CLAIM_SECONDS)
        return claim if added else None
    except CACHE_ERRORS:
        return claim


def _render_done(key, claim):
    with suppress(CACHE_ERRORS):
        if cache.get(RENDER_CLAIM_KEY.format(key)) == claim:  # not lapsed and taken since
            cache.delete(RENDER_CLAIM_KEY.format(key))


def private(response, etag=None):
    if etag:
        response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return response


def shareable(response, etag=None):
    if etag:
        response["ETag"] = etag
    patch_vary_headers(response, ["Cookie"])
    patch_cache_control(
        response,
        public=True,
        max_age=0,
        s_maxage=SHARED_MAX_AGE,
        stale_while_revalidate=STALE_WHILE_REVALIDATE,
    )
    return response


def csrf_placeholder(request):
    """Context processor: templates render a placeholder where the CSRF token goes."""
    return {"csrf_token": CSRF_PLACEHOLDER}


class PageCacheMiddleware:
    """Serve readers without a session their shared copy of a page at once, and put each
    reader's own values where every page, cached or not, holds placeholders: their CSRF
    token, and a fresh stamp for the comment forms.

    It sits before the session middleware: a shared copy needs nothing of the reader but
    their CSRF cookie, which it reads and sets as CsrfViewMiddleware does.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request):
        if not may_share(request):
            copy = self._guest_copy(request)
            if copy is not None:
                return self.with_reader_values(request, copy)
            return self.with_reader_values(request, self.get_response(request))
        key = request_key(request)
        to_serve = shared_copy_to_serve(key)
        page = to_serve.page
        if page is not None:
            etag = page.etag(request)
            if etag in request.headers.get("If-None-Match", ""):
                return shareable(HttpResponseNotModified(), etag)
            self.csrf.process_request(request)  # what the inner middleware would have read
            response = page.response()  # its headers already say it may be shared
            response["ETag"] = etag
            if not to_serve.stands_in:
                _mark_shared_copy(request, key, page)
            return self.with_reader_values(request, response)
        try:
            response = self._render_and_keep(request, key)
        finally:  # once the new copy is kept, or the rendering failed
            if to_serve.claim is not None:
                _render_done(key, to_serve.claim)
        return self.with_reader_values(request, response)

    def _render_and_keep(self, request, key):
        response = self.get_response(request)
        marked = getattr(response, "shared_versions", None)
        if marked:
            forgotten, read_at = response.shared_versions_read
            if forgotten == _forgotten:  # no write of this worker's since they were read
                _shared_versions[marked[0]] = (marked[1], read_at)
        if marked and response.status_code == 200 and not response.streaming:
            shareable(response)
            page = CachedPage.of(response, *marked)
            if page.ttl > 0:
                _share_page(key, page)
                local_pages.set(key, page, page.ttl + KEPT_TO_STAND_IN)
                response["ETag"] = page.etag(request)
                _mark_shared_copy(request, key, page)
        return response

    def _guest_copy(self, request):
        """A guest's own copy of a page (`guest_copy`), served from here, without the URL
        resolver, the view or the middleware below, with the headers they would add."""
        found = guest_copy(request)
        if found is None:
            return None
        key, page = found
        self.csrf.process_request(request)  # what the inner middleware would have read
        response = _own_copy(request, page)
        patch_vary_headers(response, ["Cookie"])  # as SessionMiddleware does
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        if response.status_code == 200:
            _mark_shared_copy(request, key, page)
        return response

    def with_reader_values(self, request, response):
        parts = getattr(response, "placeholder_parts", None)
        if parts is None:
            if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
                return response
            parts = placeholder_parts(response.content)
        has_stamp, has_csrf = placeholders_in(parts)
        if has_stamp or has_csrf:
            stamp = form_stamp(request).encode() if has_stamp else b""
            token = csrf_token(request).encode() if has_csrf else b""
            if has_csrf:
                self._send_cookie_only_when_new(request, response)
            response.content = filled(parts, token, stamp)
        response["Content-Length"] = str(len(response.content))
        return response

    def _send_cookie_only_when_new(self, request, response):
        cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
        if cookie and request.META.get("CSRF_COOKIE") == cookie:
            # The reader already holds this secret: no need to send the cookie again.
            request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False
            return
        self.csrf.process_response(request, response)  # sets the new cookie
        if "public" in response.get("Cache-Control", ""):
            # A response that sets a cookie is for this reader alone.
            response["Cache-Control"] = "private, no-cache"


# Where a request's WSGI environ says that its answer was the shared copy of a page
# (evsite.shared_copies answers such requests from then on).
SHARED_COPY_MARK = "evr.shared_copy"


def _mark_shared_copy(request, key, page):
    request.META[SHARED_COPY_MARK] = (key, request.is_secure(), page.digest)


class BumpsVersionsAdmin:
    """ModelAdmin mixin: every save or delete made in the admin moves `bumps_versions` on."""

    bumps_versions = (CONTENT,)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump(*self.bumps_versions)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        bump(*self.bumps_versions)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        bump(*self.bumps_versions)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        bump(*self.bumps_versions)
