"""Sessions read through the cache and kept in the database, that survive the cache going
down: with Redis unreachable a reader's session is read from, and written to, the database
alone, and pages keep working."""

import secrets

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.db import transaction

from comments.ratelimit import CACHE_ERRORS

from .caching import warn_cache_down
from .prepared import prepared_insert

SESSION_KEY_LENGTH = 32
SESSION_KEYS = len(VALID_KEY_CHARS) ** SESSION_KEY_LENGTH


def _cache_failed(error):
    warn_cache_down("sessions use the database alone", error)


def save_new_session(request):
    """Save the session this request began, now: called inside the transaction of the write
    that began it, its row is written with that write, not in a transaction of its own after
    the view; SessionMiddleware then only sends the cookie."""
    session = request.session
    if session.session_key is None and session.modified:
        session.create_within_write()


class SessionStore(CachedDBStore):
    def _get_new_session_key(self):
        # No lookup first: 32 random characters do not repeat, and if they ever did, the
        # insert that `create()` makes would refuse the key and it would draw another.
        # Drawn as one number, which gives each key the same chance as drawing each
        # character does (get_random_string), for one call to the system's random source.
        number = secrets.randbelow(SESSION_KEYS)
        characters = []
        for _ in range(SESSION_KEY_LENGTH):
            number, index = divmod(number, len(VALID_KEY_CHARS))
            characters.append(VALID_KEY_CHARS[index])
        return "".join(characters)

    def load(self):
        try:
            return super().load()
        except CACHE_ERRORS as error:  # the database answered; storing it in the cache failed
            _cache_failed(error)
            return self._load_from_database()

    # (session key, data) as last saved by this request, once that save has committed.
    _saved_as = None

    def save(self, must_create=False):
        if self.session_key is None:
            # create() draws a key and saves through here once: the cached copy is written
            # then, not a second time on the way back.
            return self.create()
        data = self._get_session(no_load=must_create)
        if not must_create and self._saved_as == (self.session_key, data):
            return  # saved already in this request's own write (`save_new_session`)
        super(CachedDBStore, self).save(must_create)  # the database first, as cached_db does
        saved = (self.session_key, dict(data))
        self._cache_copy(*saved)
        transaction.on_commit(lambda: self._note_saved(*saved))

    def create_within_write(self):
        """`create()` inside the transaction of the write that began the session. A new key
        of 32 random characters does not repeat, so its insert needs no savepoint to draw
        another key from. The cached copy is written once the write commits: the database's
        write lock is not held meanwhile, and a session rolled back is never cached."""
        self._session_key = self._get_new_session_key()
        data = self._get_session(no_load=True)
        row = prepared_insert(self.create_model_instance(data))
        self.modified = True
        saved = (self.session_key, dict(data))
        transaction.on_commit(
            lambda: (self._cache_copy(*saved), self._note_saved(*saved)), using=row._state.db
        )

    def _cache_copy(self, session_key, data):
        try:
            self._cache.set(self.cache_key_prefix + session_key, data, self.get_expiry_age())
        except CACHE_ERRORS as error:
            _cache_failed(error)

    def _note_saved(self, session_key, data):
        self._saved_as = (session_key, data)

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
