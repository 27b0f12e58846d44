"""Load test: the reader pages under gunicorn with production settings, beside a ceiling.

    make bench                                    # this, then bench/run.py and poll_votes.py
    .venv/bin/python bench/load.py                # SQLite, 10,000 comments, 50,000 votes
    .venv/bin/python bench/load.py --comments 2000 --votes 5000 --seconds 3 --rounds 1
    .venv/bin/python bench/load.py --db postgres               # PostgreSQL and Redis
    .venv/bin/python bench/load.py --db postgres --servers 2   # two app servers, one database

A benchmark, not a test. It builds two databases with bulk inserts (the seeded article with
N comments and M poll votes, and one at a tenth of that for the growth checks), collects the
static files into a temporary STATIC_ROOT, then starts the site under gunicorn (sync workers,
production settings, rate limits off, no access log) and beside it bench/ceiling.py, a minimal
Django under the same gunicorn. For each round it loads the ceiling, then each endpoint in
turn, with `wrk -t2 -c<connections> -d<seconds>s --latency` on 127.0.0.1 (wrk is installed
with apt-get when missing). Per endpoint it reports the median req/s over the rounds, that
as a share of the ceiling measured in the same round, the worst p99 and the non-2xx answers.
Then: growth ratios (tenth-size database against full size, a comments page near the end
against page 2), the CPU time of an article page that misses the cache (in-process) and the
resident memory of every gunicorn worker, each beside its target, MET or MISSED.

--db postgres uses PostgreSQL databases evr_bench_full and evr_bench_tenth on
127.0.0.1:5432 (created and dropped here) and Redis db 14 (full) and 13 (tenth), both
flushed first; PostgreSQL and Redis are started when down (and stopped again at the end).
--servers 2 (PostgreSQL only) runs two app servers on one database and Redis, splits the
load between them (two wrk at once, half the connections each) and first checks, on a
separate pair with a limit of 2 comments a minute, that sessions, votes, cached pages and
rate limits behave the same whichever server answers.

The report is printed and written as JSON to bench/results/ (git-ignored). Exit status: 0
when the report was made, even with targets missed; 1 when the harness itself failed (a
server did not start, a database could not be built...); 130 on Ctrl-C. Every process it
started is stopped on the way out.
"""

import argparse
import contextlib
import html
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
HOST = "127.0.0.1"
PG_ADMIN_URL = f"postgresql://postgres@{HOST}:5432/postgres"
PG_DATABASES = {"full": "evr_bench_full", "tenth": "evr_bench_tenth"}
REDIS_DBS = {"full": 14, "tenth": 13}  # CI's test suite uses 15
THREADS_PAGE_SIZE = 20  # comments.selectors.PAGE_SIZE, if the page does not say
WRK_TIMEOUT = "10s"  # one request slower than this counts as a timeout error

# Targets: share of the ceiling's req/s, p99 in ms (None: no target).
TARGETS = {
    "article_anon": (0.70, 25),
    "article_voter": (0.50, 25),
    "comments_page2": (0.60, 25),
    "poll_results": (0.70, 25),
    "facts_json": (0.70, 25),
    "vote_post": (0.08, None),
    "comment_post": (0.04, None),
}
GROWTH_TARGET = 1.2
CACHE_MISS_CPU_TARGET_MS = 10
WORKER_RSS_TARGET_MIB = 150

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOAD_MORE = re.compile(r'<a\b[^>]*\bload-more\b[^>]*?\bhx-get="([^"]+)"', re.S)
PAGE_OF = re.compile(r"Page\s+\d+\s+of\s+(\d+)")


class HarnessError(Exception):
    """The harness could not do its job (as opposed to a target being missed)."""


# Processes this run started, and stopping them again


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path


class Processes:
    """Everything started here, so that all of it (and only it) is stopped on the way out."""

    def __init__(self):
        self.servers: list[Server] = []
        self.wrk: list[subprocess.Popen] = []
        self.redis_pidfile: Path | None = None
        self.started_postgres = False

    def start_gunicorn(self, name, app, *, port, workers, env, cwd, folder):
        log_path = folder / f"{name}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", app),
                    *("--workers", str(workers), "--worker-class", "sync"),
                    *("--bind", f"{HOST}:{port}", "--timeout", "60", "--graceful-timeout", "5"),
                    *("--log-level", "warning", "--error-logfile", "-"),
                ],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            )
        server = Server(name, port, process, log_path)
        self.servers.append(server)
        return server

    def stop_server(self, server):
        process = server.process
        if process.poll() is None:
            process.terminate()  # gunicorn's graceful stop: the master stops its workers
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: master + workers
                process.wait(timeout=5)
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self):
        for process in self.wrk:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.wrk.clear()
        for server in list(self.servers):
            self.stop_server(server)
        if self.redis_pidfile is not None:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(self.redis_pidfile.read_text().strip()), signal.SIGTERM)
                print("stopped the Redis server this run started")
            self.redis_pidfile = None
        if self.started_postgres:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", "stop"],
                check=False,
                timeout=60,
            )
            print("stopped the PostgreSQL cluster this run started")
            self.started_postgres = False


def raise_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


# Setting up: wrk, services, environments, databases


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is missing: installing Debian's wrk with apt-get")
    command = "apt-get update -qq && apt-get install -y -qq wrk"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(["sh", "-c", command], env=environment, timeout=600, check=False)
    if result.returncode != 0 or not shutil.which("wrk"):
        raise HarnessError("could not install wrk (apt-get install -y wrk); install it and rerun")


