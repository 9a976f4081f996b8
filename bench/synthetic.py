"""A synthetic snapshot bundle of any size, written fast: numpy arrays → Arrow tables → CSV.

    .venv/bin/python bench/synthetic.py --orders 1000000 --skus 200000 [--seed 1] [--out DIR]

Three systems (store → erp → wms) with a realistic shape: ~2.5 lines per order, statuses by age,
shipments for dispatched orders, stock per SKU in each system derived from the orders, a few
legacy warehouse aliases, and ~3 % of orders broken in one of several ways so every rule has
work. Nothing loops per row in Python, so a million orders generate in seconds. The bundle is
cached by size and seed under bench/out/: a directory with a `.complete` marker is reused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

AS_OF = np.datetime64("2026-11-30T23:59:00", "s").astype(np.int64)  # fixed: the cache is by seed
DAY = 86_400
HOUR = 3_600
MINUTE = 60
OUT = Path(__file__).resolve().parent / "out"
SHIPPING = {"Standard Delivery": "WHSTD48", "Next Day Delivery": "WHNDAY"}
STATUSES = np.array(
    ["pending", "open", "released", "in_progress", "held", "dispatched", "cancelled"], dtype=object
)
PENDING, OPEN, RELEASED, IN_PROGRESS, HELD, DISPATCHED, CANCELLED = range(7)

# Anomaly kinds, given to ~3 % of orders; 0 is a clean order.
(
    CLEAN,
    NOT_IN_ERP,
    LOST,
    NOT_POSTED,
    STORE_STALE,
    CANCEL_MISSED,
    QTY_WRONG,
    TAX_PENNY,
    NO_TRACKING,
    WMS_HELD,
    WRONG_SERVICE,
    ORPHAN,
) = range(12)
ANOMALY_RATE = 0.03
CITIES = np.array(["London", "Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff", "York"])
OUTWARDS = np.array(["SW11", "M4", "LS6", "BS8", "G12", "CF10", "YO31"])
_PLAIN = pacsv.WriteOptions(quoting_style="none")


@dataclass
class Orders:
    """Per order (index i), the facts each system's copy is derived from."""

    placed: np.ndarray  # epoch seconds
    t_erp: np.ndarray
    t_wms: np.ndarray
    t_disp: np.ndarray
    t_post: np.ndarray
    t_upd: np.ndarray
    express: np.ndarray
    kind: np.ndarray
    store: np.ndarray  # status codes; -1 = no copy in that system
    erp: np.ndarray
    wms: np.ndarray


def bundle_dir(orders: int, skus: int, seed: int, out: Path = OUT) -> Path:
    return out / f"bundle-{orders}o-{skus}s-seed{seed}"


def generate(orders: int, skus: int, seed: int = 1, out: Path = OUT) -> Path:
    """The bundle directory for this size and seed, generated unless already complete."""
    path = bundle_dir(orders, skus, seed, out)
    if (path / ".complete").exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    rng = np.random.default_rng(seed)
    o = _orders(rng, orders)
    lines = _lines(rng, o, skus)
    aliases = _aliases(skus)
    _write_manifest(path)
    # Arrow's CSV writer runs one file per thread without the GIL: build the next table while
    # the previous ones are written.
    with ThreadPoolExecutor(max_workers=2) as pool:
        writes: list[Future[None]] = []
        write = partial(_submit, pool, writes)
        for role in ("store", "erp", "wms"):
            _write_role(write, path, role, o, lines, aliases, skus)
        _write_stock_and_adjustments(write, path, rng, o, lines, aliases, skus)
        for done in writes:
            done.result()  # re-raise a failed write
    (path / ".complete").write_text(json.dumps({"orders": orders, "skus": skus, "seed": seed}))
    return path


# Orders ------------------------------------------------------------------------------------


