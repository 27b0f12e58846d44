"""Reader comments are plain text: this cleans what readers send (comment text, display
names, report notes) of characters that hide or disguise words, and turns comment text into
safe HTML for display.

What cleaning takes out, and why:

- Bidi overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069, and the deprecated
  U+206A–U+206F): they reorder what follows, so U+202E then "nimda" reads as "admin".
- Zero-width and invisible characters (U+200B, U+2060–U+2064, U+FEFF, U+180E, U+FFF9–U+FFFB):
  they hide inside words (past the banned-words list) or make a name that shows nothing.
- Control characters: none in names and notes; in comment text only line breaks (any kind
  becomes "\n") and tabs are kept. Terminal escapes and NUL go.
- Tag characters (U+E0000–U+E007F) outside an emoji flag sequence: invisible ASCII.

Comment text keeps the bidi marks (U+200E, U+200F, U+061C): readers writing Hebrew or Arabic
need them to place punctuation and numbers, and unlike overrides they cannot reorder strong
letters. It keeps the joiners (U+200C, U+200D) only between two visible non-ASCII characters,
where they spell Persian and Indic words and join emoji into one picture; anywhere else they go.
Display names keep no format character at all: a name is an identity, and must look like
what it is.
"""

import re
import unicodedata

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# The links shown are exactly the links the moderation rules count.
from .moderation import URL_PATTERN

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") | frozenset(
    chr(code) for code in range(0x206A, 0x2070)
)
INVISIBLE = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\ufff9\ufffa\ufffb")
JOINERS = frozenset("\u200c\u200d")
LINE_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")
TEXT_CONTROLS_KEPT = frozenset("\n\t")
BLACK_FLAG = "\U0001f3f4"  # tag characters after it spell a subdivision flag (Scotland's)
# Letters and symbols by their Unicode category that show nothing.
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")


def _is_tag(character):
    return 0xE0000 <= ord(character) <= 0xE007F


def _joins(character):
    """A character a joiner may stand next to: visible and not ASCII."""
    return (
        character is not None
        and ord(character) > 0x7F
        and unicodedata.category(character)[0] not in "CZ"
    )


def clean_comment_text(text):
    """Comment text without the characters that hide or disguise words (see the module)."""
    text = LINE_BREAKS.sub("\n", str(text))
    kept = []
    for index, character in enumerate(text):
        if character in BIDI_CONTROLS or character in INVISIBLE:
            continue
        category = unicodedata.category(character)
        if category == "Cc" and character not in TEXT_CONTROLS_KEPT:
            continue
        if character in JOINERS:
            following = text[index + 1] if index + 1 < len(text) else None
            if not (kept and _joins(kept[-1]) and _joins(following)):
                continue
        if _is_tag(character) and not (kept and (kept[-1] == BLACK_FLAG or _is_tag(kept[-1]))):
            continue
        kept.append(character)
    return "".join(kept)


def clean_line(text):
    """One line of text (a report note): comment text cleaning, on a single line."""
    return " ".join(clean_comment_text(text).split())


def clean_display_name(name):
    """A display name with no control or format character at all (bidi marks, joiners,
    zero-width characters), every kind of space as one plain space."""
    kept = []
    for character in str(name):
        if character.isspace():
            kept.append(" ")
        elif unicodedata.category(character) not in ("Cc", "Cf"):
            kept.append(character)
    return " ".join("".join(kept).split())


def shows_something(text):
    """True when `text` has a character that shows: a letter, number, punctuation or symbol
    that is not blank (marks, spaces and format characters alone show nothing)."""
    return any(
        unicodedata.category(character)[0] in "LNPS" and character not in BLANK_GLYPHS
        for character in text
    )


def _name_key(name):
    return " ".join(name.split()).lower()


class NameLinks:
    """Names that comment text links to an address (car models and their aliases, kept by
    editors in the admin): as whole words in any letter case, so "Leaf" links in "the Leaf's
    range" but not in "leafy", and the longest name first, so "Renault 5 E-Tech" is one link
    rather than "5 E-Tech" inside it. Spaces in a name match any run of spaces."""

    MIN_LENGTH = 2  # a one-character name would link every "5" or "e"

    def __init__(self, names):
        """`names`: (name, url) pairs; the first url given for a name wins."""
        self.urls = {}
        for name, url in names:
            key = _name_key(name)
            if len(key) >= self.MIN_LENGTH:
                self.urls.setdefault(key, url)
        alternatives = "|".join(
            r"\s+".join(re.escape(word) for word in key.split())
            for key in sorted(self.urls, key=len, reverse=True)
        )
        self.pattern = (
            re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if self.urls else None
        )

    def __bool__(self):
        return self.pattern is not None

    def html(self, text):
        """`text` escaped, each name in it a link."""
        if self.pattern is None:
            return escape(text)
        parts = []
        position = 0
        for match in self.pattern.finditer(text):
            url = self.urls.get(_name_key(match.group(0)))
            if url is None:  # matched only under a case rule the lookup does not share
                continue
            parts.append(escape(text[position : match.start()]))
            parts.append(format_html('<a class="model-link" href="{}">{}</a>', url, match.group(0)))
            position = match.end()
        parts.append(escape(text[position:]))
        return "".join(parts)


def linkify(text, names=None):
    """Escape `text` and turn each web address in it into a link, and each of `names` (a
    `NameLinks`) outside those addresses into a link to its page."""
    outside_links = names.html if names else escape
    parts = []
    position = 0
    for match in URL_PATTERN.finditer(text):
        url = match.group(0)
        href = url if "://" in url else f"https://{url}"
        parts.append(outside_links(text[position : match.start()]))
        parts.append(format_html('<a href="{}" rel="nofollow ugc noopener">{}</a>', href, url))
        position = match.end()
    parts.append(outside_links(text[position:]))
    return "".join(parts)


def render_plain_text(text, names=None) -> SafeString:
    """Paragraphs for blank lines, <br> for single line breaks, links for URLs and for
    `names` (a `NameLinks`); all escaped.

    Text saved before the forms cleaned it is cleaned here too."""
    text = clean_comment_text(text).strip()
    paragraphs = [paragraph for paragraph in PARAGRAPH_BREAK.split(text) if paragraph.strip()]
    return mark_safe(
        "".join(
            "<p>" + "<br>".join(linkify(line, names) for line in paragraph.split("\n")) + "</p>"
            for paragraph in paragraphs
        )
    )
