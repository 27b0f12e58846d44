"""Sessions read through the cache and kept in the database, that survive the cache going
down: with Redis unreachable a reader's session is read from, and written to, the database
alone, and pages keep working."""

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from comments.ratelimit import CACHE_ERRORS

logger = logging.getLogger(__name__)


class SessionStore(CachedDBStore):
    def load(self):
        try:
            return super().load()
        except CACHE_ERRORS as error:  # the database answered; storing it in the cache failed
            logger.warning("Sessions: the cache cannot answer (%s); reading the database", error)
            return self._load_from_database()

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
            logger.warning("Sessions: could not remove a cached session (%s)", error)
