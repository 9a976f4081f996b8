"""Load: N people working the queues, details and actions at once, while a sync and a
reconciliation run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parity .venv/bin/python bench/load.py \
        [--users 50] [--seconds 60] [--think 1.0] [--threads 8] [--json FILE]
    … bench/load.py --tiny      # 5 users, 5 seconds, think 0.5 s, a small world (tests/hardening)

Runs in a throwaway database (test_<name>, created and dropped here), never in the real one:

1. seeds the demo world (reconciliation/demo, --orders orders) through a real reconciliation,
   --exceptions more exceptions and their events in SQL (bench/web.py's seeding), and one user
   per simulated person, the roles taken in turn (Ops, Warehouse, CX, Finance);
2. starts gunicorn (--workers processes of --threads threads, as in production; waitress with
   --server waitress) on that database with DEBUG off;
3. starts the background job in its own process (so its CPU never shares this process's
   interpreter with the clients): the WooCommerce, Prima and Whistl simulators serving the same
   world, a connection to each, a full sync of each and a reconciliation of the latest snapshots
   (connectors.sync) — then deltas and a reconciliation again every --sync-every seconds until
   the time is up;
4. runs the people, one thread and one httpx client each, arriving evenly over --ramp seconds
   (as people start their day: fifty PBKDF2 sign-ins in the same instant would queue every
   request behind ~17 CPU-seconds of hashing): sign in through the login form, then
   until the time is up (and at least until the background job's first round is done) open a
   queue (My queue, All, a filter or the next page), an exception's page, or act on one —
   Acknowledge, a comment or Assign (to a team, and to a person half the time), whichever of
   them the page offers that person's role — by POSTing the page's own form with its CSRF token,
   as a browser does. Between steps a person thinks for --think seconds on average
   (uniform over 0.5–1.5 times it; 0: back to back, a saturation test).

It reports requests per second, p50/p95/p99 per kind of request and overall, and every error: a
status other than 200 (pages) or 302 (sign-in, actions), a POST whose redirect is not back to
its exception, a transport error or timeout, and a background job that failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")
django.setup()

import httpx  # noqa: E402
from django.db import connection  # noqa: E402

from bench.web import (  # noqa: E402
    PASSWORD,
    _database_url,
    _free_port,
    _seed_events,
    _seed_exceptions,
    launch_server,
    percentile,
    server_command,
)

ROLES = ("Ops", "Warehouse", "CX", "Finance")
AS_OF = "2026-11-01T12:00:00Z"  # the demo world's moment (simulators serve it as of then)
SYSTEMS = ("woocommerce", "prima", "whistl")
QUEUES = {  # the queue pages people open, by the name the report gives them
    "mine": "/exceptions/",  # My queue: the person's team
    "all": "/exceptions/?team=",
    "P1": "/exceptions/?team=&priority=P1",
    "P2 acknowledged": "/exceptions/?team=&priority=P2&status=acknowledged",
}
_DETAIL = re.compile(r'href="(?:/exceptions/)?(\d+)/"')
_NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_SELECT = re.compile(r'<select name="(\w+)"[^>]*>(.*?)</select>', re.S)
_OPTION = re.compile(r'<option value="([^"]*)"')
# What a person does to an exception, among the forms its page offers them (docs/roles.md).
ACTIONS = ("acknowledge", "comment", "assign")


@dataclass
class Sample:
    kind: str  # sign-in, queue, detail, acknowledge, comment
    ms: float
    error: str = ""
    variant: str = ""  # which queue page
    at: float = 0.0  # when it was sent (time.perf_counter())


@dataclass
class Person:
    """One simulated user: a thread with its own session."""

    username: str
    base_url: str
    rng: random.Random
    think: float
    samples: list[Sample] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    next_page: str | None = None
    arrives: float = 0.0  # seconds after the start this person turns up (--ramp)

    def run(self, keep_going: Callable[[], bool]) -> None:
        time.sleep(self.arrives)
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            if not self._sign_in(client):
                return
            step = 0
            while keep_going():
                choice = self.rng.random()
                if choice < 0.4 or not self.ids:
                    self._queue(client)
                elif choice < 0.8:
                    self._detail(client, self.rng.choice(self.ids))
                else:
                    self._act(client, self.rng.choice(self.ids), step)
                step += 1
                if self.think:
                    time.sleep(self.think * self.rng.uniform(0.5, 1.5))

    # -- steps ------------------------------------------------------------------------------

    def _request(
        self, client: httpx.Client, kind: str, method: str, path: str, expect: int, **kw: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            answer = client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            self.samples.append(Sample(kind, elapsed, f"{method} {path}: {exc!r}", at=started))
            return None
        elapsed = (time.perf_counter() - started) * 1000
        error = ""
        if answer.status_code != expect:
            error = f"{method} {path}: {answer.status_code}, expected {expect}"
        self.samples.append(Sample(kind, elapsed, error, at=started))
        return None if error else answer

    def _sign_in(self, client: httpx.Client) -> bool:
        page = self._request(client, "sign-in", "GET", "/login/", 200)
        token = _CSRF.search(page.text) if page is not None else None
        if token is None:
            return False
        data = {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        return self._request(client, "sign-in", "POST", "/login/", 302, data=data) is not None

    def _queue(self, client: httpx.Client) -> None:
        if self.next_page and self.rng.random() < 0.3:
            variant, path = "next page", self.next_page  # paging on through the last queue
        else:
            variant = self.rng.choice(sorted(QUEUES))
            path = QUEUES[variant]
        page = self._request(client, "queue", "GET", path, 200)
        self.samples[-1].variant = variant
        if page is None:
            return
        found = [int(pk) for pk in _DETAIL.findall(page.text)]
        if found:
            self.ids = found
        following = _NEXT.search(page.text)
        link = following[1].replace("&amp;", "&") if following else None
        if link is not None and not link.startswith("/"):
            link = "/exceptions/" + link
        self.next_page = link

    def _detail(self, client: httpx.Client, pk: int) -> httpx.Response | None:
        return self._request(client, "detail", "GET", f"/exceptions/{pk}/", 200)

    def _act(self, client: httpx.Client, pk: int, step: int) -> None:
        page = self._detail(client, pk)
        if page is None:
            return
        offered = [a for a in ACTIONS if f'action="/exceptions/{pk}/{a}/"' in page.text]
        if not offered:
            return  # this person may do nothing here: reading was the step
        action = self.rng.choice(offered)
        token = _CSRF.search(page.text)
        if token is None:
            self.samples.append(Sample(action, 0.0, f"/exceptions/{pk}/: no CSRF token"))
            return
        data = {"csrfmiddlewaretoken": token[1]}
        if action == "comment":
            data["text"] = f"Checked by {self.username} (load step {step})"
        elif action == "assign":
            data.update(self._assignment(page.text, pk))
        path = f"/exceptions/{pk}/{action}/"
        answer = self._request(client, action, "POST", path, 302, data=data)
        if answer is not None and answer.headers.get("location") != f"/exceptions/{pk}/":
            self.samples[-1].error = f"POST {path}: redirected to {answer.headers.get('location')}"

    def _assignment(self, html: str, pk: int) -> dict[str, str]:
        """A team from the page's Assign form, and a person from it half the time."""
        form = html[html.index(f'action="/exceptions/{pk}/assign/"') :]
        form = form[: form.index("</form>")]
        choices = {
            name: [v for v in _OPTION.findall(select) if v]
            for name, select in _SELECT.findall(form)
        }
        team = self.rng.choice(choices["team"])
        people = choices.get("person") or [""]
        return {"team": team, "person": self.rng.choice(people) if self.rng.random() < 0.5 else ""}


