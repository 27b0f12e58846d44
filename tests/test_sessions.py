"""Sessions: their keys, and a new guest's session written with their first write."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.db import transaction

from evsite.sessions import SessionStore


def test_a_new_session_key_is_32_characters_of_the_keys_alphabet_and_never_repeats():
    keys = [SessionStore()._get_new_session_key() for _ in range(2000)]
    assert all(len(key) == 32 and set(key) <= set(VALID_KEY_CHARS) for key in keys)
    assert len(set(keys)) == len(keys)
    assert len({character for key in keys for character in key}) == len(VALID_KEY_CHARS)


def test_a_session_created_within_a_write_is_stored_and_cached_at_once(
    db, django_assert_num_queries
):
    with transaction.atomic():
        session = SessionStore()
        session["evr_reader_token"] = "t" * 32
        session.create_within_write()
    assert Session.objects.filter(session_key=session.session_key).exists()

    with django_assert_num_queries(0):
        assert SessionStore(session.session_key).load() == {"evr_reader_token": "t" * 32}
