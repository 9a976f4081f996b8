"""Pull orders and stock from each system's simulator through the real connectors, and time it.

    .venv/bin/python bench/sync.py [--orders 100000] [--stock 50000]
        [--systems woocommerce,whistl,magento,prima,centra]
        [--cin7-orders 300] [--cin7-window-seconds 60]

The world is bench/synthetic.py's bundle (generated in a child process and cached under --out),
cut to exactly --orders orders in every role, with --stock SKUs (a product and a stock row each
per role). Each system's simulator serves its role of that world on loopback; its connector,
over the shared HTTP client (connectors/http.py), pulls the orders (with their lines and
shipments) and then the stock, as a dispatch poll and a stock poll do: `pull(files=("orders",
"shipments"))` and `pull(files=("stock",))`. For each pull it prints records/s, the requests the
client sent (and the simulator answered, where they differ), pages, wall and CPU seconds and the
resident memory the pull added at its peak, and checks that every file came back with exactly
the rows served. Simulators run one at a time in this process and are stopped before the next
starts, so one simulator's index of the world is in memory at a time.

Cin7 Core allows 60 calls a minute and costs a call per sale, so it gets a smaller world
(--cin7-orders) and a full pull with the limit enforced by the simulator (429 beyond 60 calls in
any rolling window) and by the connector's own token bucket. The window is Cin7's real 60 s by
default; --cin7-window-seconds scales it (the limit stays 60 calls a window) for a quicker run.
The simulator's request log shows the busiest window and that no call was refused.

Centra paces itself at 3,600 requests an hour (its standard plan): a 100,000-order pull would
take over half an hour of waiting, so by default the bench lifts that request pacing (the
complexity budget still applies on both sides) and reports the least time the plan's pacing
would take; --centra-plan-pacing keeps it. Results go to --out as
sync-results-<orders>o-<stock>s.json and sync-results-cin7-<orders>o-<window>s.json.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from connectors.base import ConnectionSettings
    from connectors.simulators import Simulator
    from reconciliation.frames import Bundle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reconcile import _reset_peak, _status_kb, ensure_bundle, peak_mb  # noqa: E402
from bench.synthetic import OUT  # noqa: E402

DEFAULT_SYSTEMS = ("woocommerce", "whistl", "magento", "prima", "centra")
CIN7 = "cin7_core"
CIN7_LIMIT = 60  # calls per window, Cin7 Core's published limit (per minute)
# Which role of the world each system serves.
ROLES = {
    "woocommerce": "store",
    "magento": "store",
    "centra": "store",
    "prima": "erp",
    "cin7_core": "erp",
    "whistl": "wms",
}
# What the base URL of a connection to the simulator ends with.
BASE_PATHS = {"cin7_core": "/ExternalApi/v2"}
PULLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("orders", ("orders", "shipments")),
    ("stock", ("stock",)),
)
# The synthetic world gives the ERP and the warehouse ~98.5 % of the store's orders: generate a
# few percent more and cut every role to the size asked for.
HEADROOM = 1.04


# World -------------------------------------------------------------------------------------


def build_world(orders: int, stock: int, seed: int, out: Path) -> tuple[Bundle, dict[str, Any]]:
    """A Bundle with exactly `orders` orders in every role and `stock` SKUs, and how it was
    made (the synthetic bundle is generated in a child process and cached)."""
    from reconciliation.bundle import read_bundle

    started = time.perf_counter()
    path, generated = ensure_bundle(math.ceil(orders * HEADROOM) + 20, stock, seed, out)
    bundle = read_bundle(path)
    roles = {}
    for role, snapshot in bundle.roles.items():
        frames = dict(snapshot.frames)
        if role == "store" and frames.get("shipments") is None:
            frames["shipments"] = store_shipments(bundle)
        have = len(frames["orders"])
        if have < orders:
            raise SystemExit(f"the synthetic {role} role has {have} orders, fewer than {orders}")
        kept = frames["orders"].iloc[:orders].reset_index(drop=True)
        refs = set(kept["order_ref"].tolist())
        frames["orders"] = kept
        for file in ("order_lines", "shipments"):
            frame = frames.get(file)
            if frame is not None:
                frames[file] = frame[frame["order_ref"].isin(refs)].reset_index(drop=True)
        # One simple product per SKU: "Product 0000123" would make the storefront simulators
        # group every SKU into one product family (names differing only in the last word).
        products = frames.get("products")
        if products is not None:
            products = products.copy()
            products["name"] = products["name"].str.replace(" ", "-", regex=False)
            frames["products"] = products
        roles[role] = replace(snapshot, frames=frames)
    world = replace(bundle, roles=roles)
    del bundle, roles
    release_memory()
    info = {
        "path": str(path),
        "generated_seconds": generated,
        "build_seconds": round(time.perf_counter() - started, 2),
        "rss_mb": round(_status_kb("VmRSS") / 1024),  # the process with the world in memory
        "rows": {
            f"{role}/{file}": len(frame)
            for role, snapshot in world.roles.items()
            for file, frame in snapshot.frames.items()
            if frame is not None
        },
    }
    return world, info


def store_shipments(bundle: Bundle) -> pd.DataFrame:
    """Shipments for the storefront's dispatched orders (Magento and Centra serve them): the
    ERP's parcels of the same orders, as a fulfilment posted back to the store carries them.
    The synthetic store role has none of its own."""
    store, erp = bundle.roles["store"].frames, bundle.roles["erp"].frames
    to_store = erp["orders"].set_index("order_ref")["source_ref"]
    shipments = erp["shipments"].copy()
    shipments["order_ref"] = (
        shipments["order_ref"].map(to_store).astype(shipments["order_ref"].dtype)
    )
    orders = store["orders"]
    dispatched = orders.loc[orders["status"] == "dispatched", "order_ref"]
    return shipments[shipments["order_ref"].isin(dispatched)].reset_index(drop=True)


# Pulling -----------------------------------------------------------------------------------


@dataclass
class PullFigures:
    """One pull: what came back, what it cost."""

    system: str
    pull: str
    records: int  # orders, or stock rows
    served: int  # what the simulator had to give
    rows: dict[str, int]  # rows per canonical file
    served_rows: dict[str, int]  # rows per file the simulator had to give
    quarantined: int
    client_requests: int
    server_requests: int
    pages: int
    seconds: float  # wall
    cpu_seconds: float  # of the whole process: the connector and the simulator's threads
    baseline_mb: int  # resident before the pull: the world and the simulator's index of it
    peak_mb: int  # the process's peak during the pull
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def pull_mb(self) -> int:
        """What the pull itself added at its peak (payloads, rows, frames)."""
        return max(0, self.peak_mb - self.baseline_mb)

    @property
    def exact(self) -> bool:
        """Every file came back with exactly the rows served, nothing quarantined."""
        return not self.quarantined and all(
            n == self.served_rows.get(file) for file, n in self.rows.items()
        )

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "records_per_second": round(self.per_second),
            "pull_mb": self.pull_mb,
        }


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the kernel (glibc's malloc_trim), so each
    pull's baseline is what is still in use rather than what an earlier pull left behind."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: freed memory may stay
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def django_ready() -> None:
    """The connectors read the host allow-list from Django settings."""
    import django
    from django.apps import apps

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")
    if not apps.ready:
        django.setup()
    # httpx logs every request at INFO: 2,000 lines a system would drown the figures.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def settings_for(kind: str, url: str, credentials: dict[str, str]) -> ConnectionSettings:
    from connectors.base import ConnectionSettings

    return ConnectionSettings(
        name=f"bench {kind}",
        kind=kind,
        role=ROLES[kind],
        base_url=url + BASE_PATHS.get(kind, ""),
        credentials=credentials,
    )


def served_rows(kind: str, simulator: Simulator, world: Bundle) -> dict[str, int]:
    """Rows per canonical file the simulator serves: its role of the world, less what the
    system cannot hold (Cin7 leaves out all-zero stock rows and has one row per SKU per parcel;
    WooCommerce keeps one stock quantity per SKU)."""
    role = ROLES[kind]
    frames = world.roles[role].frames
    rows = {file: len(frame) for file, frame in frames.items() if frame is not None}
    if kind == CIN7:
        rows["stock"] = len(simulator.app.availability)
        parcels = frames["shipments"][["order_ref", "shipment_ref", "sku"]]
        rows["shipments"] = len(parcels.drop_duplicates())
    elif kind == "woocommerce":
        rows["stock"] = frames["stock"]["sku"].nunique()
    return rows


def run_pull(
    kind: str,
    simulator: Simulator,
    settings: ConnectionSettings,
    name: str,
    files: tuple[str, ...] | None,
    overrides: dict[str, Any],
    world: Bundle,
) -> PullFigures:
    from connectors.base import Progress
    from connectors.http import connector_for

    connector = connector_for(settings, **overrides)
    last = Progress()

    def progress(done: Progress) -> None:
        last.pages_done = done.pages_done

    before = simulator.requests
    statuses_before = dict(simulator.stats()["statuses"])
    release_memory()
    baseline = round(_status_kb("VmRSS") / 1024)
    _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        result = connector.pull(files=files, progress=progress)
    finally:
        connector.client.close()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = round(peak_mb())
    rows = {file: len(frame) for file, frame in result.frames.items()}
    served = served_rows(kind, simulator, world)
    key = "stock" if name == "stock" else "orders"
    statuses = {
        status: count - statuses_before.get(status, 0)
        for status, count in simulator.stats()["statuses"].items()
        if count - statuses_before.get(status, 0)
    }
    figures = PullFigures(
        system=kind,
        pull=name,
        records=rows.get(key, 0),
        served=served.get(key, 0),
        rows=rows,
        served_rows={file: served.get(file, 0) for file in rows},
        quarantined=len(result.quarantined),
        client_requests=connector.client.requests,
        server_requests=simulator.requests - before,
        pages=last.pages_done,
        seconds=round(seconds, 2),
        cpu_seconds=round(cpu, 2),
        baseline_mb=baseline,
        peak_mb=peak,
        statuses=statuses,
    )
    del result
    return figures


def bench_system(
    kind: str, world: Bundle, *, centra_plan_pacing: bool, say: Callable[[str], None]
) -> dict[str, Any]:
    """Serve `world` with `kind`'s simulator and pull its orders, then its stock."""
    from connectors.simulators import start_simulator

    started = time.perf_counter()
    simulator = start_simulator(kind, world)
    load = round(time.perf_counter() - started, 2)
    say(f"{kind}: simulator serving on {simulator.url} (loaded in {load:.1f} s)")
    overrides: dict[str, Any] = {}
    if kind == "centra" and not centra_plan_pacing:
        overrides["rate_limit"] = None  # the complexity budget still paces it
    try:
        settings = settings_for(kind, simulator.url, dict(simulator.app.credentials))
        pulls = []
        for name, files in PULLS:
            figures = run_pull(kind, simulator, settings, name, files, overrides, world)
            say(line(figures))
            pulls.append(figures.as_dict())
    finally:
        simulator.stop()
    result: dict[str, Any] = {"system": kind, "load_seconds": load, "pulls": pulls}
    if kind == "centra" and not centra_plan_pacing:
        # 3,600 an hour with a burst of 30: one a second once the burst is spent.
        requests = sum(p["client_requests"] for p in pulls)
        result["plan_pacing_floor_seconds"] = max(0, requests - 30)
    return result


