"""Sessions: their keys, and a new guest's session written with their first write."""

import pytest
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.models import Session
from django.db import transaction

from evsite.sessions import SessionStore


def test_a_new_session_key_is_32_characters_of_the_keys_alphabet_and_never_repeats():
    keys = [SessionStore()._get_new_session_key() for _ in range(2000)]
    assert all(len(key) == 32 and set(key) <= set(VALID_KEY_CHARS) for key in keys)
    assert len(set(keys)) == len(keys)
    assert len({character for key in keys for character in key}) == len(VALID_KEY_CHARS)


def test_a_session_created_within_a_write_is_stored_and_cached_once_it_commits(
    db, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        session = SessionStore()
        session["evr_reader_token"] = "t" * 32
        session.create_within_write()
        assert not session._cache.has_key(session.cache_key)  # not before the commit
    assert Session.objects.filter(session_key=session.session_key).exists()

    with django_assert_num_queries(0):
        assert SessionStore(session.session_key).load() == {"evr_reader_token": "t" * 32}


def test_a_session_whose_write_rolls_back_is_neither_stored_nor_cached(
    db, django_capture_on_commit_callbacks
):
    session = SessionStore()
    session["evr_reader_token"] = "t" * 32
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        session.create_within_write()
        raise RuntimeError("the vote failed")
    assert not Session.objects.filter(session_key=session.session_key).exists()
    assert not session._cache.has_key(session.cache_key)
    assert SessionStore(session.session_key).load() == {}