# -- seeding ------------------------------------------------------------------------------------


def seed(orders: int, exceptions: int, users: int) -> list[str]:
    """The demo world reconciled, filler exceptions, and the people; their usernames."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from exceptions.models import ExceptionRecord
    from integration.roles import ensure_role_groups
    from reconciliation.demo import build_demo_bundle
    from reconciliation.runs import reconcile_bundle_object

    ensure_role_groups()
    model = get_user_model()
    # One PBKDF2 hash for everyone (the same password): hashing is slow by design, and signing
    # in still checks it in full.
    hashed = make_password(PASSWORD)
    people = []
    for i in range(users):
        role = ROLES[i % len(ROLES)]
        user = model.objects.create(username=f"{role.lower()}{i + 1}", password=hashed)
        user.groups.add(Group.objects.get(name=role))
        people.append(user)
    world = build_demo_bundle(seed=7, orders=orders, as_of=AS_OF)
    run, _ = reconcile_bundle_object(world, source="bundle", source_name="load demo")
    assert run is not None
    filler = max(exceptions - ExceptionRecord.objects.count(), 0)
    _seed_exceptions(filler, run.pk, [u.pk for u in people])
    if filler:
        _seed_events(run.pk, [u.pk for u in people])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE exceptions_exceptionrecord")
            cursor.execute("ANALYZE exceptions_exceptionevent")
    return [user.get_username() for user in people]


# -- the background job (its own process) -------------------------------------------------------


def background(orders: int, until: float, every: float) -> None:
    """Simulators, connections, then a round of syncs and a reconciliation every `every`
    seconds (0: back to back) until `until`, at least one. One JSON line per job on stdout;
    "round N" lines as rounds finish."""
    from connectors.models import Connection
    from connectors.simulators import start_simulator
    from connectors.sync import reconcile_latest, run_sync
    from reconciliation.demo import build_demo_bundle

    world = build_demo_bundle(seed=7, orders=orders, as_of=AS_OF)
    simulators = [start_simulator(kind, world) for kind in SYSTEMS]
    try:
        connections = []
        for sim in simulators:
            app = sim.app
            made = Connection(name=f"Load {app.kind}", kind=app.kind, role=app.role)
            made.base_url = sim.url
            made.set_credentials(dict(app.credentials))
            made.save()
            connections.append(made)
        round_ = 0
        while round_ == 0 or time.time() < until:
            round_ += 1
            next_round = time.time() + every
            for made in connections:
                started = time.perf_counter()
                run = run_sync(made.pk, "full" if round_ == 1 else "delta")
                state = run.state if run is not None else "skipped"
                _job(f"sync {made.kind}", started, state, run.error if run is not None else "")
            started = time.perf_counter()
            try:
                reconciled = reconcile_latest(force=True)
            except Exception as exc:  # reported as an error, not a crash of the bench
                _job("reconcile", started, "failed", f"{type(exc).__name__}: {exc}")
            else:
                state = reconciled.status if reconciled is not None else "skipped"
                _job("reconcile", started, state, reconciled.error if reconciled else "")
            print(f"round {round_}", flush=True)
            time.sleep(max(0.0, min(next_round, until) - time.time()))
    finally:
        for sim in simulators:
            sim.stop()


def _job(name: str, started: float, state: str, error: str) -> None:
    seconds = round(time.perf_counter() - started, 2)
    line = {"job": name, "state": state, "seconds": seconds, "error": error[:300]}
    print(json.dumps(line), flush=True)


# -- the run ------------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    """gunicorn as in production (--workers processes of --threads threads), or waitress (one
    process of --threads threads: its Python runs on one core at a time)."""
    if args.server == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", f"--bind=127.0.0.1:{port}"]
        command += [f"--workers={args.workers}", f"--threads={args.threads}"]
        command += ["--worker-class=gthread", "integration.wsgi:application"]
    else:
        command = [
            f"--threads={args.threads}" if part.startswith("--threads=") else part
            for part in server_command("waitress", port)
        ]
    return launch_server(command, port)


@dataclass
class Report:
    server: str  # e.g. "gunicorn 2 workers × 4 threads"
    users: int
    seconds: float  # how long the people worked
    think: float
    requests: int
    per_second: float
    errors: int
    kinds: dict[str, dict[str, float]]  # kind -> count, p50, p95, p99, errors
    jobs: list[dict[str, Any]]  # the background job's syncs and reconciliations
    error_samples: list[str]
    events: dict[str, int] = field(default_factory=dict)  # audit events the people wrote, by kind
    ramp: float = 0.0  # seconds over which the people arrived

    @property
    def ok(self) -> bool:
        return self.errors == 0 and all(job["state"] == "complete" for job in self.jobs)


def measure(args: argparse.Namespace, usernames: list[str]) -> Report:
    port = _free_port()
    server = start_server(args, port)
    background_job = None
    try:
        until = time.time() + args.seconds
        env = {**os.environ, "DATABASE_URL": _database_url(connection.settings_dict["NAME"])}
        command = [sys.executable, __file__, "--background", str(until)]
        command += ["--orders", str(args.orders), "--sync-every", str(args.sync_every)]
        background_job = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []

        first_round: list[float] = []  # when the background job's first round ended

        def read() -> None:
            for line in background_job.stdout:
                lines.append(line)
                if line.startswith("round") and not first_round:
                    first_round.append(time.perf_counter())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def keep_going() -> bool:
            # The whole window, and at least the background job's first round.
            return time.time() < until or not any(line.startswith("round") for line in lines)

        people = [
            Person(
                name,
                f"http://127.0.0.1:{port}",
                random.Random(i),
                args.think,
                arrives=args.ramp * i / len(usernames),
            )
            for i, name in enumerate(usernames)
        ]
        threads = [threading.Thread(target=p.run, args=(keep_going,)) for p in people]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        background_job.wait(timeout=600)
        reader.join(timeout=10)
    finally:
        if background_job is not None and background_job.poll() is None:
            background_job.kill()
        server.terminate()
        server.wait(timeout=30)
    jobs = [json.loads(line) for line in lines if line.startswith("{")]
    if background_job.returncode != 0:
        jobs.append({"job": "background", "state": "failed", "seconds": 0, "error": "exited"})
    samples = [sample for person in people for sample in person.samples]
    return _report(args, samples, elapsed, jobs, first_round[0] if first_round else None)


def _report(
    args: argparse.Namespace,
    samples: list[Sample],
    elapsed: float,
    jobs: list[dict[str, Any]],
    warm: float | None,
) -> Report:
    kinds: dict[str, dict[str, float]] = {}
    for kind in sorted({s.kind for s in samples}):
        times = [s.ms for s in samples if s.kind == kind]
        kinds[kind] = _figures(times, sum(1 for s in samples if s.kind == kind and s.error))
    for variant in sorted({s.variant for s in samples if s.variant}):
        times = [s.ms for s in samples if s.variant == variant]
        errors = sum(1 for s in samples if s.variant == variant and s.error)
        kinds[f"queue: {variant}"] = _figures(times, errors)
    # Signing in is once a day, and PBKDF2 is slow by design: the pages and actions on their own.
    work = [s for s in samples if s.kind != "sign-in"]
    kinds["work"] = _figures([s.ms for s in work], sum(1 for s in work if s.error))
    # After the start: everyone signed in, the first full syncs and reconciliation done (which
    # auto-resolve and write events for every exception they no longer find). Later rounds run on.
    signed_in = max((s.at for s in samples if s.kind == "sign-in"), default=0.0)
    steady = [s for s in work if s.at > max(signed_in, warm or 0.0)]
    kinds["work after the start"] = _figures(
        [s.ms for s in steady], sum(1 for s in steady if s.error)
    )
    kinds["all"] = _figures([s.ms for s in samples], sum(1 for s in samples if s.error))
    errors = [s.error for s in samples if s.error]
    workers = f"{args.workers} workers × " if args.server == "gunicorn" else ""
    return Report(
        server=f"{args.server} {workers}{args.threads} threads",
        users=args.users,
        seconds=round(elapsed, 1),
        think=args.think,
        ramp=args.ramp,
        requests=len(samples),
        per_second=round(len(samples) / elapsed, 1) if elapsed else 0.0,
        errors=len(errors),
        kinds=kinds,
        jobs=jobs,
        error_samples=errors[:10],
    )


def _figures(times: list[float], errors: int) -> dict[str, float]:
    if not times:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "errors": errors}
    return {
        "count": len(times),
        "p50": round(percentile(times, 0.50), 1),
        "p95": round(percentile(times, 0.95), 1),
        "p99": round(percentile(times, 0.99), 1),
        "errors": errors,
    }


def _last_event() -> int:
    from exceptions.models import ExceptionEvent

    return ExceptionEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events_since(last: int) -> dict[str, int]:
    """The audit events people wrote during the run (the background's have no actor), by kind:
    each effective action is one event, so they check the POSTs against the database."""
    from django.db.models import Count

    from exceptions.models import ExceptionEvent

    written = ExceptionEvent.objects.filter(id__gt=last, actor__isnull=False)
    counts = written.values_list("kind").annotate(n=Count("id")).order_by("kind")
    return dict(counts)


def show(report: Report) -> None:
    print(
        f"\n{report.server}; {report.users} users for {report.seconds} s (arriving over "
        f"{report.ramp} s, think {report.think} s): "
        f"{report.requests:,} requests, {report.per_second} req/s, {report.errors} errors\n"
    )
    print(f"{'request':<24} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for kind, f in report.kinds.items():
        print(
            f"{kind:<24} {f['count']:>7} {f['p50']:>8.1f} {f['p95']:>8.1f} {f['p99']:>8.1f} "
            f"{f['errors']:>7}"
        )
    print("\naudit events written: " + ", ".join(f"{k} {n}" for k, n in report.events.items()))
    print("\nbackground:")
    for job in report.jobs:
        print(f"  {job['job']:<20} {job['state']:<9} {job['seconds']:>7.2f} s {job['error']}")
    for error in report.error_samples:
        print(f"error: {error}")


def main(argv: list[str] | None = None) -> Report | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="people at once (50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they work (60)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between steps (1.0)")
    parser.add_argument(
        "--server",
        choices=["gunicorn", "waitress"],
        default="gunicorn" if importlib.util.find_spec("gunicorn") else "waitress",
        help="WSGI server (gunicorn when installed)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn processes (CPUs)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per process (4)")
    parser.add_argument("--orders", type=int, default=3000, help="demo world orders (3,000)")
    parser.add_argument(
        "--exceptions", type=int, default=100_000, help="exceptions in all (100,000)"
    )
    parser.add_argument(
        "--sync-every",
        type=float,
        default=15.0,
        help="seconds from one round of syncs and a reconciliation to the next (15; 0: back to back)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=10.0,
        help="seconds over which the people arrive, evenly (10; 0: all in the same instant)",
    )
    parser.add_argument("--tiny", action="store_true", help="5 users, 5 s, a small world")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    parser.add_argument("--background", type=float, help=argparse.SUPPRESS)  # the child
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    if args.tiny:
        # Light enough to leave the CPU to the background round the people wait for.
        args.users, args.seconds, args.think, args.ramp = 5, 5.0, 0.5, 1.0
        args.orders, args.exceptions = 200, 0
    if args.background is not None:
        background(args.orders, args.background, args.sync_every)
        return None
    if connection.vendor != "postgresql":
        sys.exit("bench/load.py seeds with PostgreSQL SQL: set DATABASE_URL=postgres://…")

    from django.test.utils import setup_databases, teardown_databases

    config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        started = time.perf_counter()
        usernames = seed(args.orders, args.exceptions, args.users)
        print(f"seeded in {time.perf_counter() - started:.1f} s; {args.users} users")
        last_event = _last_event()
        connection.close()  # the server and the background job have the database to themselves
        report = measure(args, usernames)
        report.events = _events_since(last_event)
    finally:
        teardown_databases(config, verbosity=0)
    show(report)
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(report), indent=2))
    return report


if __name__ == "__main__":
    result = main()
    sys.exit(0 if result is None or result.ok else 1)
