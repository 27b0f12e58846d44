"""Sessions read through the cache and kept in the database, that survive the cache going
down: with Redis unreachable a reader's session is read from, and written to, the database
alone, and pages keep working."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.utils.crypto import get_random_string

from comments.ratelimit import CACHE_ERRORS

from .caching import warn_cache_down


def _cache_failed(error):
    warn_cache_down("sessions use the database alone", error)


class SessionStore(CachedDBStore):
    def _get_new_session_key(self):
        # No lookup first: 32 random characters do not repeat, and if they ever did, the
        # insert that `create()` makes would refuse the key and it would draw another.
        return get_random_string(32, VALID_KEY_CHARS)

    def load(self):
        try:
            return super().load()
        except CACHE_ERRORS as error:  # the database answered; storing it in the cache failed
            _cache_failed(error)
            return self._load_from_database()

    def save(self, must_create=False):
        super(CachedDBStore, self).save(must_create)  # the database first, as cached_db does
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except CACHE_ERRORS as error:
            _cache_failed(error)

    def _load_from_database(self):
        stored = self._get_session_from_db()
        return self.decode(stored.session_data) if stored else {}

    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except CACHE_ERRORS:
            return bool(session_key) and super(CachedDBStore, self).exists(session_key)

    def delete(self, session_key=None):
        try:
            super().delete(session_key)  # the database row first, then the cached copy
        except CACHE_ERRORS as error:
            _cache_failed(error)
