"""Fixed-window rate limits kept in the cache, so every worker process counts the same attempts.

Each (action, identity, window) pair has one counter per window, e.g. the comments posted by
user 7 between 12:03:00 and 12:04:00. An attempt is counted first (`cache.incr` is atomic in
Redis) and taken back if it went over any limit, so concurrent attempts can never all slip
through, and refused attempts do not use up the reader's allowance.

When the shared cache cannot answer (Redis down or unreachable, a file cache that cannot be
written), the counters are kept in this worker process instead, so readers can still post:
each worker then allows the limits on its own, a little more in all, never none. One warning
is logged when that starts, one when the shared cache is back; in between the cache is tried
again every `RETRY_SHARED_AFTER` seconds, not on every attempt.
"""

import contextlib
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterable

from diskcache import Timeout as DiskCacheTimeout
from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaultfilters import pluralize
from redis.exceptions import RedisError

from .refusals import Refused

logger = logging.getLogger(__name__)

# What a cache backend raises when it cannot answer: Redis errors; the disk cache's SQLite
# errors and lock timeouts; OSError from files and sockets. ValueError is not among them:
# `incr` says "no such key" with it.
CACHE_ERRORS = (RedisError, sqlite3.Error, DiskCacheTimeout, OSError)
RETRY_SHARED_AFTER = 30


def rate_limit_retry_after(
    action: str, identities: Iterable[str], limits: Iterable[tuple[int, int]]
) -> int | None:
    """Count one `action` attempt for every identity; return seconds to wait if over a limit.

    `identities` are strings such as "user:7" or "ip:<hash>" (empty ones are skipped);
    `limits` are (maximum attempts, window in seconds) pairs; a maximum of 0 or less is no limit.
    Over any limit, nothing is counted and the answer is the longest wait among those limits.
    """
    now = time.time()
    limits = [(maximum, window) for maximum, window in limits if maximum > 0]
    counters = [
        (f"ratelimit:{action}:{identity}:{window}:{int(now // window)}", maximum, window)
        for identity in identities
        if identity
        for maximum, window in limits
    ]
    counted = []
    retry_after = None
    for key, maximum, window in counters:
        store, count = _count(key, timeout=window)
        counted.append((store, key))
        if count > maximum:
            wait = max(1, math.ceil(window - now % window))
            retry_after = max(retry_after or 0, wait)
    if retry_after is not None:
        for store, key in counted:
            store.decrement(key)
    return retry_after


def refuse_over_limit(action, reader, limits, message, *, about=None):
    """Count one `action` by this reader against `limits`, (setting, default, window in
    seconds) triples; over one, refuse with 429 and `message`, formatted with the
    `seconds` to wait and their `plural` ending."""
    limits = [(getattr(settings, name, default), window) for name, default, window in limits]
    retry_after = rate_limit_retry_after(action, reader.rate_limit_identities(), limits)
    if retry_after is not None:
        message = message.format(seconds=retry_after, plural=pluralize(retry_after))
        raise Refused(message, status=429, about=about, retry_after=retry_after)


def comment_rate_limit_retry_after(reader) -> int | None:
    """Count a comment posting attempt per account, per guest session and per address."""
    limits = [(settings.EVR_COMMENTS_PER_MINUTE, 60), (settings.EVR_COMMENTS_PER_HOUR, 60 * 60)]
    return rate_limit_retry_after("comment", reader.rate_limit_identities(), limits)


def _count(key, *, timeout):
    """Count one attempt under `key`: (the store that counted it, the count now)."""
    if shared.usable():
        try:
            return shared, shared.increment(key, timeout=timeout)
        except CACHE_ERRORS as error:
            shared.failed(error)
    return local, local.increment(key, timeout=timeout)


class SharedCounters:
    """Counters in the shared cache, and whether it is answering."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.down_since = None  # time.time() of the failure that sent counting to `local`
        self.retry_at = 0.0

    def usable(self):
        return self.down_since is None or time.time() >= self.retry_at

    def failed(self, error):
        now = time.time()
        if self.down_since is None:
            self.down_since = now
            logger.warning(
                "Rate limits: the shared cache cannot answer (%s: %s); counting in this "
                "process until it does (trying it again every %s seconds)",
                type(error).__name__,
                error,
                RETRY_SHARED_AFTER,
            )
        self.retry_at = now + RETRY_SHARED_AFTER

    def increment(self, key, *, timeout):
        count = self._increment(key, timeout=timeout)
        if self.down_since is not None:
            logger.warning(
                "Rate limits: the shared cache answers again after %d seconds; counting there",
                time.time() - self.down_since,
            )
            self.down_since = None
        return count

    def _increment(self, key, *, timeout):
        for _ in range(3):
            cache.add(key, 0, timeout=timeout)
            try:
                return cache.incr(key)
            except ValueError:
                # The counter expired or was evicted between add and incr: start it again.
                continue
        return 1

    def decrement(self, key):
        try:
            cache.decr(key)
        except ValueError:
            pass  # already expired: nothing left to take back
        except CACHE_ERRORS as error:
            self.failed(error)  # the attempt stays counted: a little stricter, never looser


class LocalCounters:
    """Fixed-window counters in this process's memory (thread-safe), for while the shared
    cache cannot answer. Expired counters are dropped now and then."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counters = {}  # key: [count, expires at]
        self.next_sweep = 0.0

    def increment(self, key, *, timeout):
        now = time.time()
        with self.lock:
            if now >= self.next_sweep:
                self.counters = {k: v for k, v in self.counters.items() if v[1] > now}
                self.next_sweep = now + 60
            entry = self.counters.get(key)
            if entry is None or entry[1] <= now:
                entry = self.counters[key] = [0, now + timeout]
            entry[0] += 1
            return entry[0]

    def decrement(self, key):
        with self.lock, contextlib.suppress(KeyError):
            self.counters[key][0] -= 1

    def clear(self):
        with self.lock:
            self.counters.clear()


shared = SharedCounters()
local = LocalCounters()


@receiver(setting_changed)
def _start_afresh_with_other_caches(*, setting, **kwargs):
    """Another cache configuration (tests override CACHES) starts with the shared cache
    answering and nothing counted in the worker."""
    if setting == "CACHES":
        shared.reset()
        local.clear()
