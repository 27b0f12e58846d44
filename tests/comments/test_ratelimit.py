import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from comments import ratelimit
from comments.ratelimit import comment_rate_limit_retry_after, rate_limit_retry_after
from comments.readers import READER_TOKEN_SESSION_KEY, Reader

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def attempt(identities=("user:1",), limits=((3, 60),), action="test"):
    return rate_limit_retry_after(action, identities, limits)


def test_allows_the_limit_then_says_how_long_to_wait(clock):
    assert [attempt() for _ in range(3)] == [None, None, None]
    assert attempt() == 45
    clock.now += 44.5
    assert attempt() == 1
    clock.now += 0.5
    assert attempt() is None


def test_refused_attempts_do_not_use_up_the_allowance(clock):
    limits = ((2, 60), (3, 3600))
    assert [attempt(limits=limits) for _ in range(2)] == [None, None]
    assert attempt(limits=limits) == 45
    assert attempt(limits=limits) == 45
    clock.now += 60
    assert attempt(limits=limits) is None
    assert attempt(limits=limits) == 3600 - 75


def test_the_longest_wait_wins_when_several_limits_are_full(clock):
    limits = ((1, 60), (1, 3600))
    assert attempt(limits=limits) is None
    assert attempt(limits=limits) == 3600 - 15


def test_any_full_identity_refuses_and_counts_nothing_for_the_others(clock):
    assert [attempt(identities=("ip:shared", "user:1")) for _ in range(3)] == [None] * 3
    assert attempt(identities=("ip:shared", "user:2")) == 45
    assert attempt(identities=("ip:other", "user:2")) is None
    assert attempt(identities=("ip:other", "user:2")) is None
    assert attempt(identities=("ip:other", "user:2")) is None
    assert attempt(identities=("ip:other", "user:2")) == 45


def test_actions_and_empty_identities_are_counted_apart(clock):
    for _ in range(3):
        assert attempt(action="comment") is None
    assert attempt(action="comment") == 45
    assert attempt(action="vote") is None
    assert [attempt(identities=("", "user:9")) for _ in range(3)] == [None] * 3
    assert attempt(identities=("", "user:10")) is None


def test_a_maximum_of_zero_means_no_limit(clock):
    assert all(attempt(limits=((0, 60),)) is None for _ in range(50))


def test_a_counter_that_vanished_starts_again(clock, monkeypatch):
    real_incr = ratelimit.cache.incr
    calls = []

    def incr_after_expiry(key, delta=1, **options):
        calls.append(key)
        if len(calls) == 1:
            ratelimit.cache.delete(key)
        return real_incr(key, delta, **options)

    monkeypatch.setattr(ratelimit.cache, "incr", incr_after_expiry)
    assert attempt(limits=((1, 60),)) is None
    assert attempt(limits=((1, 60),)) == 45


def comment_request(*, user=None, token="", ip="203.0.113.9"):
    request = RequestFactory().post("/comments/", REMOTE_ADDR=ip)
    request.user = user or AnonymousUser()
    request.session = {READER_TOKEN_SESSION_KEY: token} if token else {}
    return Reader.from_request(request)


def test_comment_limits_follow_the_settings(settings, clock, reader):
    settings.EVR_COMMENTS_PER_MINUTE = 2
    settings.EVR_COMMENTS_PER_HOUR = 3
    assert comment_rate_limit_retry_after(comment_request(user=reader)) is None
    assert comment_rate_limit_retry_after(comment_request(user=reader)) is None
    assert comment_rate_limit_retry_after(comment_request(user=reader)) == 45
    clock.now += 60
    assert comment_rate_limit_retry_after(comment_request(user=reader)) is None
    assert comment_rate_limit_retry_after(comment_request(user=reader)) == 3600 - 75


def test_a_signed_in_reader_is_limited_across_addresses(clock, reader):
    for number in range(5):
        request = comment_request(user=reader, ip=f"10.0.0.{number}")
        assert comment_rate_limit_retry_after(request) is None
    assert comment_rate_limit_retry_after(comment_request(user=reader, ip="10.0.1.1")) == 45


def test_a_guest_session_is_limited_across_addresses(clock):
    token = "c" * 32
    for number in range(5):
        request = comment_request(token=token, ip=f"10.0.0.{number}")
        assert comment_rate_limit_retry_after(request) is None
    assert comment_rate_limit_retry_after(comment_request(token=token, ip="10.0.1.1")) == 45
    assert comment_rate_limit_retry_after(comment_request(token="d" * 32, ip="10.0.1.1")) is None


def test_one_address_is_limited_across_accounts_and_sessions(clock, make_user):
    for number in range(5):
        request = comment_request(user=make_user(f"reader-{number}"))
        assert comment_rate_limit_retry_after(request) is None
    assert comment_rate_limit_retry_after(comment_request(token="e" * 32)) == 45
    assert comment_rate_limit_retry_after(comment_request(token="e" * 32, ip="10.9.9.9")) is None


# Across processes: each child configures Django with the cache under test and counts how
# many of its attempts were allowed.
CHILD = """
import sys, time
import django
django.setup()
from comments.ratelimit import rate_limit_retry_after
action, limit, attempts, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
while time.time() < start:
    time.sleep(0.001)
limits = [(limit, 10**9)]  # one window for the whole test, whenever it runs
print(sum(rate_limit_retry_after(action, ["ip:shared"], limits) is None for _ in range(attempts)))
"""


def child_environment(**cache_settings):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "EVR_CACHE_BACKEND", "EVR_CACHE_DIR", "DJANGO_DEBUG"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="evsite.settings",
        DJANGO_SECRET_KEY="insecure-key-for-tests-only",
        **cache_settings,
    )
    return environment


def run_children(environment, *, action, limit, attempts, processes, start_at):
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, action, str(limit), str(attempts), str(start_at)],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    allowed = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        allowed.append(int(out))
    return allowed


def test_the_disk_cache_limit_holds_across_processes(tmp_path):
    environment = child_environment(EVR_CACHE_DIR=str(tmp_path))
    action = f"test-{uuid.uuid4().hex}"
    first = run_children(environment, action=action, limit=5, attempts=3, processes=1, start_at=0)
    second = run_children(environment, action=action, limit=5, attempts=3, processes=1, start_at=0)
    assert (first, second) == ([3], [2])


def test_the_disk_cache_limit_holds_for_concurrent_processes(tmp_path):
    """Without Redis, the workers of one machine share the disk cache's atomic counters."""
    allowed = run_children(
        child_environment(EVR_CACHE_DIR=str(tmp_path)),
        action=f"test-{uuid.uuid4().hex}",
        limit=13,
        attempts=10,
        processes=4,
        start_at=time.time() + 3,
    )
    assert sum(allowed) == 13


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL is not set: the concurrent test needs a Redis server (CI sets it).",
)
def test_the_redis_limit_holds_for_concurrent_processes():
    import redis

    redis_url = os.environ["REDIS_URL"]
    action = f"test-{uuid.uuid4().hex}"
    try:
        allowed = run_children(
            child_environment(REDIS_URL=redis_url),
            action=action,
            limit=13,
            attempts=10,
            processes=4,
            start_at=time.time() + 3,
        )
    finally:
        client = redis.Redis.from_url(redis_url)
        stale = list(client.scan_iter(f"*ratelimit:{action}:*"))
        if stale:
            client.delete(*stale)
    assert sum(allowed) == 13
    assert len([count for count in allowed if count]) > 1
