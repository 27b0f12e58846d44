"""Readers marking the same comment helpful at the same moment are each counted exactly once."""

import threading

import pytest
from django.db import connection

from comments.models import HelpfulMark
from comments.readers import Reader
from comments.services import helpful_toggle

READERS = 12


def run_at_once(functions):
    barrier = threading.Barrier(len(functions))
    errors = []

    def run(function):
        try:
            barrier.wait()
            function()
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(function,)) for function in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_simultaneous_helpful_marks_keep_the_count_exact(article, add_comment):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads writing at once need PostgreSQL or a database file")
    comment = add_comment(article, "Useful.", author_name="Author", reader_token="author")
    marks = [
        lambda token=f"reader-{number}": helpful_toggle(comment=comment, reader=Reader(token=token))
        for number in range(READERS)
    ]
    # One more reader double-clicks: two toggles at once may cancel out, but never miscount.
    double_click = [lambda: helpful_toggle(comment=comment, reader=Reader(token="twice"))] * 2

    errors = run_at_once(marks + double_click)

    assert errors == []
    comment.refresh_from_db()
    assert comment.helpful_count == HelpfulMark.objects.count()
    assert HelpfulMark.objects.exclude(reader_token="twice").count() == READERS
