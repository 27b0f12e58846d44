"""The site's own app: settings each new database connection gets."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _database_session(sender, connection, **kwargs):
    """PostgreSQL: no JIT compilation. Each of the site's queries takes about a millisecond,
    and one whose estimated cost passes jit_above_cost (a count with a subquery) took some
    20 ms to compile each time it ran. Set for each new connection rather than as a startup
    option, which connection poolers such as PgBouncer refuse."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")


class SiteConfig(AppConfig):
    name = "evsite"
    verbose_name = "EV Reader"

    def ready(self):
        connection_created.connect(_database_session, dispatch_uid="evsite-database-session")
