"""The Redis backend's counters: what a version bump and a rate limit rely on."""

import os
import uuid

import pytest

from evsite.cache_backends import RedisCache

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL is not set: the Redis backend needs a Redis server (CI sets it).",
)


@pytest.fixture
def redis_cache():
    backend = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": f"evr-test-{uuid.uuid4().hex}"})
    yield backend
    backend.delete_many(["count", "missing", "version"])


def test_incr_adds_to_a_counter_and_answers_its_new_value(redis_cache):
    redis_cache.set("count", 5)
    assert redis_cache.incr("count") == 6
    assert redis_cache.incr("count", 3) == 9
    assert redis_cache.decr("count", 2) == 7
    assert redis_cache.get("count") == 7


def test_incr_of_a_missing_key_raises_and_does_not_start_it(redis_cache):
    with pytest.raises(ValueError):
        redis_cache.incr("missing")
    assert redis_cache.get("missing") is None


def test_a_version_made_from_the_clock_moves_on_exactly(redis_cache):
    started = 1_796_649_265_899_115_135  # a time.time_ns() value, past a double's precision
    redis_cache.set("version", started, timeout=None)
    assert redis_cache.incr("version") == started + 1
    assert redis_cache.get("version") == started + 1


def test_incr_is_one_round_trip(redis_cache, monkeypatch):
    redis_cache.set("count", 1)
    redis_cache.incr("count")  # the server learns the script once
    client = redis_cache._cache.get_client(redis_cache.make_key("count"), write=True)
    commands = []
    original = type(client).execute_command

    def counted(self, *args, **options):
        commands.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(type(client), "execute_command", counted)
    redis_cache.incr("count")
    assert commands == ["EVALSHA"]  # the script's digest, not its text


def test_incr_still_counts_after_the_server_forgot_its_scripts(redis_cache):
    redis_cache.set("count", 1)
    redis_cache.incr("count")
    redis_cache._cache.get_client(redis_cache.make_key("count"), write=True).script_flush()

    assert redis_cache.incr("count") == 3
