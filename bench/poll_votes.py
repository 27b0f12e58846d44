"""Concurrent poll votes against gunicorn with several workers, on a temporary SQLite file.

    .venv/bin/python bench/poll_votes.py --votes 400 --workers 4 --concurrency 32

Every vote comes from its own session (a GET of the poll for the CSRF cookie, then the HTMX
POST). All sessions are prepared first, then the votes are fired at once. Reports throughput,
status codes and errors, and checks that every vote was counted exactly once. Loopback only;
the vote count and the run time are bounded. Exits 1 when a vote is lost, doubled or refused.
"""

import argparse
import http.client
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MAX_VOTES = 5000
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def server_environment(folder):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "evsite.settings",
        "EVR_SQLITE_PATH": str(folder / "votes.sqlite3"),
        "EVR_CACHE_DIR": str(folder / "cache"),
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_STATIC_MANIFEST": "0",
        "DJANGO_ALLOWED_HOSTS": HOST,
        # Every vote comes from this machine's one address: the per-IP cap would refuse most.
        "EVR_POLL_VOTES_PER_IP": "0",
    }
    environment.pop("DATABASE_URL", None)
    environment.pop("DJANGO_DEBUG", None)
    return environment


def prepare_database(environment):
    for command in (["migrate", "--noinput"], ["load_seed"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "--verbosity", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
            timeout=120,
        )
    with sqlite3.connect(environment["EVR_SQLITE_PATH"]) as database:
        poll_pk = database.execute("SELECT id FROM comments_poll ORDER BY id LIMIT 1").fetchone()[0]
        choice_pks = [
            row[0]
            for row in database.execute(
                "SELECT id FROM comments_pollchoice WHERE poll_id = ? ORDER BY position, id",
                (poll_pk,),
            )
        ]
    return poll_pk, choice_pks


def start_gunicorn(environment, *, port, workers, log_path):
    log = open(log_path, "w")  # noqa: SIM115  (closed by the caller through the process)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "evsite.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, log


def request(port, method, path, *, headers=None, body=None, timeout=30):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode()
    finally:
        connection.close()


def wait_until_serving(port, path, deadline):
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", path, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on {HOST}:{port} in time")


def new_session(port, poll_pk):
    """A fresh reader: their cookies and CSRF token, from a GET of the poll."""
    status, headers, body = request(port, "GET", f"/polls/{poll_pk}/")
    if status != 200:
        raise RuntimeError(f"GET poll answered {status}")
    cookies = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookies.load(value)
    token = CSRF_INPUT.search(body).group(1)
    cookie_header = "; ".join(f"{key}={morsel.value}" for key, morsel in cookies.items())
    return {"cookie": cookie_header, "token": token}


def cast_vote(port, poll_pk, choice_pk, session):
    started = time.perf_counter()
    status, _, _ = request(
        port,
        "POST",
        f"/polls/{poll_pk}/vote/",
        body=f"choice={choice_pk}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": session["cookie"],
            "X-CSRFToken": session["token"],
            "HX-Request": "true",
        },
    )
    return status, (time.perf_counter() - started) * 1000


def counted_votes(database_path, poll_pk):
    with sqlite3.connect(database_path) as database:
        rows = database.execute(
            "SELECT choice_id, COUNT(*) FROM comments_vote WHERE poll_id = ? GROUP BY choice_id",
            (poll_pk,),
        )
        return dict(rows.fetchall())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=400, help=f"at most {MAX_VOTES}")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=32, help="votes in flight at once")
    parser.add_argument("--port", type=int, default=8113)
    parser.add_argument("--time-limit", type=float, default=120, help="seconds for the votes")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if not 1 <= args.votes <= MAX_VOTES:
        parser.error(f"--votes must be between 1 and {MAX_VOTES}")
    if not 1 <= args.concurrency <= 256:
        parser.error("--concurrency must be between 1 and 256")

    with tempfile.TemporaryDirectory(prefix="evr-poll-bench-") as folder_name:
        folder = Path(folder_name)
        environment = server_environment(folder)
        poll_pk, choice_pks = prepare_database(environment)
        server, log = start_gunicorn(
            environment, port=args.port, workers=args.workers, log_path=folder / "gunicorn.log"
        )
        try:
            wait_until_serving(args.port, f"/polls/{poll_pk}/", time.monotonic() + 30)
            report = run_votes(args, poll_pk, choice_pks)
            report["counted"] = counted_votes(environment["EVR_SQLITE_PATH"], poll_pk)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        server_log = (folder / "gunicorn.log").read_text()

    report["locked_errors_in_log"] = server_log.count("database is locked")
    report["tracebacks_in_log"] = server_log.count("Traceback")
    exact = report["counted"] == report["expected"] and report["statuses"] == {"200": args.votes}
    report["exact"] = exact and not report["errors"] and not report["locked_errors_in_log"]
    print_report(args, report)
    return 0 if report["exact"] else 1


def run_votes(args, poll_pk, choice_pks):
    plan = [choice_pks[number % len(choice_pks)] for number in range(args.votes)]
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        sessions = list(pool.map(lambda _: new_session(args.port, poll_pk), plan))

        statuses, latencies, errors = Counter(), [], []
        started = time.perf_counter()
        futures = [
            pool.submit(cast_vote, args.port, poll_pk, choice_pk, session)
            for choice_pk, session in zip(plan, sessions, strict=True)
        ]
        try:
            for future in as_completed(futures, timeout=args.time_limit):
                try:
                    status, latency = future.result()
                except OSError as error:
                    errors.append(repr(error))
                    continue
                statuses[str(status)] += 1
                latencies.append(latency)
        except TimeoutError:
            errors.append(f"time limit of {args.time_limit} s reached")
            for future in futures:
                future.cancel()
        elapsed = time.perf_counter() - started

    latencies.sort()
    return {
        "votes": args.votes,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 3),
        "votes_per_second": round(len(latencies) / elapsed, 1) if elapsed else None,
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1) if latencies else None,
        "statuses": dict(statuses),
        "errors": errors[:10],
        "expected": dict(Counter(plan)),
    }


def print_report(args, report):
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return
    print(
        f"{report['votes']} votes from distinct sessions, {report['workers']} gunicorn workers, "
        f"{report['concurrency']} in flight, SQLite (WAL, IMMEDIATE transactions)"
    )
    print(
        f"time {report['seconds']} s, {report['votes_per_second']} votes/s, "
        f"median {report['median_ms']} ms, p95 {report['p95_ms']} ms"
    )
    print(f"statuses {report['statuses']}, client errors {len(report['errors'])}")
    for error in report["errors"]:
        print(f"  {error}")
    print(
        f"server log: {report['locked_errors_in_log']} 'database is locked', "
        f"{report['tracebacks_in_log']} tracebacks"
    )
    print(f"expected per choice {report['expected']}")
    print(f"counted per choice  {report['counted']}")
    print("Every vote counted exactly once." if report["exact"] else "NOT EXACT: see above.")


if __name__ == "__main__":
    sys.exit(main())
