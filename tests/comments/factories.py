from datetime import timedelta

from django.utils import timezone

from comments.models import Comment


def add_comment(article, body="A comment.", parent=None, minutes_ago=0, **fields):
    """A comment saved straight to the database, as an existing discussion has them."""
    fields.setdefault("author_name", "Someone")
    if fields.get("user") is None:
        fields.setdefault("reader_token", "other-reader")
    fields.setdefault("created_at", timezone.now() - timedelta(minutes=minutes_ago))
    return Comment.objects.create(
        article=article,
        parent=parent,
        depth=parent.depth + 1 if parent else 0,
        body=body,
        **fields,
    )
