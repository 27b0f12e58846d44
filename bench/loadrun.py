"""Load run: simulated readers under gunicorn with faults, then every accepted write checked.

    make loadrun                                         # SQLite, 200 readers, 75 s
    make loadrun LOADRUN_ARGS="--db postgres"            # PostgreSQL and Redis
    .venv/bin/python bench/loadrun.py --db postgres --readers 250 --seconds 90

Not a test and not a benchmark of speed: a check that nothing is lost or doubled when many
readers write at once while things fail. It builds its own database (migrate and load_seed
into a temporary SQLite file, or a PostgreSQL database `evr_loadrun` dropped and created
here), collects the static files into a temporary STATIC_ROOT and starts the site under
gunicorn with production settings (as bench/load.py does, whose helpers it uses), on
127.0.0.1 only.

Each simulated reader is a thread acting like a browser with its own cookie jar: it GETs the
article page (or a reply form), takes the csrfmiddlewaretoken and the comment form's
rendered_at stamp from the HTML, thinks for a few seconds (so the "too fast" rule does not
refuse), then posts a comment or a reply with a body that carries a unique tag (so the
duplicate rule does not refuse either, and the comment can be found afterwards), marks
others' comments helpful (each at most once), votes in the poll and sometimes changes its
vote, and reads pages, comment lists and poll results in between. Half the writes go as
htmx sends them, half as a plain form. Every request's outcome is recorded client-side.

Faults during the run: one gunicorn worker is killed with SIGKILL (the master starts another)
and, with --db postgres, Redis is stopped and started again. Redis is a private redis-server
this run starts on a free port (or --redis-port), so that restarting it disturbs nobody
else's Redis on this machine; a Redis this run did not start is never restarted. A fault
lasts from its start until the service is back, plus a few seconds' grace.

Afterwards the database is read and compared with what the readers were told:

- comments and replies: each body that got a success answer (200, or 302 without htmx) is
  there exactly once; one that got a refusal or an error is not there (a request that got no
  answer at all may have gone either way, and is only counted);
- helpful marks and votes, per reader (by the guest token in the reader's session): every
  mark that got a success answer is there; the reader's vote is the choice of their last
  successful vote (or of a later attempt whose answer was lost);
- counters: every choice's vote_count equals its votes, every comment's helpful_count what
  its marks count for;
- no answer was a 5xx, except a 503 while a fault lasted.

It prints a table of the counts per kind of request (requests, successes, refusals by
status, 5xx during and outside faults, no answer, lost, doubled, stored though refused), and
exits 1 when anything was lost, doubled or stored though refused, a counter is off or an
unexpected 5xx (or a request without answer outside a fault) happened; 2 when the harness
itself failed; 130 on Ctrl-C. Everything it started is stopped and removed on the way out.

Each reader has its own address, sent in X-Forwarded-For (the site trusts one proxy for
the run), so limits and counts per address see many readers, not one. Rate limits are off
for the run: every EVR_*_PER_* limit found in the code is 0 in the run's settings module;
--keep-limits keeps the site's own, and their 429s count as refusals, not successes.
"""

import argparse
import contextlib
import html
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import load  # noqa: E402  bench/load.py: processes, services, settings module, HTTP helpers

ROOT = load.ROOT
HOST = load.HOST
PG_DATABASE = "evr_loadrun"
SUCCESS = {200, 302}
RATE_LIMIT_NAME = re.compile(r"\bEVR_[A-Z0-9_]*_PER_[A-Z0-9_]+\b")
REQUEST_TIMEOUT = 60
FAULT_GRACE = 3.0  # seconds after a service is back during which the fault still counts

STAMP_INPUT = re.compile(r'<input\b[^>]*\bname="rendered_at"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')
COMMENT_ID = re.compile(r'\bid="c-(\d+)"')
HELPFUL_BUTTON = re.compile(r'\bid="helpful-(\d+)-button"')
POLL_FORM = re.compile(r'\baction="/polls/(\d+)/vote/"')
CHOICE_INPUT = re.compile(r'<input\b[^>]*\bname="choice"[^>]*>')
COMMENT_FORM = re.compile(r'\baction="(/articles/[^"/]+/comments/post/)"')

VOCABULARY = (
    "small electric cars make sense in cities where most trips are short and parking is "
    "tight the range matters less than the price and a charger at home changes it "
    "batteries keep getting cheaper while people still worry about winter and long "
    "drives a compact hatchback with two hundred kilometres would cover my week"
)
WORDS = VOCABULARY.split()


