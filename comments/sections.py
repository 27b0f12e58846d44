"""Context for the reader discussion blocks that the article page renders."""

from .comment_sections import comment_section_context
from .poll_sections import poll_section_context


def discussion_context(request, article):
    """Everything the article page needs to render its polls and its comment section."""
    return {**poll_section_context(request, article), **comment_section_context(request, article)}
