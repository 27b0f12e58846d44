"""Reader comments are plain text: this turns them into safe HTML for display."""

import re

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# The links shown are exactly the links the moderation rules count.
from .moderation import URL_PATTERN

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def linkify(text):
    """Escape `text` and turn each web address in it into a link."""
    parts = []
    position = 0
    for match in URL_PATTERN.finditer(text):
        url = match.group(0)
        href = url if "://" in url else f"https://{url}"
        parts.append(escape(text[position : match.start()]))
        parts.append(format_html('<a href="{}" rel="nofollow ugc noopener">{}</a>', href, url))
        position = match.end()
    parts.append(escape(text[position:]))
    return "".join(parts)


def render_plain_text(text) -> SafeString:
    """Paragraphs for blank lines, <br> for single line breaks, links for URLs; all escaped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [paragraph for paragraph in PARAGRAPH_BREAK.split(text) if paragraph.strip()]
    return mark_safe(
        "".join(
            "<p>" + "<br>".join(linkify(line) for line in paragraph.split("\n")) + "</p>"
            for paragraph in paragraphs
        )
    )
