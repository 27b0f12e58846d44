"""Who is reading: a signed-in user, or a guest known by a random token in their session.

Every feature (comments, helpful marks, reports, votes) asks the same `Reader` whose rows
are whose and what it may see; services take it as `reader=`.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

READER_TOKEN_SESSION_KEY = "evr_reader_token"


def reader_token(request, *, create=True):
    """The guest's token, created on first use. Signed-in users are identified by account."""
    token = request.session.get(READER_TOKEN_SESSION_KEY, "")
    if not token and create:
        token = secrets.token_hex(16)
        request.session[READER_TOKEN_SESSION_KEY] = token
    return token


def can_moderate(user):
    """Moderators see held comments and may change any comment's status."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("comments.change_comment")
    )


def reader_cache_scope(request):
    """The name of this session reader's own page copies (evsite/caching.py), or None for
    staff, whose pages are always rendered afresh."""
    user = request.user
    if user.is_authenticated and user.is_staff:
        return None
    if user.is_authenticated:
        return f"reader:user:{user.pk}"
    return guest_cache_scope(request.session)


def guest_cache_scope(session):
    """`reader_cache_scope` for a session that is not signed in."""
    token = session.get(READER_TOKEN_SESSION_KEY, "")
    return f"reader:guest:{token}" if token else "reader:session"


def client_ip(request):
    """The client's address; behind N trusted proxies, the Nth address from the right of
    X-Forwarded-For (the leftmost entries are whatever the client chose to send)."""
    proxies = settings.EVR_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [ip.strip() for ip in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [ip for ip in forwarded if ip]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def ip_hash(request):
    """A salted hash of the client's address: enough to rate-limit, never the address itself."""
    salt = settings.EVR_IP_HASH_SALT.encode()
    return hmac.new(salt, client_ip(request).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reader:
    """One reader: the signed-in `user`, or else the guest known by `token` (empty for a guest
    who has not written anything yet, and so owns nothing)."""

    user: object = None
    token: str = ""
    token_is_new: bool = False  # given to this guest by this request: they own nothing yet
    ip_hash: str = ""
    is_moderator: bool = False
    is_staff: bool = False
    guests_allowed: bool = True
    # In development, the address they reached the site at ("http://127.0.0.1:8731"), for
    # links in the emails their writes cause. Empty in production, where those links use
    # EVR_SITE_URL: the Host header one reader sends must not choose the links another is
    # mailed.
    site_url: str = ""

    @classmethod
    def from_request(cls, request, *, create_token=False):
        """This request's reader. `create_token` gives a guest a token now, for a write that
        must be theirs (a comment, a mark, a report or a vote)."""
        user = request.user if request.user.is_authenticated else None
        held = "" if user else request.session.get(READER_TOKEN_SESSION_KEY, "")
        token = "" if user else reader_token(request, create=create_token)
        return cls(
            user=user,
            token=token,
            token_is_new=token != held,
            ip_hash=ip_hash(request),
            is_moderator=can_moderate(user),
            is_staff=bool(user and user.is_staff),
            guests_allowed=settings.EVR_GUEST_COMMENTS,
            site_url=request.build_absolute_uri("/").rstrip("/") if settings.DEBUG else "",
        )

    @property
    def is_guest(self):
        return self.user is None

    @property
    def can_post(self):
        return self.user is not None or self.guests_allowed

    def lookup(self):
        """Keyword arguments that select this reader's rows, or None for a guest without a
        token."""
        if self.user is not None:
            return {"user": self.user}
        if self.token:
            return {"user__isnull": True, "reader_token": self.token}
        return None

    def rows(self):
        """A Q that selects this reader's rows (comments, marks, votes); none for a new guest.

        A guest's Q repeats the condition of the partial unique indexes on (…, reader_token)
        word for word: SQLite uses a partial index only for a query that states its
        condition."""
        lookup = self.lookup()
        if lookup is None:
            return Q(pk__in=[])
        if self.user is not None:
            return Q(**lookup)
        return Q(**lookup) & ~Q(reader_token="")

    def owns(self, row):
        if self.user is not None:
            return row.user_id == self.user.pk
        return bool(self.token) and row.user_id is None and row.reader_token == self.token

    def new_row_fields(self):
        """Field values that mark a new row as this reader's."""
        if self.user is None and not self.token:
            raise ValueError("A guest's row needs a reader token.")
        return {"user": self.user, "reader_token": "" if self.user is not None else self.token}

    @property
    def owns_nothing(self):
        """A guest without a token, or given one by this request: no row is theirs yet."""
        return self.lookup() is None or self.token_is_new

    @property
    def own_versions(self):
        """The version names a write of theirs moves on for them: none for a guest new to
        the site, who has no pages of their own kept."""
        return () if self.token_is_new else (self.version_name,)

    @property
    def version_name(self):
        """The name of this reader's own cache version, as `reader_cache_scope` names it:
        their writes move it on, so that their copy of a page shows what they just did."""
        if self.user is not None:
            return f"reader:user:{self.user.pk}"
        return f"reader:guest:{self.token}" if self.token else "reader:session"

    def rate_limit_identities(self):
        """Who an attempt counts against: the address, and the account or guest session."""
        identities = [f"ip:{self.ip_hash}"] if self.ip_hash else []
        if self.user is not None:
            identities.append(f"user:{self.user.pk}")
        elif self.token:
            identities.append(f"reader:{self.token}")
        return identities