class HarnessError(load.HarnessError):
    """The harness could not do its job."""


# --- What every request told the reader ------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # page, form, comment, reply, helpful, vote
    reader: int
    started: float
    ended: float
    status: int | None  # None: no answer (connection closed, reset or timed out)
    error: str = ""
    tag: str = ""  # the comment's unique tag
    comment: int | None = None  # the comment marked helpful
    choice: int | None = None  # the choice voted for
    session: str = ""  # the session cookie after the answer: whose write it was


@dataclass
class Run:
    port: int
    slug: str
    poll: int
    choices: list
    deadline: float
    think: tuple
    tag: str
    outcomes: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def record(self, outcome):
        with self.lock:
            self.outcomes.append(outcome)


def send(run, method, path, jar, *, fields=None, htmx=False, token=None, address=None):
    """One request as a browser sends it; returns (status or None, body, error)."""
    headers = {"Cookie": load.cookie_header(jar)} if jar else {}
    if address:
        headers["X-Forwarded-For"] = address
    body = None
    if htmx:
        headers["HX-Request"] = "true"
    if method == "POST":
        fields = dict(fields or {})
        if token:
            fields["csrfmiddlewaretoken"] = token
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(fields)
    try:
        status, response_headers, text = load.request(
            run.port, method, path, headers=headers, body=body, timeout=REQUEST_TIMEOUT
        )
    except (OSError, load.http.client.HTTPException) as error:
        return None, "", f"{type(error).__name__}: {error}"[:200]
    load.set_cookies(jar, response_headers)
    return status, text, ""


# --- One simulated reader --------------------------------------------------------------------


