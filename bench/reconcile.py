"""Time read → reconcile (→ save) on a synthetic bundle; optionally DuckDB on the same CSVs.

    .venv/bin/python bench/reconcile.py --orders 1000000 --skus 200000 [--duckdb] [--save]

The bundle comes from bench/synthetic.py (generated in a child process, so its memory is not
counted here, and cached under --out). Each phase prints wall seconds and its peak resident
memory: the kernel's high-water mark (VmHWM) is reset before the phase and read after it, so a
phase's peak is its own, not the process's lifetime maximum. --save runs the whole service
(save snapshots, reconcile, record exceptions) into a throwaway test database made from
DATABASE_URL (test_<name>, dropped afterwards). --duckdb times DuckDB reading the same CSVs
and doing the four full outer joins the engine's main comparisons need, in a child process.
Targets (1 M orders per system, 200 k SKUs): read + reconcile < 60 s and < 6 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import OUT, bundle_dir  # noqa: E402

TARGET_SECONDS = 60
TARGET_GB = 6


# Memory ------------------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """Peak RSS since the last reset, else since the process started (ru_maxrss)."""
    hwm = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return hwm / 1024


@contextmanager
def phase(name: str, results: dict[str, Any]) -> Iterator[None]:
    _reset_peak()
    started = time.perf_counter()
    print(f"{name} …", flush=True)
    yield
    seconds = time.perf_counter() - started
    results[name] = {"seconds": round(seconds, 2), "peak_mb": round(peak_mb())}
    print(f"{name}: {seconds:.2f} s, peak RSS {peak_mb():,.0f} MB", flush=True)


# Phases ------------------------------------------------------------------------------------


def ensure_bundle(orders: int, skus: int, seed: int, out: Path) -> tuple[Path, float | None]:
    path = bundle_dir(orders, skus, seed, out)
    if (path / ".complete").exists():
        return path, None
    started = time.perf_counter()
    command = [sys.executable, str(ROOT / "bench" / "synthetic.py"), "--orders", str(orders)]
    command += ["--skus", str(skus), "--seed", str(seed), "--out", str(out)]
    subprocess.run(command, check=True)
    return path, round(time.perf_counter() - started, 2)


def run_engine(path: Path, save: bool) -> dict[str, Any]:
    from reconciliation.bundle import read_bundle
    from reconciliation.engine import reconcile

    results: dict[str, Any] = {"baseline_mb": round(_status_kb("VmRSS") / 1024)}
    with phase("read", results):
        bundle = read_bundle(path)
    rows = {
        f"{role}/{file}": len(frame)
        for role, snapshot in bundle.roles.items()
        for file, frame in snapshot.frames.items()
        if frame is not None
    }
    results["rows"] = rows
    with phase("reconcile", results):
        result = reconcile(bundle)
    results["engine_timings"] = result.timings
    results["exceptions"] = len(result.exceptions)
    results["counts"] = {rule: n for rule, n in result.counts.items() if n}
    del result
    if save:
        _save(bundle, path, results)
    results["process_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return results


def _save(bundle: Any, path: Path, results: dict[str, Any]) -> None:
    """The whole service into a throwaway test database (never the real one); the phase times
    the service only, not creating the database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")
    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    from reconciliation.runs import reconcile_bundle_object

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        with phase("save", results):
            _, result = reconcile_bundle_object(
                bundle, source="bench", source_name=str(path), save=True
            )
        results["save_timings"] = {
            name: seconds for name, seconds in result.timings.items() if "." not in name
        }
    finally:
        teardown_databases(databases, verbosity=0)


# DuckDB ------------------------------------------------------------------------------------

JOINS = {
    "store orders ⟷ erp orders": """
        SELECT count(*) FILTER (WHERE s.order_ref IS NULL OR e.order_ref IS NULL)
        FROM store_orders s FULL OUTER JOIN erp_orders e ON e.source_ref = s.order_ref""",
    "erp orders ⟷ wms orders": """
        SELECT count(*) FILTER (WHERE e.order_ref IS NULL OR w.order_ref IS NULL)
        FROM erp_orders e FULL OUTER JOIN wms_orders w ON w.source_ref = e.order_ref""",
    "erp lines ⟷ wms lines": """
        WITH e AS (SELECT order_ref, sku, sum(quantity) AS q FROM erp_order_lines GROUP BY ALL),
        w AS (
            SELECT o.source_ref AS order_ref, coalesce(m.canonical_sku, l.sku) AS sku,
                   sum(l.quantity) AS q
            FROM wms_order_lines l JOIN wms_orders o ON o.order_ref = l.order_ref
            LEFT JOIN sku_map m ON m.role = 'wms' AND m.sku = l.sku
            GROUP BY ALL)
        SELECT count(*) FROM e FULL OUTER JOIN w ON e.order_ref = w.order_ref AND e.sku = w.sku
        WHERE e.q IS DISTINCT FROM w.q""",
    "erp stock ⟷ wms stock": """
        WITH e AS (SELECT sku, sum(on_hand) AS q FROM erp_stock GROUP BY ALL),
        w AS (
            SELECT coalesce(m.canonical_sku, s.sku) AS sku, sum(s.on_hand) AS q
            FROM wms_stock s LEFT JOIN sku_map m ON m.role = 'wms' AND m.sku = s.sku
            GROUP BY ALL)
        SELECT count(*) FROM e FULL OUTER JOIN w ON e.sku = w.sku
        WHERE coalesce(e.q, 0) <> coalesce(w.q, 0)""",
}


