"""Time the web pages against a running server on a million exceptions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parity .venv/bin/python bench/web.py

Runs in a throwaway database (test_<name>, created and dropped here), never in the real one:

1. reconciles a synthetic bundle (bench/synthetic.py, --snapshot-orders store orders) so the
   detail pages have real snapshots and real exceptions to show evidence for;
2. seeds exceptions up to -n (1,000,000) in SQL — a realistic mix of the rules, their teams,
   statuses (most resolved, about one in six still open or acknowledged), priorities, assignees
   and ages over six months — and their audit events (detected, acknowledged, assigned,
   commented, resolved);
3. starts waitress (or `manage.py runserver --noreload`) on that database (DEBUG off), signs in
   through the login form with httpx, and times every page in PAGES (p50/p95 over --requests
   requests after a warm-up, and the CPU milliseconds per request spent by the web process and
   its database backends — parallel query workers not included — which estimates the page on an
   idle machine) and every export in EXPORTS (rows/s, and the server's resident memory sampled
   every 20 ms while the CSV streams).

Add a page by appending to PAGES: a name, a function from the seeded `World` to a path, and the
target in milliseconds.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")
django.setup()

import httpx  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from bench.run_history import month_end_path, past_month_end_path, seed_run_history  # noqa: E402
from bench.synthetic import generate  # noqa: E402
from exceptions.models import ExceptionEvent, ExceptionRecord  # noqa: E402
from integration.roles import ensure_role_groups  # noqa: E402
from reconciliation.runs import reconcile_path  # noqa: E402

PASSWORD = "bench-password-1"
# The rule mix, in hundredths (sums to 100): each rule's share of the seeded exceptions, its
# teams (one is picked at random where rules.md routes by what went wrong) and whether it is
# keyed by SKU. TRACKING_MISSING is exactly 10 %: the CSV export of that rule is 100,000 rows.
RULE_MIX: tuple[tuple[str, int, tuple[str, ...], bool], ...] = (
    ("ORDER_NOT_IN_ERP", 6, ("ecommerce",), False),
    ("ORDER_NOT_AT_WMS", 6, ("ops",), False),
    ("ORDER_HELD", 8, ("merchandising", "cx", "ops", "warehouse", "finance"), False),
    ("DISPATCH_NOT_POSTED", 8, ("ops",), False),
    ("STORE_NOT_UPDATED", 7, ("cx",), False),
    ("CANCELLED_NOT_STOPPED", 3, ("warehouse", "finance"), False),
    ("STUCK_PRE_DISPATCH", 6, ("warehouse",), False),
    ("TRACKING_MISSING", 10, ("warehouse",), False),
    ("LINES_MISMATCH", 4, ("ops",), False),
    ("SHIPPED_QTY_MISMATCH", 3, ("warehouse",), False),
    ("DUPLICATE_ORDER", 2, ("ops",), False),
    ("ORPHAN_ORDER", 2, ("ops",), False),
    ("SERVICE_MISMATCH", 3, ("warehouse",), False),
    ("TAX_MISMATCH", 5, ("finance",), False),
    ("TOTAL_MISMATCH", 2, ("finance",), False),
    ("SKU_UNKNOWN", 2, ("merchandising",), True),
    ("SKU_INVALID_FORMAT", 1, ("merchandising",), True),
    ("SHIPPING_UNMAPPED", 1, ("ops",), False),
    ("ADDRESS_INVALID", 4, ("cx",), False),
    ("NON_STOCK_SENT", 1, ("ops",), False),
    ("STOCK_DRIFT", 6, ("warehouse", "finance"), True),
    ("ADJUSTMENT_NOT_POSTED", 2, ("finance",), True),
    ("OVERSELL_RISK", 3, ("ecommerce",), True),
    ("UNDERSELL", 2, ("ecommerce",), True),
    ("NEGATIVE_STOCK", 3, ("warehouse", "ops"), True),
)
EXPORT_RULE = "TRACKING_MISSING"
# Bench users: the one who signs in (Ops: "My queue" is the ops team's), and the people
# exceptions are assigned to.
STAFF: tuple[tuple[str, str], ...] = tuple(
    (f"{group.lower()}{i}", group)
    for group in ("Ops", "Warehouse", "CX", "Finance")
    for i in range(1, 6)
)
SIGN_IN = "ops1"
DEEP_PAGES = 200  # "a deep page": 200 pages of 50 in, the 10,001st row onwards


@dataclass
class World:
    """What the seeding made, for building the pages' paths."""

    exceptions: int
    order_details: list[int]  # ids of real order exceptions (evidence from the snapshots)
    sku_details: list[int]  # ids of real SKU exceptions
    export_rows: int
    assignee: str  # a username with many assigned exceptions
    deep_page: str = "/exceptions/"  # set once the server runs (find_deep_page)


