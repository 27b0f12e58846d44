"""Settings for EV Reader, read from environment variables with safe local defaults."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from error


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "evsite",
    "articles",
    "comments",
]

MIDDLEWARE = [
    # Content-Security-Policy, Permissions-Policy and Vary: HX-Request on every response,
    # error pages and cached copies included (evsite/middleware.py).
    "evsite.middleware.response_headers",
    # /healthz for load balancers, answered before any redirect, session or cache lookup.
    "evsite.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Serves readers without a session their shared copy of a page before anything below
    # runs, and fills in every reader's CSRF token (evsite/caching.py).
    "evsite.caching.PageCacheMiddleware",
    # Django's, with a 503 for a session the database cannot save (evsite/middleware.py).
    "evsite.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database that cannot take the write (locked, read-only, unreachable): a 503 page.
    "evsite.middleware.ServiceUnavailableMiddleware",
]
# The error pages (evsite/errors.py) never read the form data, the session or the database:
# a request whose form cannot be read fails the CSRF check with a 400, not a 500.
CSRF_FAILURE_VIEW = "evsite.errors.csrf_failure"
ADMIN_URL_PREFIX = "admin/"

ROOT_URLCONF = "evsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "evsite.context_processors.site",
                # After Django's own csrf processor: pages render a placeholder that
                # PageCacheMiddleware fills with each reader's token, so they can be cached.
                "evsite.caching.csrf_placeholder",
            ],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

WSGI_APPLICATION = "evsite.wsgi.application"

SQLITE_PATH = Path(os.environ.get("EVR_SQLITE_PATH", BASE_DIR / "db.sqlite3"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work at once; IMMEDIATE transactions take the write
    # lock up front, so concurrent writers wait for it instead of failing with "locked".
    # A write holds the lock for milliseconds, so a wait of a few seconds covers any queue of
    # writers; longer means the file is locked by something else, and the reader gets the
    # 503 page (evsite/middleware.py) rather than a worker stuck for 20 seconds.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("EVR_SQLITE_BUSY_TIMEOUT", 5),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer is given up on after a few seconds (a 503), unless the
    # URL says otherwise (?connect_timeout=...).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "evsite.cache_backends.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "evr",
            # A Redis that is down or unreachable fails fast instead of holding the request:
            # rate limits then count in the worker (comments/ratelimit.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
elif os.environ.get("EVR_CACHE_BACKEND") == "locmem":
    # One process only: the test suite uses it so parallel runs never share rate-limit state.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # A disk cache (SQLite under var/cache) is shared by every worker process on the
    # machine, with atomic counters, so rate limits and cache versions hold.
    CACHES = {
        "default": {
            "BACKEND": "evsite.cache_backends.DiskCache",
            "LOCATION": os.environ.get("EVR_CACHE_DIR", str(BASE_DIR / "var" / "cache")),
            # Values under 1 MiB (a rendered page is about 150 KB) are kept in its SQLite
            # files: a file of its own for each cost 2 to 3 ms of CPU (directories made and
            # removed, the value written line by line). Each connection (8 shards, one per
            # thread) then keeps at most 1 MiB of those files in memory and maps none, where
            # diskcache's defaults let a worker hold 32 MiB and map 64 MiB for each.
            "OPTIONS": {
                "disk_min_file_size": 2**20,
                "sqlite_cache_size": 2**8,  # pages of 4 KiB
                "sqlite_mmap_size": 0,
            },
        }
    }

# Rendered fragments are stored under keys that carry the versions of what they show
# (evsite/caching.py), so each worker may keep its own copy in memory.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": 500},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Sessions are read from the cache (and written through to the database), so a reader's
# request costs no query for them; with the cache down, from the database (evsite/sessions.py).
SESSION_ENGINE = "evsite.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# How many reverse proxies (load balancer, CDN) add themselves to X-Forwarded-For in front of
# the site. 0 trusts only the connection's own address, and no X-Forwarded-* header at all.
EVR_TRUSTED_PROXY_COUNT = env_int("EVR_TRUSTED_PROXY_COUNT", 0)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if EVR_TRUSTED_PROXY_COUNT > 0:
        # Only a proxy that terminates HTTPS may say the reader used it: without one, any
        # client could send "X-Forwarded-Proto: https" over plain HTTP. The proxy nearest the
        # site must set (not append to) this header.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# Reader discussion: comments and polls.
EVR_SITE_NAME = "EV Reader"
EVR_IP_HASH_SALT = os.environ.get("EVR_IP_HASH_SALT", SECRET_KEY)
EVR_GUEST_COMMENTS = env_bool("EVR_GUEST_COMMENTS", True)
EVR_PREMODERATION = env_bool("EVR_PREMODERATION", False)
EVR_REPORTS_TO_HIDE = env_int("EVR_REPORTS_TO_HIDE", 3)
EVR_COMMENT_EDIT_MINUTES = env_int("EVR_COMMENT_EDIT_MINUTES", 15)
EVR_COMMENTS_PER_MINUTE = env_int("EVR_COMMENTS_PER_MINUTE", 5)
EVR_COMMENTS_PER_HOUR = env_int("EVR_COMMENTS_PER_HOUR", 30)
EVR_POLL_VOTES_PER_IP = env_int("EVR_POLL_VOTES_PER_IP", 20)
EVR_HELPFUL_MARKS_PER_MINUTE = env_int("EVR_HELPFUL_MARKS_PER_MINUTE", 60)
EVR_HELPFUL_MARKS_PER_HOUR = env_int("EVR_HELPFUL_MARKS_PER_HOUR", 600)
EVR_REPORTS_PER_MINUTE = env_int("EVR_REPORTS_PER_MINUTE", 5)
EVR_REPORTS_PER_HOUR = env_int("EVR_REPORTS_PER_HOUR", 20)
EVR_CORRECTIONS_PER_MINUTE = env_int("EVR_CORRECTIONS_PER_MINUTE", 3)
EVR_CORRECTIONS_PER_HOUR = env_int("EVR_CORRECTIONS_PER_HOUR", 10)
EVR_LOGIN_FAILURES_PER_ACCOUNT = env_int("EVR_LOGIN_FAILURES_PER_ACCOUNT", 5)
EVR_LOGIN_FAILURES_PER_IP = env_int("EVR_LOGIN_FAILURES_PER_IP", 20)
EVR_LOGIN_WINDOW_MINUTES = env_int("EVR_LOGIN_WINDOW_MINUTES", 15)
EVR_SIGNUPS_PER_IP = env_int("EVR_SIGNUPS_PER_IP", 5)

# Email: reply notifications (comments/notifications.py). Without EMAIL_HOST, mail is written
# to the console log; with it, sent through that SMTP server. A slow or failing server never
# holds up a reader: mail is sent after the comment is saved, in the background, and a
# failure is logged.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"{EVR_SITE_NAME} <noreply@localhost>")
# The site's address for the links in emails. In development a reply posted by a reader links
# to the address that reader used (host and scheme, as the request gives them).
# Unset: the first allowed host over HTTPS (http://127.0.0.1:8000 in development).
_main_host = (ALLOWED_HOSTS or ["localhost"])[0].lstrip(".")
EVR_SITE_URL = os.environ.get(
    "EVR_SITE_URL", "http://127.0.0.1:8000" if DEBUG else f"https://{_main_host}"
).rstrip("/")
# Off: mail is sent before the request ends (the tests, to read the outbox at once).
EVR_EMAIL_IN_BACKGROUND = env_bool("EVR_EMAIL_IN_BACKGROUND", True)