def port_open(port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def pg_version():
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        raise HarnessError("no PostgreSQL cluster under /etc/postgresql")
    return versions[-1]


def wait_for(check, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise HarnessError(f"{what} did not come up in {seconds} s")


def ensure_services(processes, folder):
    if not port_open(5432):
        print("PostgreSQL is down: starting it")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", "start"],
            check=True,
            timeout=120,
        )
        processes.started_postgres = True
        wait_for(lambda: port_open(5432), "PostgreSQL")
    if not port_open(6379):
        print("Redis is down: starting it")
        pidfile = folder / "redis.pid"
        subprocess.run(
            [
                *("redis-server", "--daemonize", "yes", "--bind", HOST, "--port", "6379"),
                *("--save", "", "--appendonly", "no", "--pidfile", str(pidfile)),
            ],
            check=True,
            timeout=30,
        )
        processes.redis_pidfile = pidfile
        wait_for(lambda: port_open(6379), "Redis")


def postgres_recreate(name, *, drop_only=False):
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


def redis_flush(db):
    import redis

    redis.Redis(host=HOST, port=6379, db=db, socket_timeout=10).flushdb()


def inherited_environment():
    """This process's environment less anything that configures the site."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EVR_")) and key not in {"DATABASE_URL", "REDIS_URL"}
    }


def production_environment(folder, args, size, secret_key):
    """The site's environment for one database size: production settings, rate limits off."""
    environment = inherited_environment()
    environment.update(
        {
            # bench_settings: evsite.settings with STATIC_ROOT in the temporary folder.
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_STATIC_MANIFEST": "1",
            "EVR_COMMENTS_PER_MINUTE": "0",
            "EVR_COMMENTS_PER_HOUR": "0",
            "EVR_POLL_VOTES_PER_IP": "0",
        }
    )
    if args.db == "postgres":
        environment["DATABASE_URL"] = f"postgres://postgres@{HOST}:5432/{PG_DATABASES[size]}"
        environment["REDIS_URL"] = f"redis://{HOST}:6379/{REDIS_DBS[size]}"
    else:
        environment["EVR_SQLITE_PATH"] = str(folder / f"{size}.sqlite3")
        environment["EVR_CACHE_DIR"] = str(folder / f"cache-{size}")
    return environment


def write_settings_module(folder):
    # evsite/settings.py takes STATIC_ROOT from no environment variable, so the production
    # settings are used as they are with only that one line changed.
    (folder / "static").mkdir()
    (folder / "bench_settings.py").write_text(
        f"from evsite.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(folder / 'static')!r}\n"
    )


def manage(environment, *command, timeout=300):
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise HarnessError(f"manage.py {' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def child(environment, *arguments, timeout=900):
    """Run this file as a child with the site's environment; it prints one JSON object."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_child", *map(str, arguments)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise HarnessError(f"{arguments[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def build_database(environment, comments, votes):
    manage(environment, "migrate", "--noinput", "--verbosity", "0")
    manage(environment, "load_seed", "--verbosity", "0")
    return child(environment, "build", comments, votes)


# HTTP, one request at a time (set-up, pre-checks and the functional checks)


def request(port, method, path, *, headers=None, body=None, timeout=30):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode(errors="replace")
    finally:
        connection.close()


def set_cookies(jar, headers):
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookie = SimpleCookie()
            cookie.load(value)
            for key, morsel in cookie.items():
                jar[key] = morsel.value


def cookie_header(jar):
    return "; ".join(f"{key}={value}" for key, value in jar.items())


def get(port, path, jar=None, *, htmx=False):
    headers = {"Cookie": cookie_header(jar)} if jar else {}
    if htmx:
        headers["HX-Request"] = "true"
    status, response_headers, body = request(port, "GET", path, headers=headers)
    if jar is not None:
        set_cookies(jar, response_headers)
    return status, body


def new_csrf_secret():
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


def post(port, path, fields, jar, *, token=None):
    """An htmx POST as a browser sends it: form fields, the reader's cookies, the CSRF token
    (the form's, or the cookie's secret itself, which Django also accepts)."""
    if "csrftoken" not in jar:  # a page served from a cache may set no CSRF cookie
        jar["csrftoken"] = new_csrf_secret()
        token = None
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "HX-Request": "true",
        "Cookie": cookie_header(jar),
        "X-CSRFToken": token or jar.get("csrftoken", ""),
    }
    status, response_headers, body = request(
        port, "POST", path, headers=headers, body=urllib.parse.urlencode(fields)
    )
    set_cookies(jar, response_headers)
    return status, body


def csrf_from(body):
    match = CSRF_INPUT.search(body)
    return match.group(1) if match else None


def vote_as_reader(port, info, choice_id, jar=None):
    """Vote as a reader (a new one unless `jar` is given) through the poll page's form."""
    jar = {} if jar is None else jar
    poll = f"/polls/{info['poll_id']}/"
    status, body = get(port, poll, jar)
    if status != 200:
        raise HarnessError(f"GET {poll} answered {status}")
    status, body = post(port, f"{poll}vote/", {"choice": choice_id}, jar, token=csrf_from(body))
    return status, body, jar


def wait_until_serving(server, path, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise HarnessError(
                f"{server.name} (gunicorn on port {server.port}) exited with "
                f"{server.process.returncode}:\n{log_tail(server.log_path)}"
            )
        with contextlib.suppress(OSError):
            if request(server.port, "GET", path, timeout=5)[0] == 200:
                return
        time.sleep(0.3)
    raise HarnessError(
        f"{server.name} did not answer 200 on port {server.port} in {seconds} s:\n"
        f"{log_tail(server.log_path)}"
    )


def log_tail(path, lines=30):
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# wrk


@dataclass
class Endpoint:
    key: str
    label: str
    size: str  # "full" or "tenth": which database's servers answer
    path: str
    headers: dict = field(default_factory=dict)
    script: Path | None = None  # a Lua script for the POSTs
    is_get: bool = True
    problem: str = ""  # why it cannot be measured, if it cannot


DURATION_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def parse_wrk(output):
    def number(pattern, cast=float, default=0):
        match = re.search(pattern, output, re.M)
        return cast(match.group(1)) if match else default

    p99 = re.search(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p99_ms": float(p99.group(1)) * DURATION_UNITS[p99.group(2)] if p99 else None,
        "requests": number(r"^\s*(\d+) requests in", int),
        "non_2xx": number(r"Non-2xx or 3xx responses:\s+(\d+)", int),
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def run_wrk(processes, endpoint, ports, args, tag):
    """Load `endpoint` on every port at once, splitting the connections; sums and worst."""
    connections = max(1, args.connections // len(ports))
    commands = []
    for index, port in enumerate(ports):
        command = [
            *("wrk", "-t", str(min(2, connections)), "-c", str(connections)),
            *("-d", f"{args.seconds}s", "--timeout", WRK_TIMEOUT, "--latency"),
        ]
        for name, value in endpoint.headers.items():
            command += ["-H", f"{name}: {value}"]
        if endpoint.script is not None:
            command += ["-s", str(endpoint.script)]
        command.append(f"http://{HOST}:{port}{endpoint.path}")
        if endpoint.script is not None:
            command += ["--", f"{tag}s{index}"]
        commands.append(command)
    running = []
    for command in commands:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        processes.wrk.append(process)
        running.append(process)
    results = []
    for process in running:
        try:
            out, err = process.communicate(timeout=args.seconds + 30)
        except subprocess.TimeoutExpired as error:
            raise HarnessError(f"wrk on {endpoint.label} did not finish in time") from error
        processes.wrk.remove(process)
        if process.returncode != 0:
            raise HarnessError(f"wrk failed on {endpoint.label}: {err.decode()[-500:]}")
        results.append(parse_wrk(out.decode()))
    p99s = [result["p99_ms"] for result in results if result["p99_ms"] is not None]
    return {
        "rps": round(sum(result["rps"] for result in results), 1),
        "p99_ms": round(max(p99s), 2) if p99s else None,
        "requests": sum(result["requests"] for result in results),
        "non_2xx": sum(result["non_2xx"] for result in results),
        "socket_errors": sum(result["socket_errors"] for result in results),
    }


VOTE_SCRIPT = """-- A vote from a new guest each time: a CSRF cookie and header, no session.
local choices = {CHOICES}
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["HX-Request"] = "true",
  ["Cookie"] = "csrftoken=TOKEN",
  ["X-CSRFToken"] = "TOKEN",
}
local counter = 0
function request()
  counter = counter + 1
  local body = "choice=" .. choices[(counter % #choices) + 1]
  return wrk.format("POST", "PATH", headers, body)
end
"""

COMMENT_SCRIPT = """-- A comment from a new guest each time, every body different.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
local tag = "run"
function init(args)
  tag = args[1] or tag
end
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["HX-Request"] = "true",
  ["Cookie"] = "csrftoken=TOKEN",
  ["X-CSRFToken"] = "TOKEN",
}
local rest = "&author_name=Load+test+guest&email=&website=&rendered_at=STAMP"
local counter = 0
function request()
  counter = counter + 1
  local body = "body=Load+test+" .. tag .. "-" .. tostring(thread_number) .. "-" .. counter
    .. "%3A+small+EVs+make+sense+for+city+driving." .. rest
  return wrk.format("POST", "PATH", headers, body)
end
"""


def write_scripts(folder, info, stamp, token):
    quoted_stamp = urllib.parse.quote(stamp, safe="")
    vote = (
        VOTE_SCRIPT.replace("{CHOICES}", "{" + ", ".join(map(str, info["choice_ids"])) + "}")
        .replace("TOKEN", token)
        .replace("PATH", f"/polls/{info['poll_id']}/vote/")
    )
    comment = (
        COMMENT_SCRIPT.replace("STAMP", quoted_stamp)
        .replace("TOKEN", token)
        .replace("PATH", f"/articles/{info['slug']}/comments/post/")
    )
    (folder / "vote.lua").write_text(vote)
    (folder / "comment.lua").write_text(comment)
    return folder / "vote.lua", folder / "comment.lua"


# Preparing the endpoints: the reader who voted, the URLs, a check of each answer


def prepare_endpoints(args, servers, infos, folder, stamp_for):
    """The endpoints in the order each round loads them, each checked once (and warmed)."""
    full, tenth = infos["full"], infos["tenth"]
    port = servers["full"][0].port
    slug = full["slug"]
    article = f"/articles/{slug}/"
    htmx = {"HX-Request": "true"}
    notes = []

    # The home page is the seeded article; warm it and find "Load more" and the last page.
    status, page = get(port, "/")
    if status != 200:
        raise HarnessError(f"GET / answered {status} on the full-size server")
    more = LOAD_MORE.search(page)
    if more:
        more_url = urllib.parse.urlsplit(html.unescape(more.group(1)))
        query = dict(urllib.parse.parse_qsl(more_url.query))
        more_path = more_url.path
    else:
        notes.append("no 'Load more' link on the article page: page 2 asked for without upto")
        query, more_path = {}, f"{article}comments/more/"
    pages = PAGE_OF.search(page)
    last_page = (
        int(pages.group(1)) if pages else max(1, math.ceil(full["top_level"] / THREADS_PAGE_SIZE))
    )

    def more_page(number):
        return f"{more_path}?{urllib.parse.urlencode({**query, 'page': number})}"

    # A reader who voted, on each database: their session and CSRF cookies.
    voters = {}
    for size, info in infos.items():
        status, _, jar = vote_as_reader(servers[size][0].port, info, info["choice_ids"][0])
        if status != 200 or "sessionid" not in jar:
            raise HarnessError(f"the reader's vote answered {status} ({size} database)")
        voters[size] = {"Cookie": cookie_header(jar)}

    token = new_csrf_secret()
    stamp = stamp_for(token)
    vote_script, comment_script = write_scripts(folder, full, stamp, token)
    results = f"/polls/{full['poll_id']}/results/"
    endpoints = [
        Endpoint("article_anon", "article page, anonymous", "full", "/"),
        Endpoint("article_voter", "article page, reader who voted", "full", "/", voters["full"]),
        Endpoint("comments_page2", "comments page 2 (htmx)", "full", more_page(2), htmx),
        Endpoint(
            "poll_results",
            "poll results (htmx, voter)",
            "full",
            results,
            {**htmx, **voters["full"]},
        ),
        Endpoint("facts_json", "facts.json", "full", f"{article}facts.json"),
        Endpoint(
            "vote_post",
            "vote POST, new guest",
            "full",
            f"/polls/{full['poll_id']}/vote/",
            script=vote_script,
            is_get=False,
        ),
        Endpoint(
            "comment_post",
            "comment POST, new guest",
            "full",
            f"{article}comments/post/",
            script=comment_script,
            is_get=False,
        ),
        Endpoint("growth_article_tenth", "article page, anonymous, tenth size", "tenth", "/"),
        Endpoint(
            "growth_results_tenth",
            "poll results, tenth size",
            "tenth",
            f"/polls/{tenth['poll_id']}/results/",
            {**htmx, **voters["tenth"]},
        ),
        Endpoint(
            "growth_comments_last",
            f"comments page {last_page} (last, htmx)",
            "full",
            more_page(last_page),
            htmx,
        ),
    ]

    expected = {
        "article_anon": 'id="comment-section"',
        "article_voter": "(your vote)",
        "comments_page2": 'id="c-',
        "poll_results": "poll__bars",
        "growth_article_tenth": 'id="comment-section"',
        "growth_results_tenth": "poll__bars",
        "growth_comments_last": 'id="c-',
    }
    checks = {}
    for endpoint in endpoints:
        ports = [server.port for server in servers[endpoint.size]]
        warning = ""
        if endpoint.is_get:
            # Every server answers once first (a warm-up); an error page is not measured.
            answers = [
                request(port, "GET", endpoint.path, headers=endpoint.headers) for port in ports
            ]
            status = next((s for s, _, _ in answers if s != 200), 200)
            body = answers[0][2]
            endpoint.problem = "" if status == 200 else f"answered {status}"
            if not endpoint.problem and endpoint.key == "facts_json":
                try:
                    json.loads(body)
                except ValueError:
                    endpoint.problem = "answered 200 but not JSON"
            marker = expected.get(endpoint.key)
            if not endpoint.problem and marker and marker not in body:
                warning = f"answered 200 without {marker!r} in it (measured all the same)"
        else:
            # Measured whatever it answers: non-2xx answers show in the table.
            status, body = one_post(ports[0], endpoint, full, stamp, token)
            if status != 200:
                warning = f"the POST before the run answered {status}, not 200"
        if warning:
            notes.append(f"{endpoint.label}: {warning}")
        checks[endpoint.key] = status
        shown = f"{status}" + (
            f" ({endpoint.problem or warning})" if endpoint.problem or warning else ""
        )
        print(f"  check {endpoint.label:<40} {endpoint.path[:60]:<60} {shown}")
    return endpoints, checks, notes, last_page


def one_post(port, endpoint, info, stamp, token):
    """The request the Lua script sends, once, to see what it answers."""
    if endpoint.key == "vote_post":
        fields = {"choice": info["choice_ids"][0]}
    else:
        fields = {
            "body": f"Load test check {secrets.token_hex(4)}: small EVs suit cities.",
            "author_name": "Load test guest",
            "email": "",
            "website": "",
            "rendered_at": stamp,
        }
    status, _, body = request(
        port,
        "POST",
        endpoint.path,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "Cookie": f"csrftoken={token}",
            "X-CSRFToken": token,
        },
        body=urllib.parse.urlencode(fields),
    )
    return status, body


# The functional checks of two servers sharing a database and Redis


def functional_checks(server_a, server_b, info, stamp_for):
    a, b = server_a.port, server_b.port
    poll = f"/polls/{info['poll_id']}/"
    first, second = info["choice_ids"][0], info["choice_ids"][1]
    checks = []

    def check(name, passed, detail=""):
        checks.append({"check": name, "passed": bool(passed), "detail": detail})
        print(f"  {'PASS' if passed else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""))

    # Votes and sessions: vote on A, then B knows the reader and their vote.
    status, _, voter = vote_as_reader(a, info, first)
    check("vote on A answers 200", status == 200, f"status {status}")
    status, body = get(b, poll, dict(voter))
    check(
        "the poll on B shows that vote as 'your vote' (A's session)",
        status == 200 and "(your vote)" in body,
        f"status {status}",
    )
    seen = {}
    for name, port in (("A", a), ("B", b)):
        status, body = get(port, f"{poll}results.json", dict(voter))
        seen[name] = json.loads(body) if status == 200 else {"status": status}
    check(
        "results.json on A and B: the same totals and the same choice",
        seen["A"] == seen["B"] and seen["A"].get("your_choice_id") == first,
        f"totals A {seen['A'].get('total_votes')}, B {seen['B'].get('total_votes')}",
    )
    token = csrf_from(get(b, poll, voter)[1])
    status, _ = post(b, f"{poll}vote/", {"choice": second}, voter, token=token)
    status_a, body = get(a, f"{poll}results.json", dict(voter))
    after = json.loads(body) if status_a == 200 else {}
    check(
        "changing the vote on B moves it, seen on A, not a second vote",
        status == 200
        and after.get("your_choice_id") == second
        and after.get("total_votes") == seen["A"].get("total_votes"),
        f"status {status}, total on A {after.get('total_votes')}",
    )

    # Rate limits across servers (2 comments a minute): A, B allowed; A, B refused.
    into_minute = time.time() % 60
    if into_minute > 45:  # a fixed one-minute window: do not straddle its end
        time.sleep(60.5 - into_minute)
    guest = {}
    status, page = get(a, f"/articles/{info['slug']}/", guest)
    token = csrf_from(page)
    stamp = stamp_for(guest.get("csrftoken", ""))
    name = f"Check guest {secrets.token_hex(3)}"
    bodies = [f"Two-server check {secrets.token_hex(4)} number {n}." for n in range(1, 5)]
    statuses = []
    for body, port in zip(bodies, (a, b, a, b), strict=True):
        fields = {
            "body": body,
            "author_name": name,
            "email": "",
            "website": "",
            "rendered_at": stamp,
        }
        statuses.append(
            post(port, f"/articles/{info['slug']}/comments/post/", fields, guest, token=token)[0]
        )
    check(
        "2 comments a minute: posts on A, B, A, B answer 200, 200, 429, 429",
        statuses == [200, 200, 429, 429],
        f"statuses {statuses}",
    )

    # Cached pages: a comment posted on A is on B's anonymous article page within the second
    # that a worker may serve readers without a session the versions it read (A's at once).
    time.sleep(1.1)
    status_b, page_b = get(b, f"/articles/{info['slug']}/")
    status_a, page_a = get(a, f"/articles/{info['slug']}/")
    check(
        "the comment posted on A is on B's (and A's) anonymous article page within a second",
        statuses[0] == 200 and bodies[0] in page_b and bodies[0] in page_a,
        f"statuses {status_a}/{status_b}",
    )
    counts = [re.search(r'id="comment-count"[^>]*>\((\d+)\)', page) for page in (page_a, page_b)]
    counts = [match.group(1) if match else None for match in counts]
    check(
        "A and B show the same comment count",
        counts[0] == counts[1],
        f"A {counts[0]}, B {counts[1]}",
    )

    # Sessions: the guest's session from A is recognised on B (their name, their comments).
    status, page = get(b, f"/articles/{info['slug']}/", dict(guest))
    check(
        "B recognises the guest's session from A (their name kept, their comments theirs)",
        status == 200 and f'value="{name}"' in page and page.count("comment--mine") >= 2,
        f"status {status}, {page.count('comment--mine')} comments marked as theirs",
    )
    return checks


# Memory of the workers


def worker_rss_mib(server):
    master = server.process.pid
    children_file = Path(f"/proc/{master}/task/{master}/children")
    try:
        pids = [int(pid) for pid in children_file.read_text().split()]
    except OSError:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(entry.name))
    sizes = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = round(int(line.split()[1]) / 1024, 1)
    return sizes


# The report


def status_word(met):
    return "MET" if met else "MISSED"


def summarize(endpoints, rounds_data):
    summary = {}
    ceilings = [row["ceiling"] for row in rounds_data]
    summary["ceiling"] = {
        "rps": round(statistics.median(c["rps"] for c in ceilings), 1),
        "p99_ms": max((c["p99_ms"] for c in ceilings if c["p99_ms"] is not None), default=None),
        "non_2xx": sum(c["non_2xx"] for c in ceilings),
        "socket_errors": sum(c["socket_errors"] for c in ceilings),
    }
    for endpoint in endpoints:
        runs = [row[endpoint.key] for row in rounds_data if endpoint.key in row]
        if not runs:
            summary[endpoint.key] = {"label": endpoint.label, "problem": endpoint.problem}
            continue
        shares = [
            row[endpoint.key]["rps"] / row["ceiling"]["rps"] if row["ceiling"]["rps"] else 0
            for row in rounds_data
        ]
        p99s = [run["p99_ms"] for run in runs if run["p99_ms"] is not None]
        summary[endpoint.key] = {
            "label": endpoint.label,
            "path": endpoint.path,
            "rps": round(statistics.median(run["rps"] for run in runs), 1),
            "share": round(statistics.median(shares), 4),
            "p99_ms": max(p99s) if p99s else None,
            "non_2xx": sum(run["non_2xx"] for run in runs),
            "socket_errors": sum(run["socket_errors"] for run in runs),
            "requests": sum(run["requests"] for run in runs),
        }
    return summary


def growth(rounds_data, slow_key, fast_key):
    """How many times faster the small (or early) case is: the median of per-round ratios."""
    ratios = [
        row[fast_key]["rps"] / row[slow_key]["rps"]
        for row in rounds_data
        if slow_key in row and fast_key in row and row[slow_key]["rps"]
    ]
    return round(statistics.median(ratios), 3) if ratios else None


def judge(summary, rounds_data, cache_miss, rss):
    verdicts = []

    for key, (share_target, p99_target) in TARGETS.items():
        row = summary.get(key, {})
        if "rps" not in row:
            verdicts.append({"key": key, "met": False, "why": row.get("problem", "not measured")})
            continue
        met = row["share"] >= share_target
        why = []
        if p99_target is not None and (row["p99_ms"] is None or row["p99_ms"] > p99_target):
            met = False
            why.append("p99")
        if row["non_2xx"] or row["socket_errors"]:
            met = False
            why.append("errors")
        if row["share"] < share_target:
            why.insert(0, "share")
        verdicts.append({"key": key, "met": met, "why": ", ".join(why)})

    growths = {
        "article page, anonymous: tenth size vs full size": growth(
            rounds_data, "article_anon", "growth_article_tenth"
        ),
        "poll results: tenth size vs full size": growth(
            rounds_data, "poll_results", "growth_results_tenth"
        ),
        "comments: page 2 vs the last page (full size)": growth(
            rounds_data, "growth_comments_last", "comments_page2"
        ),
    }
    for label, factor in growths.items():
        verdicts.append(
            {"key": f"growth: {label}", "met": factor is not None and factor <= GROWTH_TARGET}
        )
    cpu = cache_miss.get("cpu_ms_median")
    verdicts.append(
        {"key": "cache miss CPU", "met": cpu is not None and cpu <= CACHE_MISS_CPU_TARGET_MS}
    )
    largest = max((mib for sizes in rss.values() for mib in sizes.values()), default=None)
    verdicts.append(
        {"key": "worker RSS", "met": largest is not None and largest <= WORKER_RSS_TARGET_MIB}
    )
    return verdicts, growths, largest


COLUMNS = [  # title, width, alignment
    ("endpoint", 34, "<"),
    ("req/s", 8, ">"),
    ("share of ceiling", 16, ">"),
    ("p99 ms", 8, ">"),
    ("non-2xx", 8, ">"),
    ("target", 24, "<"),
    ("", 0, "<"),
]


def table_line(*cells):
    return " | ".join(
        f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, COLUMNS, strict=True)
    )


def print_report(args, summary, growths, cache_miss, rss, largest_rss, verdicts, extra):
    met = {verdict["key"]: verdict for verdict in verdicts}
    ceiling = summary["ceiling"]
    servers = f"{args.servers} server{'s' if args.servers > 1 else ''}"
    print()
    print(
        f"== {args.db}, {servers} x {args.workers} sync workers, {args.comments} comments, "
        f"{args.votes} votes; wrk {args.connections} connections, {args.seconds} s x "
        f"{args.rounds} round(s); medians over the rounds, worst p99"
    )
    print(
        f"ceiling (bench/ceiling.py): {ceiling['rps']:.1f} req/s, p99 {fmt_ms(ceiling['p99_ms'])}"
        + (f", {ceiling['non_2xx']} non-2xx" if ceiling["non_2xx"] else "")
    )
    print()
    header = table_line(*(title for title, _, _ in COLUMNS))
    print(header)
    print("-" * len(header) + "-" * 20)
    for key, (share_target, p99_target) in TARGETS.items():
        row = summary[key]
        target = f">= {share_target:.0%}" + (f", p99 <= {p99_target} ms" if p99_target else "")
        verdict = met[key]
        word = status_word(verdict["met"]) + (f" ({verdict['why']})" if verdict.get("why") else "")
        if "rps" not in row:
            print(table_line(row["label"], "-", "-", "-", "-", target, word))
            continue
        errors = str(row["non_2xx"])
        if row["socket_errors"]:
            errors += f" +{row['socket_errors']} socket errors"
        p99 = f"{row['p99_ms']:.1f}" if row["p99_ms"] is not None else "-"
        rps, share = f"{row['rps']:.1f}", f"{row['share']:.1%}"
        print(table_line(row["label"], rps, share, p99, errors, target, word))
    print()
    print(f"growth (req/s of the smaller case / of the larger one; target <= {GROWTH_TARGET}x):")
    for label, factor in growths.items():
        shown = f"{factor:.2f}x" if factor is not None else "not measured"
        print(f"  {label:<50} {shown:>12}  {status_word(met['growth: ' + label]['met'])}")
    for key in ("growth_article_tenth", "growth_results_tenth", "growth_comments_last"):
        row = summary[key]
        if "rps" in row:
            print(
                f"    {row['label']:<48} {row['rps']:>8.1f} req/s, p99 {fmt_ms(row['p99_ms'])}"
                + (f", {row['non_2xx']} non-2xx" if row["non_2xx"] else "")
            )
        else:
            print(f"    {row['label']:<48} not measured: {row['problem']}")
    print()
    print(
        f"article page, cache miss after a vote (in-process, median of "
        f"{cache_miss.get('repeats')}): {fmt_ms(cache_miss.get('cpu_ms_median'))} CPU, "
        f"{fmt_ms(cache_miss.get('wall_ms_median'))} wall, status {cache_miss.get('status')}; "
        f"target <= {CACHE_MISS_CPU_TARGET_MS} ms CPU  {status_word(met['cache miss CPU']['met'])}"
    )
    print(
        f"  after a new comment (threads read again): "
        f"{fmt_ms(cache_miss.get('after_comment_cpu_ms_median'))} CPU; "
        f"cold (every cache empty): {fmt_ms(cache_miss.get('cold_cpu_ms_median'))} CPU"
    )
    print(
        f"gunicorn worker RSS after the run: largest {largest_rss} MiB; "
        f"target <= {WORKER_RSS_TARGET_MIB} MiB  {status_word(met['worker RSS']['met'])}"
    )
    for name, sizes in rss.items():
        print(f"  {name:<14} " + ", ".join(f"{mib} MiB" for mib in sizes.values()))
    for line in extra:
        print(line)


def fmt_ms(value):
    return f"{value:.1f} ms" if isinstance(value, int | float) else "-"


# The run


def measure(args, processes, folder):
    """The whole run: databases, checks, servers, rounds, then the report."""
    environments, infos, stamp_for = build_databases(args, processes, folder)
    checks = []
    if args.servers == 2:
        checks = run_two_server_checks(processes, folder, environments["full"], infos, stamp_for)
    servers = start_servers(args, processes, folder, environments)

    load_before = os.getloadavg()
    print("checking each endpoint once (and warming it):")
    endpoints, first_answers, notes, last_page = prepare_endpoints(
        args, servers, infos, folder, stamp_for
    )
    only = {key.strip() for key in args.only.split(",") if key.strip()}
    for endpoint in endpoints:
        if only and endpoint.key not in only and not endpoint.problem:
            endpoint.problem = "not in --only"
    rounds_data = run_rounds(args, processes, servers, endpoints)
    load_after = os.getloadavg()

    rss = {server.name: worker_rss_mib(server) for group in servers.values() for server in group}
    app_rss = {name: sizes for name, sizes in rss.items() if not name.startswith("ceiling")}
    logs = {}
    for group in servers.values():
        for server in list(group):
            processes.stop_server(server)
            text = server.log_path.read_text(errors="replace")
            logs[server.name] = {
                "tracebacks": text.count("Traceback"),
                "worker_timeouts": text.count("WORKER TIMEOUT"),
            }
    # After the servers are gone, so that nothing else competes for the CPU.
    cache_miss = child(environments["full"], "cache_miss", 20)

    summary = summarize(endpoints, rounds_data)
    verdicts, growths, largest_rss = judge(summary, rounds_data, cache_miss, app_rss)
    cpus = os.cpu_count() or 1
    busy = max(load_before[0], load_after[0])
    if busy > cpus:
        notes.append(
            f"the machine was busy: 1-minute load average up to {busy:.1f} on {cpus} CPUs "
            "(this run's own load included); the numbers are noisy, compare shares of the ceiling"
        )
    troubled = {name: log for name, log in logs.items() if any(log.values())}
    if troubled:
        notes.append(f"server logs: {troubled}")
    notes += [note for info in infos.values() for note in info["notes"]]
    extra = [f"note: {note}" for note in notes]
    print_report(args, summary, growths, cache_miss, app_rss, largest_rss, verdicts, extra)
    if checks:
        print("two-server checks:")
        for check in checks:
            print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['check']}")

    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "options": vars(args),
        "databases": infos,
        "last_comments_page": last_page,
        "first_answers": first_answers,
        "rounds": rounds_data,
        "summary": summary,
        "growth": growths,
        "cache_miss": cache_miss,
        "worker_rss_mib": {name: list(sizes.values()) for name, sizes in rss.items()},
        "server_logs": logs,
        "two_server_checks": checks,
        "targets": {
            "endpoints": {key: {"share": s, "p99_ms": p} for key, (s, p) in TARGETS.items()},
            "growth_max": GROWTH_TARGET,
            "cache_miss_cpu_ms": CACHE_MISS_CPU_TARGET_MS,
            "worker_rss_mib": WORKER_RSS_TARGET_MIB,
        },
        "verdicts": verdicts,
        "notes": notes,
        "load_average": {"before": load_before, "after": load_after, "cpus": cpus},
    }
    RESULTS.mkdir(exist_ok=True)
    when = datetime.now().strftime("%Y-%m-%d-%H%M%S")
    path = RESULTS / f"{when}-{args.db}-{args.servers}server.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {path.relative_to(ROOT)}")


