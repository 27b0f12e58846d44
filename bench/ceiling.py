"""The ceiling for bench/load.py: the least a Django page can cost under the same gunicorn.

A minimal Django (two middleware, one URL, one view answering "ok", no database, no
templates) served the same way as the site, so that the site's pages can be reported as a
share of what this machine, gunicorn and Django themselves allow:

    cd bench && ../.venv/bin/gunicorn ceiling:application --workers 2 --bind 127.0.0.1:8120

ALLOWED_HOSTS comes from EVR_CEILING_ALLOWED_HOSTS (comma separated, default 127.0.0.1).
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path


def ok(request):
    return HttpResponse("ok")


urlpatterns = [path("", ok)]

settings.configure(
    DEBUG=False,
    SECRET_KEY="ceiling-only-no-secrets-here",
    ALLOWED_HOSTS=[
        host.strip()
        for host in os.environ.get("EVR_CEILING_ALLOWED_HOSTS", "127.0.0.1").split(",")
        if host.strip()
    ],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
)

application = get_wsgi_application()