def duckdb_worker(path: Path) -> dict[str, Any]:
    """Runs in its own process: DuckDB reads every CSV of the bundle, then the four joins."""
    import duckdb

    connection = duckdb.connect()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    files = sorted(path.glob("*/*.csv")) + [path / "sku_map.csv"]
    for file in files:
        table = "sku_map" if file.parent == path else f"{file.parent.name}_{file.stem}"
        connection.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true)", [str(file)]
        )
    results["read_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    results["joins"] = {}
    for name, sql in JOINS.items():
        join_started = time.perf_counter()
        (count,) = connection.execute(sql).fetchone()
        results["joins"][name] = {
            "differences": count,
            "seconds": round(time.perf_counter() - join_started, 2),
        }
    results["join_seconds"] = round(time.perf_counter() - started, 2)
    # VmHWM, not ru_maxrss: the latter carries over the parent's peak from before the exec.
    results["peak_mb"] = round(_status_kb("VmHWM") / 1024)
    return results


def run_duckdb(path: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--duckdb-worker", str(path)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


# Report ------------------------------------------------------------------------------------


def report(results: dict[str, Any], out: Callable[[str], None] = print) -> None:
    engine = results["engine"]
    read, rec = engine["read"], engine["reconcile"]
    total = read["seconds"] + rec["seconds"]
    peak = max(read["peak_mb"], rec["peak_mb"])
    out("")
    out(f"bundle: {results['path']}")
    rows = engine["rows"]
    out("rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
    out(f"process RSS before reading: {engine['baseline_mb']:,} MB")
    out(f"{'phase':<22}{'seconds':>10}{'peak RSS MB':>14}")
    for name in ("read", "reconcile", "save"):
        if name in engine:
            out(f"{name:<22}{engine[name]['seconds']:>10.2f}{engine[name]['peak_mb']:>14,}")
    out(f"{'read + reconcile':<22}{total:>10.2f}{peak:>14,}")
    seconds_ok = "ok" if total < TARGET_SECONDS else "MISSED"
    memory_ok = "ok" if peak < TARGET_GB * 1024 else "MISSED"
    out(f"target: < {TARGET_SECONDS} s ({seconds_ok}), < {TARGET_GB} GB peak RSS ({memory_ok})")
    out(f"exceptions: {engine['exceptions']:,}  {engine['counts']}")
    out("engine timings (s):")
    timings = engine["engine_timings"]
    slowest = sorted(timings.items(), key=lambda item: -item[1])
    out("  " + ", ".join(f"{name} {seconds:.2f}" for name, seconds in slowest[:14]))
    if "save_timings" in engine:
        out("save timings (s): " + json.dumps(engine["save_timings"]))
    if "duckdb" in results:
        duck = results["duckdb"]
        duck_total = duck["read_seconds"] + duck["join_seconds"]
        out(
            f"duckdb: read {duck['read_seconds']:.2f} s + joins {duck['join_seconds']:.2f} s "
            f"= {duck_total:.2f} s, peak RSS {duck['peak_mb']:,} MB"
        )
        for name, join in duck["joins"].items():
            out(f"  {name}: {join['seconds']:.2f} s ({join['differences']:,} differences)")
        out(f"ratio (read + reconcile) / (duckdb read + joins): {total / duck_total:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", action="store_true", help="also run the saving service")
    parser.add_argument("--duckdb", action="store_true", help="also time DuckDB")
    parser.add_argument("--out", type=Path, default=OUT, help="bundle cache and results")
    parser.add_argument("--duckdb-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.duckdb_worker:
        print(json.dumps(duckdb_worker(args.duckdb_worker)))
        return

    path, generated = ensure_bundle(args.orders, args.skus, args.seed, args.out)
    results: dict[str, Any] = {
        "path": str(path),
        "orders": args.orders,
        "skus": args.skus,
        "generate_seconds": generated,
    }
    how = f"generated in {generated:.1f} s" if generated is not None else "cached"
    print(f"bundle {how}: {path}")
    results["engine"] = run_engine(path, args.save)
    if args.duckdb:
        print("duckdb …", flush=True)
        results["duckdb"] = run_duckdb(path)
    report(results)
    target = args.out / f"results-{args.orders}o-{args.skus}s-seed{args.seed}.json"
    target.write_text(json.dumps(results, indent=2))
    print(f"results: {target}")


if __name__ == "__main__":
    main()