def build_databases(args, processes, folder):
    """The full-size and tenth-size databases, the static files, and a maker of comment form
    stamps (a stamp serves only the browser whose CSRF secret it was made for)."""
    secret_key = secrets.token_urlsafe(50)
    write_settings_module(folder)
    environments = {
        size: production_environment(folder, args, size, secret_key) for size in ("full", "tenth")
    }
    sizes = {"full": (args.comments, args.votes), "tenth": (args.comments // 10, args.votes // 10)}
    if args.db == "postgres":
        ensure_services(processes, folder)
        for size in sizes:
            postgres_recreate(PG_DATABASES[size])
            redis_flush(REDIS_DBS[size])
    infos = {}
    for size, (comments, votes) in sizes.items():
        started = time.monotonic()
        infos[size] = info = build_database(environments[size], comments, votes)
        print(
            f"built the {size}-size database: {info['comments']} comments "
            f"({info['top_level']} threads), {info['votes']} votes in "
            f"{time.monotonic() - started:.1f} s"
            + (f"; {'; '.join(info['notes'])}" if info["notes"] else "")
        )
    manage(environments["full"], "collectstatic", "--noinput", "--verbosity", "0")

    def stamp_for(csrf_secret):
        return child(environments["full"], "stamp", csrf_secret)["stamp"]

    return environments, infos, stamp_for


def run_two_server_checks(processes, folder, environment, infos, stamp_for):
    """A short-lived pair of servers on the full-size database, with a comment limit on."""
    print("functional checks, two servers on one database and Redis (2 comments a minute):")
    limited = {**environment, "EVR_COMMENTS_PER_MINUTE": "2"}
    pair = [
        processes.start_gunicorn(
            f"check-{name}", "evsite.wsgi", port=free_port(), workers=1,
            env=limited, cwd=ROOT, folder=folder,
        )
        for name in ("a", "b")
    ]  # fmt: skip
    for server in pair:
        wait_until_serving(server, "/")
    checks = functional_checks(pair[0], pair[1], infos["full"], stamp_for)
    for server in pair:
        processes.stop_server(server)
    return checks


def start_servers(args, processes, folder, environments):
    """Per --servers: a ceiling, a full-size and a tenth-size app server, all answering."""
    ceiling_env = {**inherited_environment(), "EVR_CEILING_ALLOWED_HOSTS": HOST}
    servers = {"ceiling": [], "full": [], "tenth": []}
    for suffix in "ab"[: args.servers]:
        servers["ceiling"].append(
            processes.start_gunicorn(
                f"ceiling-{suffix}", "ceiling:application", port=free_port(),
                workers=args.workers, env=ceiling_env, cwd=BENCH, folder=folder,
            )
        )  # fmt: skip
        for size in ("full", "tenth"):
            servers[size].append(
                processes.start_gunicorn(
                    f"{size}-{suffix}", "evsite.wsgi", port=free_port(),
                    workers=args.workers, env=environments[size], cwd=ROOT, folder=folder,
                )
            )  # fmt: skip
    for group in servers.values():
        for server in group:
            wait_until_serving(server, "/")
    listed = ", ".join(f"{s.name} on :{s.port}" for group in servers.values() for s in group)
    print(f"serving: {listed}")
    return servers


def run_rounds(args, processes, servers, endpoints):
    """Each round: the ceiling, then every endpoint that answered its check, in turn."""
    ceiling = Endpoint("ceiling", "ceiling", "ceiling", "/")
    measured = [endpoint for endpoint in endpoints if not endpoint.problem]
    if args.warmup > 0:
        # "Warm" as a site in use is: every worker has served each page before (the checks
        # above reached one worker only). Not measured.
        warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup})
        for endpoint in measured:
            if endpoint.is_get:
                run_wrk(processes, endpoint, [s.port for s in servers[endpoint.size]], warm, "w")
        print(f"  warm-up: {args.warmup} s of load on each GET endpoint, not measured")
    rounds_data = []
    for number in range(1, args.rounds + 1):
        row = {}
        for endpoint in [ceiling, *measured]:
            ports = [server.port for server in servers[endpoint.size]]
            row[endpoint.key] = result = run_wrk(processes, endpoint, ports, args, f"r{number}")
            print(
                f"  round {number}  {endpoint.label:<40} {result['rps']:>9.1f} req/s  "
                f"p99 {fmt_ms(result['p99_ms']):>10}"
                + (f"  non-2xx {result['non_2xx']}" if result["non_2xx"] else "")
                + (f"  socket errors {result['socket_errors']}" if result["socket_errors"] else "")
            )
        rounds_data.append(row)
    return rounds_data


