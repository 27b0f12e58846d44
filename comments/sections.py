"""Context for the reader discussion blocks that the article page renders."""


def discussion_context(request, article):
    """Everything the article page needs to render its poll(s) and comment section."""
    return {}
