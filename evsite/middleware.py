"""Headers every response carries, and the 503 for a database that cannot take a write."""

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import DatabaseError
from django.utils.cache import patch_vary_headers

from . import errors

# Every script and style is a static file, so pages need no 'unsafe-inline'. The admin's own
# templates still use a few inline styles, so it gets a slightly looser style policy.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
# The site uses none of these browser features, so no page (nor anything framed in one) may.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "interest-cohort",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


def response_headers(get_response):
    """Content-Security-Policy, Permissions-Policy and `Vary: HX-Request` on every response.

    It is the outermost middleware, so redirects, error pages and cached copies get the
    headers as well as freshly rendered pages.

    `Vary: HX-Request` goes on every response except the static files, rather than only on
    the views that answer htmx differently today: htmx may ask for any of the site's URLs
    (a partial instead of the page, or a 204 instead of a redirect, as comments/new/ does),
    a new view is covered without anyone remembering to decorate it, and a URL that answers
    the same either way loses nothing: browsers send the header only from htmx, so a shared
    cache keeps at most one more copy. The static files are the same for everyone and never
    fetched by htmx, so a CDN keeps one copy of each.
    """
    admin_prefix = f"/{settings.ADMIN_URL_PREFIX}"
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def middleware(request):
        response = get_response(request)
        admin = request.path.startswith(admin_prefix)
        policy = ADMIN_CONTENT_SECURITY_POLICY if admin else CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if "HX-Request" not in response.headers.get("Vary", "") and not request.path.startswith(
            static_prefix
        ):
            patch_vary_headers(response, ["HX-Request"])
        return response

    return middleware


class ServiceUnavailableMiddleware:
    """A view whose database (or shared cache) cannot answer right now gets a 503 with
    Retry-After, not a 500: SQLite's "database is locked" (the busy timeout ran out) and
    "attempt to write a readonly database", PostgreSQL's read-only transaction and lost or
    refused connections (`errors.unavailable` decides). The warning is logged at most once a
    minute per process. A session that cannot be saved after the view gets the same answer
    from `SessionMiddleware` below, and anything else raised by a middleware from handler500
    (`errors.server_error`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        what = errors.unavailable(exception)
        if what is None:
            return None
        errors.warn_unavailable(what, exception, request.path)
        return errors.service_unavailable(request)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a session the database cannot save right now (locked, read-only,
    unreachable) gets the 503 page, logged like the others at most once a minute, instead of
    a 500 with a traceback for every such request. A new guest's session is saved after the
    view, e.g. after a refused comment, so this is where a locked database shows then."""

    def process_request(self, request):
        if not hasattr(request, "session"):  # PageCacheMiddleware may have read it already
            super().process_request(request)

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except DatabaseError as error:
            what = errors.unavailable(error)
            if what is None:
                raise
            errors.warn_unavailable(what, error, request.path)
            return errors.service_unavailable(request)
