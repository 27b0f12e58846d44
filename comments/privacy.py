"""What only superusers may read, how the admin keeps it from everyone else, and the erasure
of a guest's email on request.

Private: the email a guest left, the salted address hashes (`ip_hash`), guest tokens
(`reader_token`) and account passwords (and emails). For staff who are not superusers,
`HidesPrivateFields` keeps them out of every way the admin reads data: the change pages
(fieldsets), the changelist's columns (and so its `?o=` ordering), search fields and list
filters, and URL lookups (`?email__startswith=`, `?user__email=`, `?_to_field=email`...), which
are refused as Django refuses any disallowed lookup (a 400), whatever the value. The comment
exports leave them out on their own (`admin/comments.py`); history records what changed,
never a private value.
"""

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.db.models import Q
from django.db.models.constants import LOOKUP_SEP
from django.db.models.expressions import F

from .models import Comment

PRIVATE_FIELDS = frozenset({"email", "ip_hash", "reader_token", "password"})
# Lookups that run a pattern taken from the URL: a broken one is a database error (a 500) and a
# costly one ties up the database. Staff filter with the list filters and search instead.
PATTERN_LOOKUPS = frozenset({"regex", "iregex"})
SEARCH_PREFIXES = "^=@"

GUEST_EMAIL_ERASED = "Erased the guest’s email on request."


def may_read_private(user):
    return bool(user.is_active and user.is_superuser)


def names_private(path, private=PRIVATE_FIELDS):
    """Whether a lookup, ordering or search path names a private field anywhere on its way:
    "email__startswith", "user__email", "-ip_hash", "^email"."""
    name = path.lstrip("-" + SEARCH_PREFIXES)
    return any(part in private for part in name.split(LOOKUP_SEP))


def _ordering_names(ordering):
    """The field paths an `admin_order_field` (a path, an F() or another expression) sorts by."""
    if ordering is None:
        return []
    if isinstance(ordering, str):
        return [ordering]
    if isinstance(ordering, F):
        return [ordering.name]
    if hasattr(ordering, "flatten"):
        return [node.name for node in ordering.flatten() if isinstance(node, F)]
    return []


def _without(fields, hidden):
    kept = []
    for field in fields:
        if isinstance(field, (list, tuple)):
            row = tuple(name for name in field if name not in hidden)
            if row:
                kept.append(row)
        elif field not in hidden:
            kept.append(field)
    return kept


class HidesPrivateFields:
    """Admin mixin (ModelAdmin or inline, listed first): private fields, and this admin's own
    `private_fields` (display methods that show one), exist only for superusers."""

    private_fields = ()

    def hidden_names(self, request):
        if may_read_private(request.user):
            return frozenset()
        return PRIVATE_FIELDS | frozenset(self.private_fields)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        hidden = self.hidden_names(request)
        if not hidden:
            return fieldsets
        kept = []
        for name, options in fieldsets:
            fields = _without(options.get("fields", ()), hidden)
            if fields:
                kept.append((name, {**options, "fields": fields}))
        return kept

    def _column_reveals(self, column, hidden):
        if isinstance(column, str):
            if names_private(column, hidden):
                return True
            column = getattr(self, column, None) or getattr(self.model, column, None)
        ordering = getattr(column, "admin_order_field", None)
        return any(names_private(name, hidden) for name in _ordering_names(ordering))

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        hidden = self.hidden_names(request)
        if not hidden:
            return columns
        return [column for column in columns if not self._column_reveals(column, hidden)]

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        hidden = self.hidden_names(request)
        if not hidden:
            return fields
        return [field for field in fields if not names_private(field, hidden)]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        hidden = self.hidden_names(request)
        if not hidden:
            return filters

        def reveals(item):
            if isinstance(item, (list, tuple)):
                item = item[0]
            name = getattr(item, "parameter_name", item)
            return isinstance(name, str) and names_private(name, hidden)

        return [item for item in filters if not reveals(item)]

    def lookup_allowed(self, lookup, value, request=None):
        refused = names_private(lookup) or lookup.split(LOOKUP_SEP)[-1] in PATTERN_LOOKUPS
        if refused and (request is None or not may_read_private(request.user)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        if names_private(to_field) and not may_read_private(request.user):
            return False
        return super().to_field_allowed(request, to_field)


@transaction.atomic
def guest_emails_erase(*, comments, moderator):
    """Blank the email on `comments` (a queryset) and on every other comment by the same guests
    (the same guest token). Returns how many comments that covers, whether or not each had an
    email (so the answer says nothing about the emails). Each is recorded in its history by
    `moderator`, without the address."""
    selected = list(comments.values_list("pk", "reader_token"))
    tokens = {token for _, token in selected if token}
    covered = Comment.objects.filter(
        Q(pk__in=[pk for pk, _ in selected]) | Q(reader_token__in=tokens)
    )
    erased = list(covered.select_related(None).only("pk", "author_name", "body").order_by("pk"))
    if not erased:
        return 0
    Comment.objects.filter(pk__in=[comment.pk for comment in erased]).update(email="")
    LogEntry.objects.log_actions(
        moderator.pk, erased, CHANGE, GUEST_EMAIL_ERASED, single_object=False
    )
    return len(erased)
