"""Speed and memory of the reader-facing pages, on a temporary SQLite database.

    make bench            # or: .venv/bin/python bench/run.py --comments 2000

Builds the shipped article with N comments (threads of replies) and M poll votes, then times
the pages readers hit most and measures peak Python memory while rendering them. Exits 1 when
a target is missed, so a regression shows as a failed command.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {
    # page: (median milliseconds, peak MiB of Python allocations while rendering, max queries)
    "article page": (250, 25, 25),
    "facts.json": (100, 10, 10),
    "comments p.50": (250, 25, 25),
    "poll results": (40, 5, 8),
}


def configure(db_path):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evsite.settings")
    os.environ["EVR_SQLITE_PATH"] = str(db_path)
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
    os.environ["EVR_CACHE_BACKEND"] = "locmem"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_SECURE_COOKIES"] = "0"
    os.environ["DJANGO_STATIC_MANIFEST"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("DATABASE_URL", None)
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()


def build(comment_count, vote_count):
    from django.core.management import call_command
    from django.utils import timezone

    from comments.models import Comment, Vote

    call_command("migrate", verbosity=0)
    call_command("load_seed", verbosity=0)
    from articles.models import Article  # noqa: PLC0415

    article = Article.objects.get()
    poll = article.polls.first()
    choices = list(poll.choices.all()) if poll else []
    now = timezone.now()
    top_level = Comment.objects.bulk_create(
        Comment(
            article=article,
            author_name=f"Reader {n}",
            reader_token=f"bench-{n}",
            body=f"Comment {n}: small cars make sense in cities. https://example.com/{n}",
            created_at=now - timezone.timedelta(minutes=n),
        )
        for n in range(comment_count // 2)
    )
    Comment.objects.bulk_create(
        Comment(
            article=article,
            parent=parent,
            depth=1,
            author_name=f"Replier {n}",
            reader_token=f"bench-r{n}",
            body=f"Reply {n}: range still matters on the highway.",
            created_at=now - timezone.timedelta(minutes=n),
        )
        for n, parent in enumerate(top_level[: comment_count - len(top_level)])
    )
    if choices:
        Vote.objects.bulk_create(
            Vote(poll=poll, choice=choices[n % len(choices)], reader_token=f"voter-{n}")
            for n in range(vote_count)
        )
    return article


def measure(client, url, repeats):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and template loading
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(timings), peak / 2**20, len(queries.captured_queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--votes", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        configure(Path(folder) / "bench.sqlite3")
        from django.test import Client
        from django.urls import reverse

        article = build(args.comments, args.votes)
        client = Client()
        poll = article.polls.first()
        pages = {
            "article page": article.get_absolute_url(),
            "facts.json": f"{article.get_absolute_url()}facts.json",
            "comments p.50": f"{article.get_absolute_url()}?page=50",
            "poll results": reverse("comments:poll_results", kwargs={"pk": poll.pk}),
        }
        print(f"{args.comments} comments, {args.votes} votes, {args.repeats} requests each")
        print(f"{'page':<14} {'median ms':>10} {'peak MiB':>9} {'queries':>8}  target")
        missed = []
        for name, url in pages.items():
            median, peak, queries = measure(client, url, args.repeats)
            target_ms, target_mib, target_queries = TARGETS[name]
            ok = median <= target_ms and peak <= target_mib and queries <= target_queries
            if not ok:
                missed.append(name)
            print(
                f"{name:<14} {median:>10.1f} {peak:>9.1f} {queries:>8}  "
                f"<= {target_ms} ms, {target_mib} MiB, {target_queries} queries"
                f"{'' if ok else '  MISSED'}"
            )
    if missed:
        print(f"Targets missed: {', '.join(missed)}")
        return 1
    print("All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
