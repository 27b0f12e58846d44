"""Fixed-window rate limits kept in the cache, so every worker process counts the same attempts.

Each (action, identity, window) pair has one counter per window, e.g. the comments posted by
user 7 between 12:03:00 and 12:04:00. An attempt is counted first (`cache.incr` is atomic in
Redis) and taken back if it went over any limit, so concurrent attempts can never all slip
through, and refused attempts do not use up the reader's allowance.
"""

import contextlib
import math
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache


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
        count = _increment(key, timeout=window)
        counted.append(key)
        if count > maximum:
            wait = max(1, math.ceil(window - now % window))
            retry_after = max(retry_after or 0, wait)
    if retry_after is not None:
        for key in counted:
            _decrement(key)
    return retry_after


def comment_rate_limit_retry_after(reader) -> int | None:
    """Count a comment posting attempt per account, per guest session and per address."""
    limits = [(settings.EVR_COMMENTS_PER_MINUTE, 60), (settings.EVR_COMMENTS_PER_HOUR, 60 * 60)]
    return rate_limit_retry_after("comment", reader.rate_limit_identities(), limits)


def _increment(key, *, timeout):
    for _ in range(3):
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:
            # The counter expired or was evicted between add and incr: start it again.
            continue
    return 1


def _decrement(key):
    with contextlib.suppress(ValueError):  # already expired: nothing left to take back
        cache.decr(key)
