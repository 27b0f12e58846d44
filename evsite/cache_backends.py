"""The cache backends: a disk cache when there is no Redis, and Redis (evsite/settings.py)."""

from diskcache import DjangoCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.commands.core import Script


class DiskCache(DjangoCache):
    """diskcache's Django backend, keeping its SQLite connections open between requests.

    Django closes every cache at the end of each request; for diskcache that means opening
    each shard's database again, with its pragmas, on the next one (about 9 ms a request).
    The connections belong to this process and stay valid, so they are kept.
    """

    def close(self, **kwargs):
        pass


# Add to the number at KEYS[1] if it is there, and give it back as text (Lua's numbers are
# doubles, which would round a version made from the clock); nil if it is not there.
INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[1])
  return redis.call('GET', KEYS[1])
end
return false
"""
# Sent by its digest (EVALSHA), and loaded again if the server has lost it (a restart).
_incr_existing = Script(None, INCR_EXISTING.encode())


class OneTripRedisCacheClient(RedisCacheClient):
    def incr(self, key, delta):
        # Django asks whether the key exists, then adds: two round trips for each version
        # a write moves on. One script does both at once.
        value = _incr_existing(keys=[key], args=[delta], client=self.get_client(key, write=True))
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return int(value)


class RedisCache(DjangoRedisCache):
    """Django's Redis backend, adding to a counter in one round trip."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneTripRedisCacheClient
