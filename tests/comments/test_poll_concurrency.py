"""Many readers voting at the same moment are each counted exactly once.

The votes come from several processes (as under gunicorn with several workers), each running
threads, so on SQLite the test needs a database file every process can open: the in-memory
test database is private to this process. On PostgreSQL the processes use the test database.
Run as a script, this module is one of those voting processes.
"""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROCESSES = 4
READERS = 32
RACING_READERS = 8  # these readers send their vote twice at the same moment


def _database_environment(tmp_path):
    """Environment for child processes pointing at a database that they and we can all use."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "evsite.settings"}
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        environment.pop("DATABASE_URL", None)
        environment["EVR_SQLITE_PATH"] = str(tmp_path / "votes.sqlite3")
        for command in (["migrate", "--noinput"], ["load_seed"]):
            subprocess.run(
                [sys.executable, "manage.py", *command, "--verbosity", "0"],
                cwd=PROJECT_DIR,
                env=environment,
                check=True,
                timeout=120,
            )
        return environment
    user = settings_dict["USER"] or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or 5432
    environment["DATABASE_URL"] = (
        f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
    )
    return environment


def _run_voters(environment, jobs, *, start_at):
    shares = [jobs[number::PROCESSES] for number in range(PROCESSES)]
    children = [
        subprocess.Popen(
            [sys.executable, __file__, json.dumps({"jobs": share, "start_at": start_at})],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    reports = []
    for child in children:
        stdout, stderr = child.communicate(timeout=180)
        assert child.returncode == 0, stderr
        report = json.loads(stdout.strip().splitlines()[-1])
        report["stderr"] = stderr[-2000:]
        reports.append(report)
    return reports


def _django_json(environment, script):
    """What a Django `script` run in a fresh process printed as JSON."""
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return json.loads(output)


def _counted_votes(environment, poll_pk):
    """(choice id, reader token) of every vote row, read by a fresh process."""
    script = (
        "import django, json; django.setup();"
        "from comments.models import Vote;"
        f"print(json.dumps(list(Vote.objects.filter(poll={poll_pk})"
        ".values_list('choice_id', 'reader_token'))))"
    )
    return [tuple(row) for row in _django_json(environment, script)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_from_distinct_sessions_are_each_counted_once(seeded_article, tmp_path):
    environment = _database_environment(tmp_path)
    poll_pk, choice_ids = _seeded_poll_in(environment, seeded_article)
    jobs = [
        {
            "token": f"reader-{number:03d}",
            "choice": choice_ids[number % len(choice_ids)],
            "ip": f"10.1.{number // 200}.{number % 200 + 1}",
            "poll": poll_pk,
        }
        for number in range(READERS)
    ]
    jobs += [dict(job) for job in jobs[:RACING_READERS]]

    reports = _run_voters(environment, jobs, start_at=time.time() + 2)

    errors = [error for report in reports for error in report["errors"]]
    statuses = Counter(status for report in reports for status in report["statuses"])
    assert errors == []
    assert statuses == {200: READERS + RACING_READERS}, reports
    votes = _counted_votes(environment, poll_pk)
    assert len(votes) == READERS
    assert Counter(token for _, token in votes) == {job["token"]: 1 for job in jobs}
    assert sorted(votes) == sorted({(job["choice"], job["token"]) for job in jobs})


def _seeded_poll_in(environment, seeded_article):
    """The seeded poll's id and choice ids in the database the voting processes use."""
    if "EVR_SQLITE_PATH" not in environment:
        poll = seeded_article.polls.get()
        return poll.pk, list(poll.choices.order_by("position").values_list("pk", flat=True))
    script = (
        "import django, json; django.setup();"
        "from comments.models import Poll;"
        "poll = Poll.objects.get();"
        "print(json.dumps([poll.pk, list(poll.choices.order_by('position')"
        ".values_list('pk', flat=True))]))"
    )
    return _django_json(environment, script)


def _vote_as_children(jobs, start_at):
    """One voting process: every job a reader with their own session, all in threads."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from comments.readers import READER_TOKEN_SESSION_KEY

    setup_test_environment()
    clients = []
    for job in jobs:
        client = Client(REMOTE_ADDR=job["ip"])
        session = client.session
        session[READER_TOKEN_SESSION_KEY] = job["token"]
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        clients.append(client)
    connections.close_all()

    statuses, errors = [], []
    lock = threading.Lock()

    def vote(client, job):
        url = reverse("comments:poll_vote", kwargs={"pk": job["poll"]})
        try:
            time.sleep(max(0.0, start_at - time.time()))
            response = client.post(url, {"choice": job["choice"]}, headers={"HX-Request": "true"})
            with lock:
                statuses.append(response.status_code)
        except Exception as error:  # any failure is a finding, reported to the test
            with lock:
                errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=vote, args=(client, job))
        for client, job in zip(clients, jobs, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"statuses": statuses, "errors": errors}))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    arguments = json.loads(sys.argv[1])
    _vote_as_children(arguments["jobs"], arguments["start_at"])