class Reader:
    def __init__(self, run, number, rng):
        self.run = run
        self.number = number
        self.rng = rng
        self.jar = {}
        self.posted = 0
        self.seen = []  # comment ids on the last page read
        self.markable = []  # those with a helpful button for this reader
        self.marked = set()
        self.token = None
        # RFC 2544's benchmarking range, only ever a header value: one address per reader.
        self.address = f"198.18.{number // 256}.{number % 256}"

    # Requests, each recorded

    def request(self, kind, method, path, *, fields=None, htmx=False, **facts):
        started = time.monotonic()
        status, body, error = send(
            self.run,
            method,
            path,
            self.jar,
            fields=fields,
            htmx=htmx,
            token=self.token,
            address=self.address,
        )
        self.run.record(
            Outcome(
                kind,
                self.number,
                started,
                time.monotonic(),
                status,
                error,
                session=self.jar.get("sessionid", ""),
                **facts,
            )
        )
        if status == 200 and body:
            token = load.csrf_from(body)
            if token:
                self.token = token
        return status, body

    def read_page(self, kind="page", path=None, htmx=False):
        path = path or f"/articles/{self.run.slug}/"
        status, body = self.request(kind, "GET", path, htmx=htmx)
        if status == 200:
            ids = [int(pk) for pk in COMMENT_ID.findall(body)]
            if ids:
                self.seen = ids
                self.markable = [int(pk) for pk in HELPFUL_BUTTON.findall(body)]
        return status, body

    # Think time: a person reading and typing; cut short when the run ends

    def pause(self, low, high):
        return not self.run.stop.wait(self.rng.uniform(low, high))

    def in_time(self):
        return time.monotonic() < self.run.deadline and not self.run.stop.is_set()

    # What a reader does

    def text(self):
        self.posted += 1
        tag = f"{self.run.tag}r{self.number}n{self.posted}"
        words = self.rng.sample(WORDS, self.rng.randint(6, 18))
        return tag, f"{' '.join(words).capitalize()}. ({tag})"

    def comment(self):
        status, body = self.read_page()
        stamp = stamp_from(body) if status == 200 else None
        if stamp is None or not self.pause(*self.run.think) or not self.in_time():
            return
        self.post_comment(f"/articles/{self.run.slug}/comments/post/", stamp, "comment")

    def reply(self):
        if not self.seen:
            return self.comment()
        parent = self.rng.choice(self.seen)
        path = f"/comments/{parent}/reply/"
        status, body = self.request("form", "GET", path, htmx=True)
        stamp = stamp_from(body) if status == 200 else None
        if stamp is None or not self.pause(*self.run.think) or not self.in_time():
            return
        self.post_comment(path, stamp, "reply")

    def post_comment(self, path, stamp, kind):
        tag, text = self.text()
        fields = {
            "body": text,
            "author_name": f"Load reader {self.number}",
            "email": "",
            "website": "",
            "rendered_at": stamp,
        }
        htmx = self.rng.random() < 0.5
        self.request(kind, "POST", path, fields=fields, htmx=htmx, tag=tag)

    def helpful(self):
        if not self.markable:
            self.read_page()
        candidates = [pk for pk in self.markable if pk not in self.marked]
        if not candidates or not self.pause(0.5, 2) or not self.in_time():
            return
        pk = self.rng.choice(candidates)
        self.marked.add(pk)  # never twice: a second mark would take the first back
        htmx = self.rng.random() < 0.5
        self.request("helpful", "POST", f"/comments/{pk}/helpful/", htmx=htmx, comment=pk)

    def vote(self):
        status, _ = self.request("page", "GET", f"/polls/{self.run.poll}/")
        if status != 200 or not self.pause(1, 3) or not self.in_time():
            return
        choice = self.rng.choice(self.run.choices)
        htmx = self.rng.random() < 0.5
        path = f"/polls/{self.run.poll}/vote/"
        self.request("vote", "POST", path, fields={"choice": choice}, htmx=htmx, choice=choice)

    def browse(self):
        what = self.rng.random()
        if what < 0.4:
            self.read_page()
        elif what < 0.6:
            sort = self.rng.choice(["newest", "oldest", "helpful", "discussed"])
            path = f"/articles/{self.run.slug}/comments/?sort={sort}"
            self.read_page(path=path, htmx=True)
        elif what < 0.75:
            path = f"/articles/{self.run.slug}/comments/more/?page=2"
            self.request("page", "GET", path, htmx=True)
        elif what < 0.9:
            self.request("page", "GET", f"/polls/{self.run.poll}/results/", htmx=True)
        elif self.seen:
            self.request("page", "GET", f"/comments/{self.rng.choice(self.seen)}/")

    ACTIONS = (("browse", 30), ("comment", 25), ("reply", 15), ("helpful", 18), ("vote", 12))

    def live(self):
        names, weights = zip(*self.ACTIONS, strict=True)
        if not self.pause(0, 5):  # readers arrive over the first seconds
            return
        self.read_page()
        while self.in_time():
            action = self.rng.choices(names, weights)[0]
            try:
                getattr(self, action)()
            except Exception as error:  # a bug here must not end the run quietly
                self.run.record(
                    Outcome("harness", self.number, time.monotonic(), time.monotonic(), None,
                            f"{type(error).__name__}: {error}")
                )  # fmt: skip
            if not self.pause(0.3, 1.5):
                break


def stamp_from(body):
    match = STAMP_INPUT.search(body or "")
    if not match:
        return None
    value = VALUE.search(match.group(0))
    return html.unescape(value.group(1)) if value else None


# --- Faults ----------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float
    ended: float | None = None
    detail: str = ""

    def covers(self, started, ended):
        end = (self.ended if self.ended is not None else float("inf")) + FAULT_GRACE
        return started <= end and ended >= self.started


def gunicorn_workers(master_pid):
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    with contextlib.suppress(OSError):
        return [int(pid) for pid in path.read_text().split()]
    return []


def kill_a_worker(server, workers, faults):
    pids = gunicorn_workers(server.process.pid)
    if not pids:
        raise HarnessError("found no gunicorn worker to kill")
    victim = random.choice(pids)
    fault = Fault("worker killed", time.monotonic(), detail=f"SIGKILL to worker {victim}")
    faults.append(fault)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = [pid for pid in gunicorn_workers(server.process.pid) if pid != victim]
        if len(alive) >= workers:
            break
        time.sleep(0.1)
    fault.ended = time.monotonic()
    fault.detail += f"; {len(gunicorn_workers(server.process.pid))} workers again after "
    fault.detail += f"{fault.ended - fault.started:.1f} s"