def git_commit():
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return result.stdout.strip() or None
    return None


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=10000, help="comments on the article")
    parser.add_argument("--votes", type=int, default=50000, help="votes in its poll")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--servers", type=int, choices=[1, 2], default=1)
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--warmup", type=int, default=1, help="seconds of unmeasured load on each GET first"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections in all")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument(
        "--only",
        default="",
        help="measure only these endpoints (comma-separated keys, e.g. vote_post,poll_results)",
    )
    args = parser.parse_args()
    if args.servers == 2 and args.db != "postgres":
        parser.error("--servers 2 needs --db postgres: two servers must share one database")
    if not 0 <= args.comments <= 1_000_000 or not 0 <= args.votes <= 5_000_000:
        parser.error("--comments must be 0 to 1,000,000 and --votes 0 to 5,000,000")
    if not 1 <= args.seconds <= 600 or not 1 <= args.rounds <= 20:
        parser.error("--seconds must be 1 to 600 and --rounds 1 to 20")
    if not args.servers <= args.connections <= 1000 or not 1 <= args.workers <= 32:
        parser.error("--connections must be --servers to 1000 and --workers 1 to 32")

    signal.signal(signal.SIGTERM, raise_on_sigterm)
    # Ctrl-C stops the run even when it was started where SIGINT is ignored (in background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    processes = Processes()
    folder = Path(tempfile.mkdtemp(prefix="evr-load-"))
    try:
        ensure_wrk()
        measure(args, processes, folder)
        return 0
    except HarnessError as error:
        print(f"\nload.py failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping what this run started", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        if args.db == "postgres":
            with contextlib.suppress(Exception):
                for size, name in PG_DATABASES.items():
                    postgres_recreate(name, drop_only=True)
                    redis_flush(REDIS_DBS[size])
        shutil.rmtree(folder, ignore_errors=True)


# The children: run with the site's environment (`child()` above), each prints one JSON line


def child_main(command, *arguments):
    import django

    django.setup()
    if command == "build":
        result = child_build(int(arguments[0]), int(arguments[1]))
    elif command == "stamp":
        from comments.forms import form_stamp

        # Backdated, so that posting it is not "quicker than a person".
        result = {"stamp": form_stamp(arguments[0], now=time.time() - 60)}
    elif command == "cache_miss":
        result = child_cache_miss(int(arguments[0]))
    else:
        raise SystemExit(f"unknown child command {command!r}")
    print(json.dumps(result))


def child_build(comment_count, vote_count):
    """N comments (a third start threads, the rest reply one and two levels down) and M
    votes, in bulk; the counters the models keep are set to match."""
    from collections import Counter
    from datetime import timedelta

    from django.core.exceptions import FieldDoesNotExist
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from articles.models import Article
    from comments.models import Comment, Poll, PollChoice, Vote

    article = Article.objects.featured()
    if article is None:
        raise SystemExit("load_seed left no published article")
    poll = article.polls.order_by("position", "pk").first()
    if poll is None:
        raise SystemExit("the seeded article has no poll")
    choices = list(poll.choices.order_by("position", "pk"))
    notes = []
    now = timezone.now()
    span = timedelta(days=30)
    newest = now - timedelta(hours=2)  # replies come up to a few minutes after their parent

    tops_n = max(1, comment_count // 3) if comment_count else 0
    rest = comment_count - tops_n
    depth1_n = (rest + 1) // 2
    depth2_n = rest - depth1_n
    top_times = [newest - span * (tops_n - 1 - i) / max(tops_n, 1) for i in range(tops_n)]
    depth1_top = [j % tops_n for j in range(depth1_n)]
    depth1_times = [
        top_times[depth1_top[j]] + timedelta(minutes=1 + j // tops_n) for j in range(depth1_n)
    ]
    depth2_parent = [k % depth1_n for k in range(depth2_n)] if depth1_n else []
    depth2_times = [
        depth1_times[depth2_parent[k]] + timedelta(minutes=1 + k // depth1_n)
        for k in range(depth2_n)
    ]
    replies_per_top = [0] * tops_n
    for top in depth1_top:
        replies_per_top[top] += 1
    for parent in depth2_parent:
        replies_per_top[depth1_top[parent]] += 1

    def body(n, kind):
        link = f" More at https://example.com/ev/{n}." if n % 10 == 0 else ""
        return (
            f"{kind} {n}: small cars make sense in cities, but range and price decide "
            f"what people buy; a 150-mile car covers most commutes.{link}"
        )

    def comment(n, kind, created_at, **fields):
        return Comment(
            article=article,
            author_name=f"Reader {n}",
            reader_token=f"bench-{n}",
            body=body(n, kind),
            created_at=created_at,
            **fields,
        )

    timings = {}
    started = time.monotonic()
    with transaction.atomic():
        tops = Comment.objects.bulk_create(
            (
                comment(i, "Comment", top_times[i], depth=0, reply_count=replies_per_top[i])
                for i in range(tops_n)
            ),
            batch_size=1000,
        )
        depth1 = Comment.objects.bulk_create(
            (
                comment(tops_n + j, "Reply", depth1_times[j], depth=1, parent=tops[depth1_top[j]])
                for j in range(depth1_n)
            ),
            batch_size=1000,
        )
        Comment.objects.bulk_create(
            (
                comment(
                    tops_n + depth1_n + k,
                    "Reply",
                    depth2_times[k],
                    depth=2,
                    parent=depth1[depth2_parent[k]],
                )
                for k in range(depth2_n)
            ),
            batch_size=1000,
        )
        timings["comments"] = round(time.monotonic() - started, 2)
        if vote_count and choices:
            Vote.objects.bulk_create(
                (
                    Vote(
                        poll=poll,
                        choice=choices[n % len(choices)],
                        reader_token=f"bench-vote-{n}",
                        created_at=now - span * (vote_count - n) / vote_count,
                    )
                    for n in range(vote_count)
                ),
                batch_size=2000,
            )

    timings["votes"] = round(time.monotonic() - started - timings["comments"], 2)
    started = time.monotonic()
    # reply_count was set above as comments.services.thread_reply_counts_refresh counts it:
    # every approved, undeleted reply in the thread. (Calling that function for every thread
    # takes 45 s for 3,333 threads on PostgreSQL.) Here, one query checks it per thread.
    in_thread = Counter()
    shown = Comment.objects.filter(
        article=article, status=Comment.Status.APPROVED, deleted_at__isnull=True
    ).order_by()
    for root in ("parent_id", "parent__parent_id"):
        depth = 1 if root == "parent_id" else 2
        rows = shown.filter(depth=depth).values_list(root).annotate(n=Count("pk"))
        in_thread.update(dict(rows))
    stored = Comment.objects.filter(article=article, parent__isnull=True).values_list(
        "pk", "reply_count"
    )
    wrong = sum(1 for pk, count in stored if count != in_thread.get(pk, 0))
    if wrong:
        notes.append(f"reply_count differs from the replies in {wrong} threads")
    timings["reply_counts"] = round(time.monotonic() - started, 2)
    started = time.monotonic()

    # Counter columns (another change may add them): set to what they count.
    def concrete(model, name):
        try:
            return model._meta.get_field(name).concrete
        except FieldDoesNotExist:
            return False

    set_counters = []
    for name in ("vote_count", "votes_count", "total_votes", "num_votes"):
        if concrete(PollChoice, name):
            for choice in PollChoice.objects.annotate(n=Count("votes")):
                PollChoice.objects.filter(pk=choice.pk).update(**{name: choice.n})
            set_counters.append(f"PollChoice.{name}")
        if concrete(Poll, name):
            for each in Poll.objects.annotate(n=Count("votes")):
                Poll.objects.filter(pk=each.pk).update(**{name: each.n})
            set_counters.append(f"Poll.{name}")
    for name in ("comment_count", "comments_count"):
        if concrete(Article, name):
            for each in Article.objects.all():
                shown = each.comments.filter(
                    status=Comment.Status.APPROVED, deleted_at__isnull=True
                )
                Article.objects.filter(pk=each.pk).update(**{name: shown.count()})
            set_counters.append(f"Article.{name}")
    handled = {c.split(".")[1] for c in set_counters} | {
        "reply_count",
        "helpful_count",  # no helpful marks, no reports: 0 is right
        "report_count",
    }
    for model in (Article, Comment, Poll, PollChoice, Vote):
        for each in model._meta.concrete_fields:
            if "count" in each.name and each.name not in handled:
                notes.append(f"counter {model.__name__}.{each.name} not set by the harness")

    timings["counters"] = round(time.monotonic() - started, 2)
    if connection.vendor == "postgresql":
        # The planner's statistics, as autovacuum gathers them within a minute of a bulk
        # load: without them it plans for the empty tables the migrations made.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    top_level = Comment.objects.filter(article=article, parent__isnull=True).count()
    return {
        "slug": article.slug,
        "url": article.get_absolute_url(),
        "poll_id": poll.pk,
        "choice_ids": [choice.pk for choice in choices],
        "comments": Comment.objects.filter(article=article).count(),
        "top_level": top_level,
        "votes": Vote.objects.filter(poll=poll).count(),
        "counters_set": set_counters,
        "seconds": timings,
        "notes": notes,
    }


def child_cache_miss(repeats):
    """CPU time of the article page when its cached copy is gone, in-process with production
    settings, median of `repeats`:

    - "page miss": a vote moved the polls version on (as every vote does), so the page is
      rendered again around fragments that did not change (the article, the threads);
    - "after a comment": the discussion version moved on, so the threads are read again;
    - "cold": every configured cache emptied first.
    """
    from django.conf import settings
    from django.core.cache import caches
    from django.test import Client

    from evsite.caching import DISCUSSION, POLLS, bump, local_pages

    client = Client(HTTP_HOST=HOST)
    statuses = set()

    def clear_all():
        for alias in settings.CACHES:
            caches[alias].clear()
        local_pages.clear()

    def timed(prepare):
        cpu, wall = [], []
        client.get("/")  # warm: templates, code, and the fragments the case keeps
        for _ in range(repeats):
            prepare()
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            response = client.get("/")
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started_wall) * 1000)
            statuses.add(response.status_code)
        return round(statistics.median(cpu), 2), round(statistics.median(wall), 2)

    page_cpu, page_wall = timed(lambda: bump(POLLS))
    comment_cpu, _ = timed(lambda: bump(DISCUSSION))
    cold_cpu, _ = timed(clear_all)
    return {
        "repeats": repeats,
        "status": sorted(statuses),
        "cpu_ms_median": page_cpu,
        "wall_ms_median": page_wall,
        "after_comment_cpu_ms_median": comment_cpu,
        "cold_cpu_ms_median": cold_cpu,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["_child"]:
        child_main(*sys.argv[2:])
    else:
        sys.exit(main())