@dataclass(frozen=True)
class Page:
    name: str
    path: Callable[[World, int], str]  # (world, request number) -> path
    target_ms: float = 100.0


@dataclass(frozen=True)
class Export:
    name: str
    path: Callable[[World], str]
    target_rows_per_s: float = 50_000.0
    runs: int = 2


def _all_statuses() -> list[tuple[str, str]]:
    from exceptions.models import Status

    return [("status", value) for value in Status.values]


def _all_teams(**params: str) -> str:
    # team= (empty) is the "All" tab: without it the queue keeps to the signed-in user's team.
    return "/exceptions/?" + urlencode({"team": "", **params})


PAGES: list[Page] = [
    Page("queue: my queue (default)", lambda w, i: "/exceptions/"),
    Page("queue: warehouse tab, P2", lambda w, i: _all_teams(owner="warehouse", priority="P2")),
    Page(
        "queue: rule, every status",
        lambda w, i: (
            "/exceptions/?" + urlencode([("team", ""), ("rule", "STOCK_DRIFT"), *_all_statuses()])
        ),
    ),
    Page("queue: key search", lambda w, i: _all_teams(q=f"WB{i % 100:02d}")),
    Page(f"queue: page {DEEP_PAGES + 1} of All", lambda w, i: w.deep_page),
    Page("detail: order", lambda w, i: f"/exceptions/{w.order_details[i % len(w.order_details)]}/"),
    Page("detail: SKU", lambda w, i: f"/exceptions/{w.sku_details[i % len(w.sku_details)]}/"),
    # The overview and month-end (bench/run_history.py): a year of daily run summaries.
    Page("overview: 90 days", lambda w, i: "/", 300),
    Page("overview: 365 days", lambda w, i: "/?days=365", 300),
    Page("month-end: latest month", lambda w, i: month_end_path(), 300),
    Page("month-end: a past month", lambda w, i: past_month_end_path(), 300),
    Page("month-end: drift records", lambda w, i: month_end_path("stock_drift"), 300),
    # A download, not a page: openpyxl writes ~2,000 rows a second here (docs/performance.md).
    Page("month-end: XLSX download", lambda w, i: month_end_path(suffix="month-end.xlsx"), 2000),
]
EXPORTS: list[Export] = [
    Export(
        f"CSV export: {EXPORT_RULE}, every status",
        lambda w: (
            "/exceptions/export.csv?"
            + urlencode([("team", ""), ("rule", EXPORT_RULE), *_all_statuses()])
        ),
    ),
    # Every row: ten times the rows, so a server holding rows in memory would show it here.
    Export(
        "CSV export: everything",
        lambda w: "/exceptions/export.csv?" + urlencode([("team", ""), *_all_statuses()]),
        runs=1,
    ),
]


def find_deep_page(client: httpx.Client, start: str, pages: int) -> str:
    """Follow the queue's "Next" link `pages` times, as a person paging through would: the
    path of a page deep in the set, whatever the pagination (keyset cursors or page numbers)."""
    path = start
    for _ in range(pages):
        answer = client.get(path)
        found = re.search(r'<a rel="next" href="([^"]+)"', answer.text)
        if not found:
            break
        link = html.unescape(found[1])
        path = link if link.startswith("/") else "/exceptions/" + link
    return path