def _orders(rng: np.random.Generator, n: int) -> Orders:
    """Timelines and statuses, as the demo world but vectorised (see reconciliation/demo)."""
    placed = AS_OF - rng.integers(MINUTE, 45 * DAY, n)
    express = rng.random(n) < 0.15
    t_erp = placed + rng.integers(2 * MINUTE, 15 * MINUTE, n)
    t_wms = t_erp + rng.integers(10 * MINUTE, 45 * MINUTE, n)
    pick = np.where(
        express, rng.integers(2 * HOUR, 18 * HOUR, n), rng.integers(4 * HOUR, 30 * HOUR, n)
    )
    t_disp = t_wms + pick
    t_post = t_disp + rng.integers(10 * MINUTE, 60 * MINUTE, n)
    t_upd = t_post + rng.integers(5 * MINUTE, 45 * MINUTE, n)

    kind = np.where(rng.random(n) < ANOMALY_RATE, rng.integers(1, 12, n), CLEAN)
    # Anomalies need age to show: keep them on orders old enough to be past every grace.
    kind[placed > AS_OF - 3 * DAY] = CLEAN
    unpaid = rng.random(n) < 0.01
    cancelled = (rng.random(n) < 0.02) & ~unpaid & (kind == CLEAN)
    cancel_at = t_wms + (pick * rng.random(n)).astype(np.int64)
    cancelled &= cancel_at <= AS_OF

    store = np.where(t_upd <= AS_OF, DISPATCHED, OPEN)
    store[(kind == NOT_POSTED) | (kind == STORE_STALE) | (kind == LOST)] = OPEN
    store[unpaid] = PENDING
    store[cancelled | (kind == CANCEL_MISSED)] = CANCELLED

    has_erp = (t_erp <= AS_OF) & ~unpaid & (kind != NOT_IN_ERP)
    erp = np.where(t_wms <= AS_OF, RELEASED, OPEN)
    erp[(t_post <= AS_OF) & (kind != NOT_POSTED) & (kind != LOST)] = DISPATCHED
    erp[cancelled] = CANCELLED
    erp[~has_erp] = -1

    has_wms = has_erp & (t_wms <= AS_OF) & (kind != LOST)
    wms = np.where(t_disp <= AS_OF, DISPATCHED, IN_PROGRESS)
    wms[kind == WMS_HELD] = HELD
    wms[cancelled] = CANCELLED
    wms[~has_wms] = -1
    return Orders(placed, t_erp, t_wms, t_disp, t_post, t_upd, express, kind, store, erp, wms)


@dataclass
class Lines:
    order: np.ndarray  # order index per line
    line_no: np.ndarray
    sku: np.ndarray  # SKU index
    quantity: np.ndarray
    gross: np.ndarray  # pence, VAT included
    net: np.ndarray
    tax: np.ndarray
    unit_price: np.ndarray  # ten-thousandths, net


