"""The rules that publish, hold or refuse a new comment, and who may moderate.

Refusals come first, because a refused comment is not saved and the form keeps the text so the
reader can change it and post again. A comment that is saved but held waits for a moderator and
is shown only to its author and to moderators.

- A banned reader, the same text twice within an hour, and a form sent faster than a person
  types are refused with a message. A person who was too fast loses nothing: the form comes
  back with the text and its timestamp (forms.CommentForm.restamp), and posting again a
  moment later works.
- A filled honeypot (a field people never see) is a bot: the comment is saved as spam.
- More than two links, a banned word, a guest's first comment with a link, pre-moderation
  (site-wide or for this reader) hold the comment as pending, with every reason that applied.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from evsite.prepared import prepared_rows

from .models import BannedWord, Comment, ReaderControl

# What the comment text turns into links: http(s):// URLs and bare www. hosts. A URL ends
# before whitespace, quotes or angle brackets, and never on trailing punctuation. Parentheses
# belong to it only in balanced pairs (nested once), so ".../wiki/Foo_(bar)" is one link and
# "(see https://example.com)" leaves the closing one out. Each alternative starts with its own
# kind of character, so matching never backtracks more than one step at a time.
_URL_CHARACTER = r"[^\s<>\"'`()]"
_URL_PARENTHESES = rf"\((?:{_URL_CHARACTER}|\({_URL_CHARACTER}*\))*\)"
_URL_LAST_CHARACTER = r"[^\s<>\"'`().,;:!?\]}]"
URL_PATTERN = re.compile(
    rf"(?<![\w@/.-])(?:https?://|www\.)(?:{_URL_CHARACTER}|{_URL_PARENTHESES})*"
    rf"(?:{_URL_LAST_CHARACTER}|{_URL_PARENTHESES})",
    re.IGNORECASE,
)

MAX_LINKS = 2
DUPLICATE_WINDOW = timedelta(hours=1)
RECENT_COMMENTS_CHECKED = 100  # rate limits keep a reader far below this within the window
HOLD_REASON_MAX_LENGTH = Comment._meta.get_field("hold_reason").max_length

BANNED_READER = "Your account can no longer post comments."
TOO_FAST = (
    "That was quicker than we expected from a person. Please check your comment and post it again."
)
DUPLICATE = "You posted the same comment less than an hour ago."
SPAM = "Held as possible spam."
PREMODERATED = "Comments are checked by a moderator before they appear."
TOO_MANY_LINKS = f"Comments with more than {MAX_LINKS} links are checked by a moderator."
GUEST_FIRST_LINK = "A guest's first comment with a link is checked by a moderator."


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str = ""
    refuse: bool = False

    @property
    def is_held(self):
        return not self.refuse and self.status != Comment.Status.APPROVED


def comment_verdict(*, article, body, reader, honeypot_filled, too_fast, editing=None) -> Verdict:
    """Decide what happens to a new comment on `article` by `reader` before it is saved.

    `article` and the reader's address hash describe the post too, so rules about them fit
    here without changing callers. When an author edits, `editing` is their comment: it
    neither duplicates nor vouches for the new text.
    """
    signed_in = reader.user is not None
    control = ReaderControl.objects.filter(user=reader.user).first() if signed_in else None

    if control is not None and control.is_banned:
        return Verdict(Comment.Status.REJECTED, BANNED_READER, refuse=True)
    if honeypot_filled:
        return Verdict(Comment.Status.SPAM, SPAM)
    if too_fast:
        return Verdict(Comment.Status.REJECTED, TOO_FAST, refuse=True)
    earlier = Comment.objects.exclude(pk=editing.pk) if editing is not None else Comment.objects
    if _posted_recently(earlier, body, reader=reader):
        return Verdict(Comment.Status.REJECTED, DUPLICATE, refuse=True)

    reasons = []
    if settings.EVR_PREMODERATION or (control is not None and control.always_premoderate):
        reasons.append(PREMODERATED)
    link_count = count_links(body)
    if link_count > MAX_LINKS:
        reasons.append(TOO_MANY_LINKS)
    banned = banned_words_in(body)
    if banned:
        reasons.append(_banned_words_reason(banned))
    if link_count and not signed_in and not _has_approved_comment(earlier, reader.token):
        reasons.append(GUEST_FIRST_LINK)

    if reasons:
        return Verdict(Comment.Status.PENDING, " ".join(reasons)[:HOLD_REASON_MAX_LENGTH])
    return Verdict(Comment.Status.APPROVED)


def count_links(text):
    return sum(1 for _ in URL_PATTERN.finditer(text))


def _banned_words_query():
    return BannedWord.objects.values("word")


def banned_words_in(text):
    """The banned words that appear in `text` as whole words, in any letter case."""
    words = [row["word"] for row in prepared_rows(("banned-words",), _banned_words_query)]
    if not words:
        return []
    alternatives = "|".join(re.escape(word.strip()) for word in words if word.strip())
    if not alternatives:
        return []
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    # Format characters (a soft hyphen, a bidi mark, a joiner) are invisible inside a word:
    # "sc\u00adam" shows as "scam" and is matched as such.
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    found = {match.group(0).casefold() for match in pattern.finditer(visible)}
    return [word for word in words if word.strip().casefold() in found]


def _banned_words_reason(words):
    quoted = ", ".join(f"“{word}”" for word in words)
    noun = "word" if len(words) == 1 else "words"
    return f"Contains the {noun} {quoted}, which a moderator checks first."


def _normalized(text):
    return " ".join(text.split()).casefold()


def _posted_recently(comments, body, *, reader):
    if reader.owns_nothing:
        return False
    since = timezone.now() - DUPLICATE_WINDOW
    recent_bodies = comments.filter(
        reader.rows(), created_at__gte=since, deleted_at__isnull=True
    ).values_list("body", flat=True)[:RECENT_COMMENTS_CHECKED]
    wanted = _normalized(body)
    return any(_normalized(earlier) == wanted for earlier in recent_bodies)


def _has_approved_comment(comments, reader_token):
    if not reader_token:
        return False
    return comments.filter(
        user__isnull=True, reader_token=reader_token, status=Comment.Status.APPROVED
    ).exists()