def bench_cin7(world: Bundle, window: float, say: Callable[[str], None]) -> dict[str, Any]:
    """A full Cin7 Core pull with its 60-calls-a-window limit enforced by the simulator."""
    from connectors.http import RateLimit
    from connectors.simulators import start_simulator

    simulator = start_simulator(
        CIN7, world, rate_limit=CIN7_LIMIT, rate_period=window, rate_status=429
    )
    say(f"{CIN7}: simulator on {simulator.url}, {CIN7_LIMIT} calls per {window:g} s")
    # At the real window the connector's own bucket (RateLimit(60, 60.0)) is used as is.
    overrides = {} if window == 60 else {"rate_limit": RateLimit(CIN7_LIMIT, window)}
    try:
        settings = settings_for(CIN7, simulator.url, dict(simulator.app.credentials))
        figures = run_pull(CIN7, simulator, settings, "full", None, overrides, world)
        stats = simulator.stats()
        busiest = simulator.max_in_window(window)
    finally:
        simulator.stop()
    # The connector's bucket holds a tenth of the limit and refills the rest over a window:
    # the pull cannot be quicker than this.
    burst = CIN7_LIMIT // 10
    floor = max(0.0, (figures.client_requests - burst) * window / (CIN7_LIMIT - burst))
    result = {
        "system": CIN7,
        "window_seconds": window,
        "limit": CIN7_LIMIT,
        "pull": figures.as_dict(),
        "server_statuses": stats["statuses"],
        "max_in_window": busiest,
        "refused": sum(n for s, n in stats["statuses"].items() if s in ("429", "503")),
        "pacing_floor_seconds": round(floor, 1),
    }
    say(line(figures))
    say(
        f"{CIN7}: busiest {window:g}-s window {busiest} calls (limit {CIN7_LIMIT}), "
        f"statuses {stats['statuses']}, pacing floor {floor:.1f} s"
    )
    return result


