"""The heading's counts, kept for the older comments and added to for the newer ones: always
what a full count gives, for every reader, whatever was posted, moderated or deleted."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comments import services
from comments.models import Comment
from comments.readers import Reader
from comments.selectors import comment_counts, listed_counts


@pytest.fixture
def older(article, add_comment, poll):
    """An article whose discussion is an hour old: threads with replies, one held, one
    rejected with a reply under it, one deleted, some showing a stance or answering a
    paragraph."""
    yes = poll.choices.get(position=1)
    first = add_comment(article, "First.", minutes_ago=60, stance_choice=yes, anchor="p-1")
    add_comment(article, "A reply.", parent=first, minutes_ago=59, stance_choice=yes)
    rejected = add_comment(article, "Rejected.", minutes_ago=58, status=Comment.Status.REJECTED)
    add_comment(article, "Under a rejected one.", parent=rejected, minutes_ago=57)
    add_comment(article, "Held.", minutes_ago=56, status=Comment.Status.PENDING)
    add_comment(article, "Gone.", minutes_ago=55, deleted_at=first.created_at)
    add_comment(article, "Hidden stance.", minutes_ago=54, stance_choice=yes, show_stance=False)
    return article


def post(article, reader, body, **fields):
    return services.comment_create(
        article=article, reader=reader, author_name="Guest", body=body, **fields
    )


def readers(article, moderator):
    yield Reader()
    yield Reader(token="other-reader")  # owns every older comment
    yield Reader(token="newcomer")
    yield Reader(token="fresh", token_is_new=True)
    yield Reader(user=moderator, is_moderator=True)
    yield Reader(user=moderator)  # as a signed-in reader who is not moderating


def assert_counts_match(article, moderator):
    for reader in readers(article, moderator):
        assert listed_counts(reader, article) == comment_counts(reader, article), reader


def test_kept_counts_match_a_full_count_through_posts_moderation_and_deletion(older, moderator):
    assert_counts_match(older, moderator)  # keeps the older comments' counts
    newcomer = Reader(token="newcomer")
    newest = post(older, newcomer, "New.", anchor="p-1")
    post(older, newcomer, "Held by the rules.", status=Comment.Status.PENDING)
    post(older, Reader(token="someone"), "A reply to the newest.", parent=newest)
    first = Comment.objects.get(body="First.")
    post(older, Reader(token="someone"), "A reply to the first.", parent=first)
    assert_counts_match(older, moderator)

    services.comments_moderate(
        comments=Comment.objects.filter(pk=first.pk),
        status=Comment.Status.REJECTED,
        moderator=moderator,
    )
    assert_counts_match(older, moderator)
    services.comment_delete(comment=newest, reader=newcomer)
    assert_counts_match(older, moderator)


def test_after_a_post_the_older_comments_are_not_counted_again(older, moderator):
    listed_counts(Reader(), older)
    guest = Reader(token="fresh", token_is_new=True)
    post(older, guest, "New.")

    with CaptureQueriesContext(connection) as captured:
        counts = listed_counts(guest, older)

    assert counts == comment_counts(guest, older)
    (query,) = [query["sql"] for query in captured.captured_queries]
    assert '"comments_comment"."id" >' in query  # only the comments after the kept ones
