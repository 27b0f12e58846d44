from .comments import BannedWord, Comment, CommentReport, HelpfulMark, ReaderControl
from .polls import Poll, PollChoice, Vote

__all__ = [
    "BannedWord",
    "Comment",
    "CommentReport",
    "HelpfulMark",
    "Poll",
    "PollChoice",
    "ReaderControl",
    "Vote",
]
