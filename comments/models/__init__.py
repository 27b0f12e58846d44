from .comments import (
    BannedWord,
    Comment,
    CommentReport,
    HelpfulMark,
    ModerationAction,
    ReaderControl,
)
from .polls import Poll, PollChoice, Vote

__all__ = [
    "BannedWord",
    "Comment",
    "CommentReport",
    "HelpfulMark",
    "ModerationAction",
    "Poll",
    "PollChoice",
    "ReaderControl",
    "Vote",
]