# Report ------------------------------------------------------------------------------------


DERIVED = ("records_per_second", "pull_mb")  # in the saved figures, not PullFigures fields
HEADER = (
    f"{'system':<12}{'pull':<7}{'records':>9}{'served':>9}  {'check':<6}{'wall s':>8}"
    f"{'rec/s':>8}{'cpu s':>8}{'requests':>9}{'pages':>7}{'+MB':>7}  rows"
)


def line(f: PullFigures) -> str:
    """One pull as a row of the table (HEADER); `+MB` is what the pull added at its peak."""
    rows = ", ".join(
        f"{file} {n:,}" + ("" if n == f.served_rows.get(file) else f" of {f.served_rows[file]:,}")
        for file, n in f.rows.items()
    )
    if f.quarantined:
        rows += f", {f.quarantined:,} quarantined"
    requests = f"{f.client_requests:,}"
    if f.server_requests != f.client_requests:
        requests += f"/{f.server_requests:,}"  # sent / answered
    return (
        f"{f.system:<12}{f.pull:<7}{f.records:>9,}{f.served:>9,}  "
        f"{'ok' if f.exact else 'DIFF':<6}{f.seconds:>8.1f}{f.per_second:>8,.0f}"
        f"{f.cpu_seconds:>8.1f}{requests:>9}{f.pages:>7,}{f.pull_mb:>7,}  {rows}"
    )