# -- seeding ----------------------------------------------------------------------------------


def seed(n: int, snapshot_orders: int) -> World:
    ensure_role_groups()
    users = _users()
    started = time.perf_counter()
    bundle = generate(snapshot_orders, max(snapshot_orders // 5, 100))
    run, result = reconcile_path(bundle)
    assert run is not None
    real = ExceptionRecord.objects.count()
    print(
        f"reconciled {snapshot_orders:,} orders: {real:,} exceptions "
        f"in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    filler = max(n - real, 0)
    _seed_exceptions(filler, run.pk, [u.pk for u in users])
    print(f"seeded {filler:,} exceptions in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    _seed_events(run.pk, [u.pk for u in users])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE exceptions_exceptionrecord")
        cursor.execute("VACUUM ANALYZE exceptions_exceptionevent")
    events = ExceptionEvent.objects.count()
    print(f"seeded {events:,} events in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    history = seed_run_history(run.pk)  # the dashboard's and month-end's year of daily runs
    print(f"seeded {history:,} daily run summaries in {time.perf_counter() - started:.1f} s")

    return describe(run.pk, users[0].get_username())


def describe(run_id: int | None = None, assignee: str = STAFF[0][0]) -> World:
    """The seeded world, read back from the database (also for --reuse)."""
    from reconciliation.models import ReconciliationRun

    if run_id is None:
        run_id = ReconciliationRun.objects.order_by("pk").values_list("pk", flat=True)[0]
    sku_rules = [rule for rule, _, _, sku in RULE_MIX if sku]
    real = (
        ExceptionRecord.objects.filter(last_run_id=run_id)
        .exclude(key__startswith="WB")
        .exclude(key__startswith="BSK")
    )
    order_ids = list(
        real.exclude(rule__in=[*sku_rules, "SNAPSHOT_STALE"])
        .order_by("-score")
        .values_list("pk", flat=True)[:50]
    )
    sku_ids = list(
        real.filter(rule__in=sku_rules).order_by("-score").values_list("pk", flat=True)[:50]
    )
    return World(
        exceptions=ExceptionRecord.objects.count(),
        order_details=order_ids,
        sku_details=sku_ids,
        export_rows=ExceptionRecord.objects.filter(rule=EXPORT_RULE).count(),
        assignee=assignee,
    )


def _users() -> list:
    model = get_user_model()
    users = []
    for username, group in STAFF:
        user = model.objects.create_user(username=username, password=PASSWORD)
        user.groups.add(Group.objects.get(name=group))
        users.append(user)
    return users


def _seed_exceptions(n: int, run_id: int, user_ids: list[int]) -> None:
    """n exceptions in one INSERT … SELECT: keys WB00000001… (orders) / BSK00000001… (SKUs)."""
    if n <= 0:
        return
    slots, start = [], 0
    for rule, share, teams, by_sku in RULE_MIX:
        team_array = "ARRAY[" + ",".join(f"'{t}'" for t in teams) + "]"
        slots.append(f"({start}, {start + share}, '{rule}', {team_array}, {by_sku})")
        start += share
    assert start == 100, "RULE_MIX shares must sum to 100"
    users = "ARRAY[" + ",".join(str(pk) for pk in user_ids) + "]"
    sql = f"""
    WITH mix (slot_from, slot_to, rule, teams, by_sku) AS (VALUES {", ".join(slots)}),
    draw AS (
        SELECT i, random() AS r_age, random() AS r_seen, random() AS r_status,
               random() AS r_priority, random() AS r_score, random() AS r_assign,
               random() AS r_team
        FROM generate_series(1, %(n)s) AS i
    ),
    shaped AS (
        SELECT d.*, m.rule, m.by_sku,
            m.teams[1 + floor(d.r_team * array_length(m.teams, 1))::int] AS team,
            CASE WHEN m.by_sku THEN 'BSK' ELSE 'WB' END || lpad(d.i::text, 8, '0') AS key,
            CASE WHEN d.r_status < 0.12 THEN 'open'
                 WHEN d.r_status < 0.17 THEN 'acknowledged'
                 WHEN d.r_status < 0.19 THEN 'snoozed'
                 WHEN d.r_status < 0.95 THEN 'resolved'
                 ELSE 'dismissed' END AS status,
            CASE WHEN d.r_priority < 0.05 THEN 1 WHEN d.r_priority < 0.30 THEN 2
                 WHEN d.r_priority < 0.75 THEN 3 ELSE 4 END AS p,
            now() - make_interval(secs => d.r_age * 180 * 86400) AS first_seen
        FROM draw d JOIN mix m ON d.i %% 100 >= m.slot_from AND d.i %% 100 < m.slot_to
    )
    INSERT INTO exceptions_exceptionrecord (
        rule, key, owner, team, priority, score, summary, details, roles, status, assignee_id,
        assigned_team, snoozed_until, first_seen, last_seen, times_seen, resolved_at, resolution,
        resolution_reason, first_run_id, last_run_id
    )
    SELECT rule, key,
        CASE WHEN team = 'warehouse' THEN 'warehouse' ELSE 'office' END, team,
        'P' || p, (5 - p) * 25 + r_score * 25,
        CASE WHEN by_sku THEN 'SKU ' || key || ': stock differs between the systems'
             ELSE 'Order ' || key || ' needs attention (' || lower(rule) || ')' END,
        jsonb_build_object(CASE WHEN by_sku THEN 'sku' ELSE 'order_ref' END, key,
                           'age_minutes', (r_seen * 5000)::int),
        CASE WHEN by_sku THEN '["erp", "wms"]'::jsonb ELSE '["store", "erp"]'::jsonb END,
        status,
        CASE WHEN r_assign < 0.3 THEN ({users})[1 + (i %% {len(user_ids)})] END,
        CASE WHEN r_assign < 0.05 THEN 'ops' END,
        CASE WHEN status = 'snoozed' THEN now() + interval '3 days' END,
        first_seen,
        first_seen + (now() - first_seen) * r_seen,
        1 + (r_seen * 40)::int,
        CASE WHEN status IN ('resolved', 'dismissed')
             THEN first_seen + (now() - first_seen) * r_seen END,
        CASE WHEN status = 'resolved' AND r_assign >= 0.3 THEN 'cleared by reconciliation'
             WHEN status IN ('resolved', 'dismissed') THEN 'checked with the team' ELSE '' END,
        CASE WHEN status = 'dismissed' THEN 'not_an_issue'
             WHEN status = 'resolved' AND r_assign < 0.3 THEN 'fixed_in_erp' ELSE '' END,
        %(run)s, %(run)s
    FROM shaped
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(sql, {"n": n, "run": run_id})


def _seed_events(run_id: int, user_ids: list[int]) -> None:
    """The trail a record of that status would have: detected, then acknowledged / assigned /
    commented / resolved as its fields say, in time order."""
    users = "ARRAY[" + ",".join(str(pk) for pk in user_ids) + "]"
    actor = f"({users})[1 + (e.id %% {len(user_ids)})]"
    run = "%(run)s"
    statements = [
        # Real exceptions already have their "detected" from the reconciliation run.
        f"""SELECT e.id, e.first_seen, NULL::int, 'detected', '', 'open', '', {run}
            FROM exceptions_exceptionrecord e WHERE e.key LIKE 'WB%%' OR e.key LIKE 'BSK%%'""",
        f"""SELECT e.id, e.first_seen + interval '1 hour', {actor}, 'acknowledged', 'open',
                   'acknowledged', '', NULL
            FROM exceptions_exceptionrecord e
            WHERE e.status = 'acknowledged' OR (e.status <> 'open' AND e.id %% 3 = 0)""",
        f"""SELECT e.id, e.first_seen + interval '2 hours', {actor}, 'assigned', '',
                   coalesce(e.assigned_team, e.team), '', NULL
            FROM exceptions_exceptionrecord e WHERE e.assignee_id IS NOT NULL""",
        f"""SELECT e.id, e.first_seen + interval '3 hours', {actor}, 'commented', '', '',
                   'Asked the warehouse to check the pick face', NULL
            FROM exceptions_exceptionrecord e WHERE e.id %% 7 = 0""",
        f"""SELECT e.id, e.resolved_at,
                   CASE WHEN e.resolution = 'cleared by reconciliation' THEN NULL ELSE {actor} END,
                   CASE WHEN e.resolution = 'cleared by reconciliation' THEN 'auto_resolved'
                        ELSE 'resolved' END,
                   'open', e.status, e.resolution,
                   CASE WHEN e.resolution = 'cleared by reconciliation' THEN {run}::int END
            FROM exceptions_exceptionrecord e WHERE e.status IN ('resolved', 'dismissed')""",
    ]
    with connection.cursor() as cursor:
        for select in statements:
            cursor.execute(
                "INSERT INTO exceptions_exceptionevent "
                "(exception_id, at, actor_id, kind, from_value, to_value, note, run_id) " + select,
                {"run": run_id},
            )


# -- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(name: str) -> str:
    """DATABASE_URL with its database name replaced (the throwaway test database)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


def server_command(kind: str, port: int) -> list[str]:
    """waitress (a production WSGI server: `pip install waitress`), or Django's runserver.

    runserver answers keep-alive requests ~40 ms late (it sends headers and body in separate
    writes, and the client's delayed ACK waits for more): fine for development, useless for
    timing pages. The bench then sends `Connection: close` to dodge it."""
    if kind == "waitress":
        return [
            sys.executable,
            "-m",
            "waitress",
            "--host=127.0.0.1",
            f"--port={port}",
            "--threads=4",
            "integration.wsgi:application",
        ]
    return [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"]


def start_server(kind: str, port: int) -> subprocess.Popen:
    return launch_server(server_command(kind, port), port)


def launch_server(command: list[str], port: int) -> subprocess.Popen:
    """Start `command` on this database with DEBUG off; return once it answers on `port`."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(connection.settings_dict["NAME"]),
        "DEBUG": "false",  # no query log, as in production
    }
    server = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login/", timeout=2)
            return server
        except httpx.TransportError:
            if server.poll() is not None:
                raise RuntimeError("the server exited; run it by hand to see why") from None
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not answer within 60 s")


def sign_in(client: httpx.Client, username: str) -> None:
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    answer = client.post(
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
    )
    assert answer.status_code == 302, f"login failed: {answer.status_code}"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Sampler:
    """The server's resident memory every 20 ms while running."""

    pid: int
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mb(self.pid))
            time.sleep(0.02)


# -- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """pid -> user + system CPU seconds so far (all its threads), for the pids still alive."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return seconds


def database_backends() -> set[int]:
    """The PostgreSQL backends serving the web server (every connection to the bench database
    but this script's own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def time_page(
    client: httpx.Client, world: World, page: Page, requests: int, server_pid: int
) -> dict:
    for i in range(5):  # warm-up: connections, template caches
        client.get(page.path(world, i))
    # CPU the request costs the web process and its database backends: unlike wall time, it
    # hardly changes when other work shares the machine, so it estimates an idle machine's time.
    pids = {server_pid} | database_backends()
    cpu_before = cpu_seconds(pids)
    times, sizes = [], []
    for i in range(requests):
        path = page.path(world, i)
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            return {"page": page.name, "error": f"{path} answered {answer.status_code}"}
        times.append(elapsed)
        sizes.append(len(answer.content))
    pids |= database_backends()
    cpu_after = cpu_seconds(pids)
    cpu = sum(after - cpu_before.get(pid, 0.0) for pid, after in cpu_after.items())
    return {
        "page": page.name,
        "cpu": cpu * 1000 / requests,
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "max": max(times),
        "kb": statistics.mean(sizes) / 1024,
        "target": page.target_ms,
    }


def time_export(client: httpx.Client, world: World, export: Export, pid: int) -> dict:
    before = rss_mb(pid)
    rows = 0
    with Sampler(pid) as sampler:
        started = time.perf_counter()
        with client.stream("GET", export.path(world), timeout=600) as answer:
            if answer.status_code != 200:
                return {"page": export.name, "error": f"answered {answer.status_code}"}
            size = 0
            for chunk in answer.iter_bytes():
                rows += chunk.count(b"\n")
                size += len(chunk)
        elapsed = time.perf_counter() - started
    rows -= 1  # the header
    return {
        "page": export.name,
        "rows": rows,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "mb": size / 1e6,
        "rss_before": before,
        "rss_peak": max(sampler.samples, default=before),
        "rss_after": rss_mb(pid),
        "target": export.target_rows_per_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="exceptions (1,000,000)")
    parser.add_argument(
        "--snapshot-orders", type=int, default=100_000, help="orders in the reconciled bundle"
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per page (200)")
    parser.add_argument(
        "--server",
        choices=["waitress", "runserver"],
        default="waitress" if importlib.util.find_spec("waitress") else "runserver",
        help="WSGI server (waitress when installed)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the test database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure a database kept by --keep (no seeding; it is kept again)",
    )
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    if connection.vendor != "postgresql":
        sys.exit("bench/web.py seeds with PostgreSQL SQL: set DATABASE_URL=postgres://…")

    config = setup_databases(
        verbosity=0, interactive=False, serialized_aliases=[], keepdb=args.keep or args.reuse
    )
    server = None
    try:
        if args.reuse and ExceptionRecord.objects.exists():
            world = describe()
            print(f"reusing {connection.settings_dict['NAME']}")
        else:
            world = seed(args.n, args.snapshot_orders)
        connection.close()  # the server has the database to itself while we measure
        server = start_server(args.server, port := _free_port())
        print(
            f"\n{world.exceptions:,} exceptions; {args.server} pid {server.pid} on port {port}; "
            f"{args.requests} requests per page\n"
        )
        headers = {"Connection": "close"} if args.server == "runserver" else {}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers
        ) as client:
            sign_in(client, SIGN_IN)
            world.deep_page = find_deep_page(client, _all_teams(), DEEP_PAGES)
            print(
                f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU ms':>8} "
                f"{'KB':>7}  target"
            )
            for page in PAGES:
                r = time_page(client, world, page, args.requests, server.pid)
                if "error" in r:
                    print(f"{r['page']:<36} {r['error']}")
                    continue
                verdict = "ok" if r["p95"] < r["target"] else "MISSED"
                print(
                    f"{r['page']:<36} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} "
                    f"{r['cpu']:8.1f} {r['kb']:7.1f}  p95 < {r['target']:.0f} ms {verdict}"
                )
            print()
            for export in EXPORTS:
                for attempt in range(1, export.runs + 1):
                    r = time_export(client, world, export, server.pid)
                    if "error" in r:
                        print(f"{r['page']}: {r['error']}")
                        break
                    verdict = "ok" if r["rows_per_s"] >= r["target"] else "MISSED"
                    print(
                        f"{r['page']} (run {attempt}): {r['rows']:,} rows, {r['mb']:.1f} MB "
                        f"in {r['seconds']:.2f} s = {r['rows_per_s']:,.0f} rows/s "
                        f"(≥ {r['target']:,.0f} {verdict}); server RSS {r['rss_before']:.0f} → "
                        f"peak {r['rss_peak']:.0f} → {r['rss_after']:.0f} MB"
                    )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep or args.reuse:
            print(
                f"kept the database {connection.settings_dict['NAME']} (--reuse to measure again)"
            )
        else:
            teardown_databases(config, verbosity=0)


if __name__ == "__main__":
    main()
