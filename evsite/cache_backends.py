"""The disk cache used when there is no Redis (evsite/settings.py)."""

from diskcache import DjangoCache


class DiskCache(DjangoCache):
    """diskcache's Django backend, keeping its SQLite connections open between requests.

    Django closes every cache at the end of each request; for diskcache that means opening
    each shard's database again, with its pragmas, on the next one (about 9 ms a request).
    The connections belong to this process and stay valid, so they are kept.
    """

    def close(self, **kwargs):
        pass