def report(results: dict[str, Any], out: Callable[[str], None] = print) -> None:
    out("")
    out(HEADER)
    for system in results["systems"]:
        for p in system["pulls"]:
            out(line(PullFigures(**{k: v for k, v in p.items() if k not in DERIVED})))
        if "plan_pacing_floor_seconds" in system:
            requests = sum(p["client_requests"] for p in system["pulls"])
            out(
                f"{'':<12}at Centra's standard 3,600 requests an hour these {requests:,} "
                f"requests would take at least {system['plan_pacing_floor_seconds']:,} s"
            )
    cin7 = results.get("cin7")
    if cin7:
        out(line(PullFigures(**{k: v for k, v in cin7["pull"].items() if k not in DERIVED})))
        out(
            f"cin7_core: full pull of {cin7['pull']['records']:,} sales, "
            f"{cin7['pull']['client_requests']:,} calls in {cin7['pull']['seconds']:.1f} s; "
            f"busiest {cin7['window_seconds']:g}-s window {cin7['max_in_window']} calls "
            f"(limit {cin7['limit']}), refused {cin7['refused']}"
        )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--stock", type=int, default=50_000, help="SKUs (stock rows per role)")
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS))
    parser.add_argument("--cin7-orders", type=int, default=300, help="0 skips Cin7 Core")
    parser.add_argument("--cin7-stock", type=int, default=1_000)
    parser.add_argument("--cin7-window-seconds", type=float, default=60.0)
    parser.add_argument("--centra-plan-pacing", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT, help="bundle cache and results")
    args = parser.parse_args(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(systems) - set(ROLES))
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)} (known: {', '.join(ROLES)})")

    django_ready()
    results: dict[str, Any] = {"orders": args.orders, "stock": args.stock, "systems": []}
    if systems:
        world, info = build_world(args.orders, args.stock, args.seed, args.out)
        results["world"] = info
        print(f"world: {args.orders:,} orders and {args.stock:,} SKUs a role ({info['path']})")
        print(HEADER)
        for kind in systems:
            results["systems"].append(
                bench_system(kind, world, centra_plan_pacing=args.centra_plan_pacing, say=print)
            )
            release_memory()
        del world
        release_memory()
    if args.cin7_orders > 0:
        world, info = build_world(args.cin7_orders, args.cin7_stock, args.seed, args.out)
        results["cin7_world"] = info
        print(HEADER)
        results["cin7"] = bench_cin7(world, args.cin7_window_seconds, say=print)
    report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    saved = []
    if systems:
        saved.append((f"sync-results-{args.orders}o-{args.stock}s.json", "systems", "world"))
    if "cin7" in results:
        name = f"sync-results-cin7-{args.cin7_orders}o-{args.cin7_window_seconds:g}s.json"
        saved.append((name, "cin7", "cin7_world"))
    for name, *keys in saved:
        target = args.out / name
        target.write_text(json.dumps({k: results[k] for k in keys if k in results}, indent=2))
        print(f"results: {target}")
    return results


def passed(results: dict[str, Any]) -> bool:
    """Every pull exact, and Cin7 inside its limit without a refusal."""
    pulls = [p for system in results["systems"] for p in system["pulls"]]
    cin7 = results.get("cin7")
    if cin7:
        pulls.append(cin7["pull"])
        if cin7["max_in_window"] > cin7["limit"] or cin7["refused"]:
            return False
    derived = [PullFigures(**{k: v for k, v in p.items() if k not in DERIVED}) for p in pulls]
    return all(f.exact for f in derived)


if __name__ == "__main__":
    sys.exit(0 if passed(main()) else 1)
