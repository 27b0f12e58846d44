"""`/healthz`: can this app server reach its database and its cache?

`{"status": "ok", "database": "ok", "cache": "ok"}` with 200 when both answer, 503 with
"error" for what does not. Cheap enough to poll every second: one trivial query, one cache
round trip (a read of a key that is never written), no session, no template, never cached.

`HealthCheckMiddleware` answers it before the rest of the middleware runs, so a load
balancer's probe needs neither HTTPS nor an allowed Host header, reads no session and no
cached page, and still gets its answer when the cache is down. The URL is also routed to the
same view (evsite/urls.py), should the middleware ever be left out.
"""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from . import errors

HEALTH_PATH = "/healthz"
PROBE_KEY = "evr:healthz"


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        errors.warn_unavailable("database", error, HEALTH_PATH)
        return "error"
    return "ok"


def _cache():
    try:
        cache.get(PROBE_KEY)
    except Exception as error:
        errors.warn_unavailable("cache", error, HEALTH_PATH)
        return "error"
    return "ok"


def healthz(request):
    checks = {"database": _database(), "cache": _cache()}
    healthy = all(state == "ok" for state in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