class PrivateRedis:
    """A redis-server this run starts, stops and starts again (never anybody else's)."""

    def __init__(self, folder, port):
        self.folder = folder
        self.port = port
        self.pidfile = folder / "redis.pid"
        self.running = False

    def start(self):
        if load.port_open(self.port):
            raise HarnessError(
                f"port {self.port} is taken: a Redis this run did not start is not restarted"
            )
        subprocess.run(
            [
                *("redis-server", "--daemonize", "yes", "--bind", HOST),
                *("--port", str(self.port), "--save", "", "--appendonly", "no"),
                *("--pidfile", str(self.pidfile), "--dir", str(self.folder)),
                *("--logfile", str(self.folder / "redis.log")),
            ],
            check=True,
            timeout=30,
        )
        self.running = True
        load.wait_for(lambda: load.port_open(self.port), "Redis")

    def stop(self):
        if not self.running:
            return
        with contextlib.suppress(OSError, ValueError):
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
        self.running = False

    def restart(self, down_seconds, faults):
        fault = Fault("Redis restarted", time.monotonic())
        faults.append(fault)
        self.stop()
        time.sleep(down_seconds)
        self.start()
        fault.ended = time.monotonic()
        fault.detail = f"down {fault.ended - fault.started:.1f} s"


def run_faults(args, run, server, redis, faults, started):
    """Kill a worker at --kill-at, restart Redis at --redis-at (fractions of the run)."""
    plan = [(args.kill_at, "kill")]
    if redis is not None:
        plan.append((args.redis_at, "redis"))
    for fraction, what in sorted(plan):
        if run.stop.wait(max(0, started + fraction * args.seconds - time.monotonic())):
            return
        print(f"  {time.monotonic() - started:5.1f} s: {what}", flush=True)
        if what == "kill":
            kill_a_worker(server, args.workers, faults)
        else:
            redis.restart(args.redis_down, faults)


# --- Setting up ------------------------------------------------------------------------------


def rate_limit_names():
    names = set()
    for package in ROOT.iterdir():
        if package.name in {"tests", "bench"} or not (package / "__init__.py").exists():
            continue
        for path in package.rglob("*.py"):
            names.update(RATE_LIMIT_NAME.findall(path.read_text(errors="replace")))
    return sorted(names)


def write_settings_module(folder, args):
    """evsite.settings as it is, with STATIC_ROOT in the temporary folder and, unless
    --keep-limits, every rate limit off: also those read with getattr and no environment
    variable of their own."""
    (folder / "static").mkdir()
    lines = [
        "from evsite.settings import *  # noqa: F403",
        "",
        f"STATIC_ROOT = {str(folder / 'static')!r}",
    ]
    if not args.keep_limits:
        lines += [f"{name} = 0" for name in rate_limit_names()]
    (folder / "loadrun_settings.py").write_text("\n".join(lines) + "\n")


def site_environment(args, folder, redis_port):
    environment = load.inherited_environment()
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "loadrun_settings",
            "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
            # Each reader sends its own address in X-Forwarded-For (a header only: every
            # request goes to 127.0.0.1), as a proxy in front of the site would.
            "EVR_TRUSTED_PROXY_COUNT": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_STATIC_MANIFEST": "1",
        }
    )
    if not args.keep_limits:
        environment.update(dict.fromkeys(rate_limit_names(), "0"))
    if args.db == "postgres":
        environment["DATABASE_URL"] = f"postgres://postgres@{HOST}:5432/{PG_DATABASE}"
        environment["REDIS_URL"] = f"redis://{HOST}:{redis_port}/0"
    else:
        environment["EVR_SQLITE_PATH"] = str(folder / "loadrun.sqlite3")
        environment["EVR_CACHE_DIR"] = str(folder / "cache")
    return environment


def ensure_postgres(processes):
    if load.port_open(5432):
        return
    print("PostgreSQL is down: starting it")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", load.pg_version(), "main", "start"],
        check=True,
        timeout=120,
    )
    processes.started_postgres = True
    load.wait_for(lambda: load.port_open(5432), "PostgreSQL")


def start_gunicorn(args, processes, environment, folder):
    log_path = folder / "gunicorn.log"
    port = load.free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", "evsite.wsgi"),
        *("--workers", str(args.workers), "--worker-class", args.worker_class),
        *("--bind", f"{HOST}:{port}", "--timeout", "60", "--graceful-timeout", "5"),
        *("--backlog", "2048", "--log-level", "warning", "--error-logfile", "-"),
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = load.Server("site", port, process, log_path)
    processes.servers.append(server)
    load.wait_until_serving(server, "/")
    return server