def _lines(rng: np.random.Generator, o: Orders, skus: int) -> Lines:
    n = len(o.placed)
    per_order = 1 + np.minimum(rng.poisson(1.5, n), 9)
    order = np.repeat(np.arange(n), per_order)
    starts = np.cumsum(per_order) - per_order
    line_no = np.arange(len(order)) - starts[order] + 1
    # Popularity falls off steeply: a few SKUs sell a lot, most sell rarely.
    sku = (skus * rng.random(len(order)) ** 2.5).astype(np.int64)
    quantity = 1 + (rng.random(len(order)) < 0.2).astype(np.int64)
    price = 500 + (sku * 7919) % 15_000  # gross pence, a stable price per SKU
    gross = price * quantity
    net = (gross * 10 + 6) // 12
    return Lines(order, line_no, sku, quantity, gross, net, gross - net, (price * 1000 + 6) // 12)


def _aliases(skus: int) -> np.ndarray:
    """Indices of SKUs the warehouse knows under a legacy code (0.5 %)."""
    return np.arange(0, skus, 200)


# Writing -----------------------------------------------------------------------------------


def _refs(prefix: str, ids: np.ndarray, width: int = 8) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(ids).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _source_refs(prefix: str | None, ids: np.ndarray, kind: np.ndarray) -> pa.Array:
    if prefix is None:
        return pa.nulls(len(ids), pa.string())
    refs = _refs(prefix, ids)
    if prefix != "S":
        return refs
    # A test order at the warehouse pointing at an ERP order that does not exist.
    return pc.if_else(pa.array(kind == ORPHAN), _refs("X", ids), refs)


def _sku_strings(ids: np.ndarray, role: str, aliases: np.ndarray) -> pa.Array:
    canonical = _refs("SKU", ids, 7)
    if role != "wms":
        return canonical
    legacy = np.isin(ids, aliases)
    return pc.if_else(pa.array(legacy), _refs("LEG", ids, 7), canonical)


def _money(amounts: np.ndarray, places: int = 2) -> pa.Array:
    """Integer amounts (pence, or ten-thousandths with places=4) as decimals written "12.50",
    without converting values one by one: the integers are the decimal's unscaled words."""
    amounts = np.ascontiguousarray(amounts, dtype=np.int64)
    words = np.stack([amounts, amounts >> 63], axis=1).copy()  # 128-bit little endian
    decimal = pa.decimal128(18, places)
    return pa.Array.from_buffers(decimal, len(amounts), [None, pa.py_buffer(words)])


def _time(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds, type=pa.timestamp("s", tz="UTC"))


def _text(values: np.ndarray, index: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(index))


Write = Callable[[Path, dict[str, pa.Array]], None]


def _write(path: Path, columns: dict[str, pa.Array]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(pa.table(columns), path, write_options=_PLAIN)


def _submit(
    pool: ThreadPoolExecutor, writes: list[Future[None]], path: Path, columns: dict[str, pa.Array]
) -> None:
    writes.append(pool.submit(_write, path, columns))


def _write_manifest(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    stamp = np.datetime_as_string(np.datetime64(int(AS_OF), "s")) + "Z"
    manifest = {
        "as_of": stamp,
        "currency": "GBP",
        "systems": {
            "store": {"kind": "woocommerce", "taken_at": stamp},
            "erp": {"kind": "prima", "taken_at": stamp},
            "wms": {"kind": "whistl", "taken_at": stamp},
        },
    }
    (path / "bundle.json").write_text(json.dumps(manifest, indent=2))
    config = {"shipping_methods": SHIPPING, "express_service_codes": ["WHNDAY"]}
    (path / "config.json").write_text(json.dumps(config, indent=2))


def _write_role(
    write: Write, path: Path, role: str, o: Orders, lines: Lines, aliases: np.ndarray, skus: int
) -> None:
    status = {"store": o.store, "erp": o.erp, "wms": o.wms}[role]
    present = np.flatnonzero(status >= 0)
    prefix = {"store": "W", "erp": "S", "wms": "H"}[role]
    up_prefix = {"store": None, "erp": "W", "wms": "S"}[role]
    # Systems list their orders in their own sequence, not the store's.
    rng = np.random.default_rng(len(present) + len(role))
    present = present[rng.permutation(len(present))] if role != "store" else present

    in_role = np.zeros(len(o.placed), dtype=bool)
    in_role[present] = True
    line_rows = np.flatnonzero(in_role[lines.order])
    order_of_line = lines.order[line_rows]
    priced = role != "wms"

    net = np.bincount(lines.order, weights=lines.net, minlength=len(o.placed)).astype(np.int64)
    tax = np.bincount(lines.order, weights=lines.tax, minlength=len(o.placed)).astype(np.int64)
    goods = net + tax
    ship_gross = np.where(o.express, 795, np.where(goods >= 6000, 0, 395))
    ship_net = (ship_gross * 10 + 6) // 12
    net, tax = net + ship_net, tax + ship_gross - ship_net
    if role == "erp":
        tax = tax + (o.kind == TAX_PENNY)  # the ERP's header VAT lands a penny off

    placed = {"store": o.placed, "erp": o.t_erp, "wms": o.t_wms}[role][present]
    codes = status[present]
    done = {"store": o.t_upd, "erp": o.t_post, "wms": o.t_disp}[role][present]
    updated = np.where(codes == DISPATCHED, done, placed)
    method = np.where(o.express[present], 1, 0)
    methods = np.array(list(SHIPPING) if role != "wms" else list(SHIPPING.values()), dtype=object)
    n = len(present)
    orders = {
        "order_ref": _refs(prefix, present),
        "source_ref": _source_refs(up_prefix, present, o.kind[present]),
        "status": _text(STATUSES, codes),
        "hold_reason": pc.if_else(
            pa.array(codes == HELD), "Insufficient stock", pa.scalar(None, pa.string())
        ),
        "placed_at": _time(placed),
        "updated_at": _time(updated),
    }
    for column, values in (
        ("net_total", net),
        ("tax_total", tax),
        ("gross_total", net + tax),
        ("shipping_total", ship_net),
    ):
        orders[column] = _money(values[present]) if priced else pa.nulls(n, pa.decimal128(18, 2))
    orders["shipping_method"] = _text(methods, method)
    customer = present % 9973
    orders["ship_name"] = _refs("Customer ", customer, 4)
    orders["ship_line1"] = pc.binary_join_element_wise(
        pa.array(customer % 180 + 1).cast(pa.string()), "High Street", " "
    )
    orders["ship_city"] = _text(CITIES, customer % len(CITIES))
    orders["ship_postcode"] = pc.binary_join_element_wise(
        _text(OUTWARDS, customer % len(OUTWARDS)), " 1AB", ""
    )
    orders["ship_country"] = pa.array(np.full(n, "GB", dtype=object))
    orders["ship_phone"] = _refs("07700 900", customer % 1000, 3)
    orders["email"] = pc.binary_join_element_wise(_refs("c", customer, 4), "@example.com", "")
    write(path / role / "orders.csv", orders)

    quantity = lines.quantity[line_rows].copy()
    if role == "wms":
        first = lines.line_no[line_rows] == 1
        quantity[first & (o.kind[order_of_line] == QTY_WRONG)] += 1
    line_cols = {
        "order_ref": _refs(prefix, order_of_line),
        "line_no": pa.array(lines.line_no[line_rows] * (10 if role == "erp" else 1)).cast(
            pa.string()
        ),
        "sku": _sku_strings(lines.sku[line_rows], role, aliases),
        "quantity": pa.array(quantity),
    }
    if priced:
        line_cols["unit_price"] = _money(lines.unit_price[line_rows], places=4)
        line_cols["line_net"] = _money(lines.net[line_rows])
        line_cols["line_tax"] = _money(lines.tax[line_rows])
        line_cols["tax_rate"] = pa.array(np.full(len(line_rows), 0.2))
    write(path / role / "order_lines.csv", line_cols)

    if role != "store":
        shipped = status[order_of_line] == DISPATCHED
        rows = line_rows[shipped]
        at = o.t_disp[lines.order[rows]]
        express = o.express[lines.order[rows]]
        service = express ^ (o.kind[lines.order[rows]] == WRONG_SERVICE)
        tracked = o.kind[lines.order[rows]] != NO_TRACKING
        write(
            path / role / "shipments.csv",
            {
                "order_ref": _refs(prefix, lines.order[rows]),
                "shipment_ref": _refs("CN", lines.order[rows]),
                "sku": _sku_strings(lines.sku[rows], role, aliases),
                "quantity": pa.array(lines.quantity[rows]),
                "carrier": _text(np.array(["Royal Mail", "DPD"], dtype=object), express * 1),
                "service_code": _text(np.array(["WHSTD48", "WHNDAY"], dtype=object), service * 1),
                "tracking_number": pc.if_else(
                    pa.array(tracked),
                    _refs("TT", lines.order[rows], 9),
                    pa.scalar(None, pa.string()),
                ),
                "dispatched_at": _time(at),
            },
        )

    ids = np.arange(skus)
    write(
        path / role / "products.csv",
        {
            "sku": _sku_strings(ids, role, aliases),
            "name": _refs("Product ", ids, 7),
            "unit_cost": _money(200 + (ids * 7919) % 6000),
            "is_stock_item": pa.array(np.ones(skus, dtype=bool)),
        },
    )
    if role == "wms":
        legacy = aliases
        write(
            path / "sku_map.csv",
            {
                "role": pa.array(np.full(len(legacy), "wms", dtype=object)),
                "sku": _refs("LEG", legacy, 7),
                "canonical_sku": _refs("SKU", legacy, 7),
            },
        )


def _units(lines: Lines, mask: np.ndarray, skus: int) -> np.ndarray:
    """Units per SKU over the lines whose order satisfies `mask` (an order-level boolean)."""
    take = mask[lines.order]
    return np.bincount(lines.sku[take], weights=lines.quantity[take], minlength=skus).astype(
        np.int64
    )


def _write_stock_and_adjustments(
    write: Write,
    path: Path,
    rng: np.random.Generator,
    o: Orders,
    lines: Lines,
    aliases: np.ndarray,
    skus: int,
) -> None:
    # Same bookkeeping as the demo's stock plan: the warehouse is the truth, the ERP lags by
    # what it has not posted, the website shows what can still be sold.
    wms_allocated = _units(lines, o.wms == IN_PROGRESS, skus)
    pending = _units(lines, (o.wms == DISPATCHED) & (o.erp >= 0) & (o.erp != DISPATCHED), skus)
    outbound_erp = (o.wms < 0) & np.isin(o.erp, (OPEN, RELEASED, HELD))
    outbound_store = (o.wms < 0) & (o.erp < 0) & (o.store == OPEN)
    committed = _units(lines, outbound_erp | outbound_store, skus)
    erp_allocated = _units(lines, np.isin(o.erp, (OPEN, RELEASED, HELD)), skus)

    wms_on_hand = np.maximum(wms_allocated + committed, erp_allocated - pending)
    wms_on_hand += rng.poisson(20, skus)
    erp_on_hand = wms_on_hand + pending
    drift = rng.random(skus) < 0.005
    erp_on_hand[drift] += rng.integers(1, 5, int(drift.sum()))
    store_available = np.maximum(0, wms_on_hand - wms_allocated - committed)
    wrong = rng.random(skus) < 0.01
    store_available[wrong] = rng.integers(0, 50, int(wrong.sum()))

    ids = np.arange(skus)
    for role, on_hand, allocated in (
        ("wms", wms_on_hand, wms_allocated),
        ("erp", erp_on_hand, erp_allocated),
        ("store", store_available, np.zeros(skus, dtype=np.int64)),
    ):
        write(
            path / role / "stock.csv",
            {
                "sku": _sku_strings(ids, role, aliases),
                "location": pa.array(
                    np.full(skus, "MAIN" if role == "erp" else "A1", dtype=object)
                ),
                "on_hand": pa.array(on_hand),
                "allocated": pa.array(allocated),
                "available": pa.array(on_hand - allocated),
            },
        )

    count = max(skus // 20, 1)
    adjusted = rng.integers(0, skus, count)
    refs = _refs("ADJ", np.arange(count))
    delta = rng.choice(np.array([-2, -1, 1, 2]), count)
    at = AS_OF - rng.integers(3 * HOUR, 30 * DAY, count)
    reasons = _text(
        np.array(["Cycle count", "Damaged", "Goods-in variance"], dtype=object), ids[:count] % 3
    )
    posted = rng.random(count) >= 0.01
    for role, keep in (("wms", np.ones(count, dtype=bool)), ("erp", posted)):
        keep_idx = pa.array(np.flatnonzero(keep))
        write(
            path / role / "adjustments.csv",
            {
                "adjustment_ref": refs.take(keep_idx),
                "sku": _sku_strings(adjusted[keep], role, aliases),
                "delta": pa.array(delta[keep]),
                "reason": reasons.take(keep_idx),
                "occurred_at": _time(at[keep]),
            },
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    path = generate(args.orders, args.skus, args.seed, args.out)
    print(json.dumps({"path": str(path), "seconds": round(time.perf_counter() - started, 2)}))


if __name__ == "__main__":
    sys.exit(main())
