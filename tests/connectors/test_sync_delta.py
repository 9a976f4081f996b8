"""Delta pulls are laid over the last complete snapshot and saved as a new complete one."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from connectors.models import Connection
from connectors.simulators import Simulator
from connectors.sync import overlay, run_sync
from reconciliation.frames import PANDAS_DTYPES, SCHEMAS
from reconciliation.models import Snapshot
from reconciliation.store import load_bundle


def frame(file: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            col: pd.array([row.get(col) for row in rows], dtype=PANDAS_DTYPES[kind])
            for col, kind in SCHEMAS[file].items()
        }
    )


def orders_of(snapshot: Snapshot) -> pd.DataFrame:
    bundle = load_bundle([snapshot], as_of=snapshot.taken_at, currency="")
    return bundle.roles["store"].frames["orders"]


def test_a_delta_replaces_changed_orders_and_their_lines(
    shop_connection: Connection, shop: Simulator
) -> None:
    full = run_sync(shop_connection.pk, "full")
    ref = shop.app.orders[0]["order_ref"]
    lines_before = len(lines_of(full.snapshot, ref))
    changed = shop.app.touch(ref, status="cancelled")
    changed["lines"] = changed["lines"][:1]
    requests_before = shop.requests

    delta = run_sync(shop_connection.pk, "delta")

    delta.refresh_from_db()
    assert delta.state == "complete"
    assert delta.since == full.started_at - timedelta(minutes=5)
    assert (delta.records_done, delta.records_total) == (1, 1)
    assert shop.requests - requests_before == 1
    snapshot = delta.snapshot
    assert snapshot.pk != full.snapshot.pk
    orders = orders_of(snapshot)
    assert len(orders) == 52
    assert orders.loc[orders.order_ref == ref, "status"].tolist() == ["cancelled"]
    assert len(lines_of(snapshot, ref)) == 1
    assert snapshot.row_counts == {"orders": 52, "order_lines": 76 - lines_before + 1}
    # The full snapshot is untouched: snapshots are immutable.
    assert Snapshot.objects.get(pk=full.snapshot.pk).row_counts == {"orders": 52, "order_lines": 76}


def lines_of(snapshot: Snapshot, ref: str) -> pd.DataFrame:
    lines = load_bundle([snapshot], as_of=snapshot.taken_at, currency="").frame(
        "store", "order_lines"
    )
    return lines[lines.order_ref == ref]


def test_a_delta_with_no_snapshot_yet_runs_as_a_full_pull(shop_connection: Connection) -> None:
    run = run_sync(shop_connection.pk, "delta")

    run.refresh_from_db()
    assert (run.kind, run.since, run.state) == ("full", None, "complete")
    assert run.snapshot.row_counts == {"orders": 52, "order_lines": 76}


def test_overlay_replaces_by_key_and_keeps_canonical_dtypes() -> None:
    base = {
        "orders": frame(
            "orders",
            [
                {
                    "order_ref": "A",
                    "status": "open",
                    "placed_at": pd.Timestamp("2026-01-01", tz="UTC"),
                },
                {
                    "order_ref": "B",
                    "status": "open",
                    "placed_at": pd.Timestamp("2026-01-01", tz="UTC"),
                },
            ],
        ),
        "order_lines": frame(
            "order_lines",
            [
                {"order_ref": "A", "line_no": "1", "sku": "X", "quantity": 1},
                {"order_ref": "A", "line_no": "2", "sku": "Y", "quantity": 1},
                {"order_ref": "B", "line_no": "1", "sku": "X", "quantity": 3},
            ],
        ),
        "shipments": frame("shipments", [{"order_ref": "B", "sku": "X", "quantity": 1}]),
        "stock": frame("stock", [{"sku": "X", "on_hand": 5}, {"sku": "Y", "on_hand": 2}]),
    }
    delta = {
        "orders": frame(
            "orders",
            [
                {
                    "order_ref": "A",
                    "status": "dispatched",
                    "placed_at": pd.Timestamp("2026-01-01", tz="UTC"),
                },
                {
                    "order_ref": "C",
                    "status": "open",
                    "placed_at": pd.Timestamp("2026-01-02", tz="UTC"),
                },
            ],
        ),
        "order_lines": frame(
            "order_lines", [{"order_ref": "A", "line_no": "1", "sku": "X", "quantity": 2}]
        ),
        "shipments": frame("shipments", [{"order_ref": "B", "sku": "X", "quantity": 3}]),
        "stock": frame("stock", [{"sku": "Y", "on_hand": 0}]),
    }

    merged = overlay(base, delta)

    assert merged["orders"][["order_ref", "status"]].values.tolist() == [
        ["B", "open"],
        ["A", "dispatched"],
        ["C", "open"],
    ]
    assert merged["order_lines"][["order_ref", "line_no", "quantity"]].values.tolist() == [
        ["B", "1", 3],
        ["A", "1", 2],
    ]
    assert merged["shipments"][["order_ref", "quantity"]].values.tolist() == [["B", 3]]
    assert merged["stock"][["sku", "on_hand"]].values.tolist() == [["X", 5], ["Y", 0]]
    assert set(merged) == {"orders", "order_lines", "shipments", "stock"}
    for file, data in merged.items():
        assert data.dtypes.to_dict() == base[file].dtypes.to_dict()