def discover(port):
    """The article, its comment form and poll, from the home page as a reader sees it."""
    status, body = load.get(port, "/")
    if status != 200:
        raise HarnessError(f"GET / answered {status}")
    form = COMMENT_FORM.search(body)
    poll = POLL_FORM.search(body)
    if not form or not poll:
        raise HarnessError("the home page has no comment form or no poll form")
    slug = form.group(1).split("/")[2]
    choices = []
    for tag in CHOICE_INPUT.findall(body):
        value = VALUE.search(tag)
        if value:
            choices.append(int(value.group(1)))
    if not choices or stamp_from(body) is None:
        raise HarnessError("the poll shows no choices, or the comment form has no stamp")
    return slug, int(poll.group(1)), choices


# --- Checking --------------------------------------------------------------------------------


def child(environment, *arguments):
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_child", *map(str, arguments)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise HarnessError(f"{arguments[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


WRITES = ("comment", "reply", "helpful", "vote")


def classify(outcomes, faults):
    """Per kind: requests, successes, refusals by status, 5xx during/outside faults..."""
    rows = defaultdict(Counter)
    unexpected = []
    for outcome in outcomes:
        row = rows[outcome.kind]
        row["requests"] += 1
        during = any(fault.covers(outcome.started, outcome.ended) for fault in faults)
        status = outcome.status
        if status is None:
            row["no answer, fault" if during else "no answer"] += 1
            if not during:
                unexpected.append(outcome)
        elif status >= 500:
            if during and status == 503:
                row["503 in fault"] += 1
            else:
                row["5xx"] += 1
                unexpected.append(outcome)
        elif status in SUCCESS if outcome.kind in WRITES else status < 400:
            row["success"] += 1
        else:
            row[f"refused {status}"] += 1
    return rows, unexpected


def check_database(outcomes, found, began):
    """Lost, doubled and stored-though-refused writes, per kind; counter drift."""
    problems = defaultdict(Counter)
    examples = []
    tokens = found["tokens"]  # session key -> guest token

    def when(outcome):
        answer = outcome.status if outcome.status is not None else "no answer"
        return f"{answer} at {outcome.started - began:.1f}-{outcome.ended - began:.1f} s"

    # Comments and replies, by their unique tag.
    stored = Counter(found["comment_tags"])
    for outcome in outcomes:
        if outcome.kind not in ("comment", "reply"):
            continue
        copies = stored.get(outcome.tag, 0)
        if outcome.status in SUCCESS:
            if copies == 0:
                problems[outcome.kind]["lost"] += 1
                examples.append(f"{outcome.kind} {outcome.tag}: answered {when(outcome)}, absent")
            elif copies > 1:
                problems[outcome.kind]["doubled"] += 1
                examples.append(f"{outcome.kind} {outcome.tag}: stored {copies} times")
        elif outcome.status is not None and copies:
            problems[outcome.kind]["stored though refused"] += 1
            examples.append(f"{outcome.kind} {outcome.tag}: answered {when(outcome)}, stored")

    # Helpful marks, per reader (guest token) and comment.
    marks = Counter((token, comment) for token, comment in found["marks"])
    wanted, maybe, refused = set(), set(), set()
    answers = {}
    for outcome in outcomes:
        if outcome.kind != "helpful":
            continue
        key = (tokens.get(outcome.session), outcome.comment)
        answers[key] = when(outcome)
        if outcome.status in SUCCESS:
            wanted.add(key)
        elif outcome.status is None:
            maybe.add(key)
        else:
            refused.add(key)
    for key in wanted:
        if marks.get(key, 0) == 0:
            problems["helpful"]["lost"] += 1
            examples.append(f"helpful mark {key}: answered {answers[key]}, absent")
    for key, copies in marks.items():
        if copies > 1:
            problems["helpful"]["doubled"] += 1
        if key not in wanted and key not in maybe and key in refused:
            problems["helpful"]["stored though refused"] += 1
            examples.append(f"helpful mark {key}: answered {answers[key]}, stored")
        if key not in wanted | maybe | refused and key[0] in set(tokens.values()):
            problems["helpful"]["stored, never sent"] += 1

    # Votes, per reader: the last success, or any attempt after it whose answer was lost.
    votes = defaultdict(list)
    for token, choice in found["votes"]:
        votes[token].append(choice)
    attempts = defaultdict(list)
    for outcome in sorted(outcomes, key=lambda o: o.started):
        if outcome.kind == "vote":
            attempts[tokens.get(outcome.session)].append(outcome)
    for token, tries in attempts.items():
        told = ", ".join(f"choice {o.choice} {when(o)}" for o in tries)
        acceptable, last_success = set(), None
        for outcome in tries:
            if outcome.status in SUCCESS:
                acceptable, last_success = {outcome.choice}, outcome
            elif outcome.status is None:
                acceptable.add(outcome.choice)
        stored_votes = votes.get(token, [])
        if len(stored_votes) > 1:
            problems["vote"]["doubled"] += 1
            examples.append(f"votes of reader {token}: {stored_votes} stored; {told}")
        if last_success is not None and not stored_votes:
            problems["vote"]["lost"] += 1
            examples.append(f"vote of reader {token}: absent; {told}")
        elif stored_votes and acceptable and stored_votes[-1] not in acceptable:
            problems["vote"]["lost"] += 1  # the last successful vote did not stick
            examples.append(f"vote of reader {token}: choice {stored_votes[-1]} stored; {told}")
        elif stored_votes and not acceptable and last_success is None:
            problems["vote"]["stored though refused"] += 1
            examples.append(f"vote of reader {token}: choice {stored_votes[-1]} stored; {told}")
    return problems, examples


# --- The report ------------------------------------------------------------------------------

KINDS = ("page", "form", "comment", "reply", "helpful", "vote", "harness")


def latencies(outcomes):
    """Median and 95th percentile answer time in ms per kind (answered requests only)."""
    times = defaultdict(list)
    for outcome in outcomes:
        if outcome.status is not None:
            times[outcome.kind].append((outcome.ended - outcome.started) * 1000)
    result = {}
    for kind, values in times.items():
        values.sort()
        result[kind] = (
            values[len(values) // 2],
            values[min(len(values) - 1, len(values) * 95 // 100)],
        )
    return result


def traceback_summary(log):
    """How often each exception ends a traceback in the server's log."""
    endings = Counter()
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        for following in lines[index + 1 :]:
            if following and not following.startswith((" ", "\t")):
                endings[following[:160]] += 1  # the exception that ends this traceback
                break
    return endings


def print_table(rows, problems, times):
    refusal_columns = sorted(
        {key for row in rows.values() for key in row if key.startswith("refused")},
        key=lambda key: int(key.split()[1]),
    )
    columns = [
        "requests",
        "success",
        *refusal_columns,
        "503 in fault",
        "5xx",
        "no answer, fault",
        "no answer",
        "lost",
        "doubled",
        "stored though refused",
        "p50 ms",
        "p95 ms",
    ]
    headers = {
        "5xx": "5xx unexpected",
        "no answer": "no answer outside",
        "no answer, fault": "no answer in fault",
    }
    widths = [max(len(headers.get(column, column)), 6) for column in columns]
    print(f"\n{'kind':<8}  " + "  ".join(
        f"{headers.get(c, c):>{w}}" for c, w in zip(columns, widths, strict=True)
    ))  # fmt: skip
    for kind in [k for k in KINDS if k in rows or k in problems]:
        counts = rows.get(kind, Counter()) + problems.get(kind, Counter())
        median, p95 = times.get(kind, (0, 0))
        counts["p50 ms"], counts["p95 ms"] = round(median), round(p95)
        cells = "  ".join(f"{counts.get(c, 0):>{w}}" for c, w in zip(columns, widths, strict=True))
        print(f"{kind:<8}  {cells}")
    legend = (
        "page: GET of a page, list or results; form: GET of a reply form; success: 2xx/3xx "
        "(writes: 200 or 302); refused N: answered N (4xx); lost: success answered but not "
        "stored; doubled: stored more than once; stored though refused: a 4xx/5xx answer "
        "for a write that was stored."
    )
    print(f"\n{legend}")


# --- Main ------------------------------------------------------------------------------------


def loadrun(args, processes, folder):
    redis = None
    redis_port = args.redis_port or load.free_port()
    if args.db == "postgres":
        ensure_postgres(processes)
        load.postgres_recreate(PG_DATABASE)
        redis = PrivateRedis(folder, redis_port)
        redis.start()
    write_settings_module(folder, args)
    environment = site_environment(args, folder, redis_port)
    started = time.monotonic()
    load.manage(environment, "migrate", "--noinput", "--verbosity", "0")
    load.manage(environment, "load_seed", "--verbosity", "0")
    load.manage(environment, "collectstatic", "--noinput", "--verbosity", "0")
    print(f"built the {args.db} database and static files in {time.monotonic() - started:.1f} s")

    server = start_gunicorn(args, processes, environment, folder)
    slug, poll, choices = discover(server.port)
    print(
        f"gunicorn on :{server.port} ({args.workers} {args.worker_class} workers); "
        f"article {slug}, poll {poll}, choices {choices}"
        + (f"; private Redis on :{redis_port}" if redis else "")
    )

    rng = random.Random(args.seed)
    run = Run(
        port=server.port,
        slug=slug,
        poll=poll,
        choices=choices,
        deadline=time.monotonic() + args.seconds,
        think=(args.think_min, args.think_max),
        tag=f"lr{rng.randrange(36**4):x}",
    )
    readers = [Reader(run, number, random.Random(rng.random())) for number in range(args.readers)]
    threads = [
        threading.Thread(target=reader.live, name=f"reader-{reader.number}", daemon=True)
        for reader in readers
    ]
    faults = []
    began = time.monotonic()
    print(f"{args.readers} readers for {args.seconds} s:", flush=True)
    fault_errors = []

    def faults_thread():
        try:
            run_faults(args, run, server, redis, faults, began)
        except Exception as error:
            fault_errors.append(error)

    injector = threading.Thread(target=faults_thread, name="faults", daemon=True)
    for thread in threads:
        thread.start()
    injector.start()
    try:
        while time.monotonic() < run.deadline:
            time.sleep(min(10, max(0.1, run.deadline - time.monotonic())))
            if time.monotonic() < run.deadline:
                print(
                    f"  {time.monotonic() - began:5.1f} s: {len(run.outcomes)} requests",
                    flush=True,
                )
    finally:
        run.stop.set()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 5)
    injector.join(timeout=90)
    if fault_errors:
        raise HarnessError(f"the fault injection failed: {fault_errors[0]}")
    if redis is not None and not redis.running:
        redis.start()
    print(f"done after {time.monotonic() - began:.1f} s: {len(run.outcomes)} requests")
    for fault in faults:
        print(f"  fault: {fault.name} at {fault.started - began:.1f} s, {fault.detail}")

    processes.stop_server(server)  # nothing changes the database while it is read
    log = server.log_path.read_text(errors="replace")
    outcomes = list(run.outcomes)
    sessions = sorted({o.session for o in outcomes if o.session})
    expected_path = folder / "sessions.json"
    expected_path.write_text(json.dumps({"sessions": sessions, "tag": run.tag}))
    found = child(environment, "check", expected_path)

    rows, unexpected = classify(outcomes, faults)
    problems, examples = check_database(outcomes, found, began)
    print_table(rows, problems, latencies(outcomes))
    for name, drift in found["drift"].items():
        for line in drift:
            examples.append(f"{name}: {line}")
    print(
        f"\nstored: {found['comment_count']} comments and replies of this run, "
        f"{len(found['marks'])} helpful marks, {len(found['votes'])} votes; "
        f"{len(found['tokens'])} of {len(sessions)} reader sessions found"
    )
    print(
        f"server log: {log.count('Traceback')} tracebacks, "
        f"{log.count('WORKER TIMEOUT')} worker timeouts"
    )
    for ending, count in traceback_summary(log).most_common(8):
        print(f"  {count} x {ending}")
    for outcome in unexpected[:15]:
        when = outcome.started - began
        answer = outcome.status if outcome.status is not None else outcome.error
        print(f"  unexpected: {outcome.kind} at {when:.1f} s answered {answer}")
    for line in examples[:20]:
        print(f"  problem: {line}")
    if len(examples) > 20:
        print(f"  ... and {len(examples) - 20} more problems")
    bad = (
        bool(unexpected)
        or any(found["drift"].values())
        or any(
            counts.get(name)
            for counts in problems.values()
            for name in ("lost", "doubled", "stored though refused")
        )
    )
    if "harness" in rows:
        bad = True
    print("\nRESULT: " + ("FAIL" if bad else "PASS"))
    return 1 if bad else 0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--readers", type=int, default=200, help="simulated readers")
    parser.add_argument("--seconds", type=int, default=75, help="length of the run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--think-min", type=float, default=3.5, help="seconds before a post")
    parser.add_argument("--think-max", type=float, default=8.0)
    parser.add_argument("--kill-at", type=float, default=0.3, help="when to kill a worker")
    parser.add_argument("--redis-at", type=float, default=0.55, help="when to restart Redis")
    parser.add_argument("--redis-down", type=float, default=5.0, help="seconds Redis is down")
    parser.add_argument("--redis-port", type=int, default=0, help="private Redis port")
    parser.add_argument("--keep-limits", action="store_true", help="keep the rate limits")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the folder with the logs")
    args = parser.parse_args()
    if not 1 <= args.readers <= 2000 or not 10 <= args.seconds <= 900:
        parser.error("--readers must be 1 to 2000 and --seconds 10 to 900")
    if not 2 <= args.workers <= 32:
        parser.error("--workers must be 2 to 32: one of them is killed")
    if not 0 < args.kill_at < 1 or not 0 < args.redis_at < 1:
        parser.error("--kill-at and --redis-at are fractions of the run, between 0 and 1")
    if args.think_min < 3 or args.think_max < args.think_min:
        parser.error("--think-min must be at least 3 s (the 'too fast' rule) and <= --think-max")

    signal.signal(signal.SIGTERM, load.raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    processes = load.Processes()
    folder = Path(tempfile.mkdtemp(prefix="evr-loadrun-"))
    try:
        return loadrun(args, processes, folder)
    except load.HarnessError as error:
        print(f"\nloadrun.py failed: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: stopping what this run started", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        with contextlib.suppress(OSError, ValueError):
            pid = int((folder / "redis.pid").read_text().strip())
            os.kill(pid, signal.SIGTERM)
        if args.db == "postgres":
            with contextlib.suppress(Exception):
                load.postgres_recreate(PG_DATABASE, drop_only=True)
        if args.keep:
            print(f"kept {folder} (server log, Redis log, settings; the SQLite database)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


# --- The child: reads the database with the site's settings, prints one JSON line -------------


def child_check(path):
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.models import Count, Q

    from comments.models import Comment, HelpfulMark, PollChoice, Vote
    from comments.readers import READER_TOKEN_SESSION_KEY

    expected = json.loads(Path(path).read_text())
    tokens = {}
    for key in expected["sessions"]:
        token = SessionStore(session_key=key).load().get(READER_TOKEN_SESSION_KEY)
        if token:
            tokens[key] = token
    tag = re.compile(rf"\(({re.escape(expected['tag'])}r\d+n\d+)\)")
    comment_tags = []
    for body in Comment.objects.filter(body__contains=f"({expected['tag']}r").values_list(
        "body", flat=True
    ):
        comment_tags += tag.findall(body)
    ours = set(tokens.values())
    marks = [
        (token, comment)
        for token, comment in HelpfulMark.objects.values_list("reader_token", "comment_id")
        if token in ours
    ]
    votes = [
        (token, choice)
        for token, choice in Vote.objects.order_by("pk").values_list("reader_token", "choice_id")
        if token in ours
    ]
    drift = {"vote_count": [], "helpful_count": []}
    for choice in PollChoice.objects.annotate(counted=Count("votes")):
        if choice.vote_count != choice.counted:
            drift["vote_count"].append(
                f"choice {choice.pk}: vote_count {choice.vote_count}, {choice.counted} votes"
            )
    fields = {f.name for f in HelpfulMark._meta.get_fields()}
    if "ip_hash" in fields:  # helpful_count counts addresses (marks without one count alone)
        counted = Count(
            "helpful_marks__ip_hash", distinct=True, filter=~Q(helpful_marks__ip_hash="")
        ) + Count("helpful_marks", distinct=True, filter=Q(helpful_marks__ip_hash=""))
    else:
        counted = Count("helpful_marks", distinct=True)
    for comment in Comment.objects.annotate(counted=counted).exclude(helpful_count=0, counted=0):
        if comment.helpful_count != comment.counted:
            drift["helpful_count"].append(
                f"comment {comment.pk}: helpful_count {comment.helpful_count}, "
                f"marks count for {comment.counted}"
            )
    return {
        "tokens": tokens,
        "comment_tags": comment_tags,
        "comment_count": len(comment_tags),
        "marks": marks,
        "votes": votes,
        "drift": drift,
    }


def child_main(command, *arguments):
    import django

    django.setup()
    if command != "check":
        raise SystemExit(f"unknown child command {command!r}")
    print(json.dumps(child_check(*arguments)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["_child"]:
        child_main(*sys.argv[2:])
    else:
        sys.exit(main())
