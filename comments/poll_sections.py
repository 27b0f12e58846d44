"""Context for the article page's poll block."""

from django.utils import timezone

from .poll_results import build_panel, is_poll_editor, polls_with_counts, reader_choice_ids


def poll_section_context(request, article):
    """The article's open and closed polls as this reader sees them, in three queries."""
    now = timezone.now()
    polls = list(polls_with_counts().filter(article=article, opens_at__lte=now))
    chosen = reader_choice_ids(request, polls)
    is_editor = is_poll_editor(request.user)
    return {
        "poll_panels": [
            build_panel(poll, reader_choice_id=chosen.get(poll.pk), is_editor=is_editor, now=now)
            for poll in polls
        ]
    }
