"""Bundles for the storage, run and command tests (rule tests have their own in rules/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reconciliation.frames import PANDAS_DTYPES, SCHEMAS, Bundle, RoleSnapshot
from tests.bundles import write_bundle_dir

AS_OF = "2026-11-30T23:59:00Z"
PLACED = "2026-11-29T10:00:00Z"  # well past every grace at AS_OF


def small_bundle_files() -> dict[str, list[dict[str, Any]]]:
    """store + erp: W1 never reached the erp (ORDER_NOT_IN_ERP), W2's VAT differs (TAX_MISMATCH)."""
    totals = {"net_total": "10.00", "tax_total": "2.00", "gross_total": "12.00"}
    return {
        "store/orders.csv": [
            {"order_ref": "W1", "status": "open", "placed_at": PLACED, **totals, "channel": "web"},
            {"order_ref": "W2", "status": "open", "placed_at": PLACED, **totals, "channel": "app"},
        ],
        "store/order_lines.csv": [
            {"order_ref": "W1", "line_no": "1", "sku": "MUG1", "quantity": "2"},
            {"order_ref": "W2", "line_no": "1", "sku": "MUG1", "quantity": "1"},
        ],
        "erp/orders.csv": [
            {
                "order_ref": "E2",
                "source_ref": "W2",
                "status": "open",
                "placed_at": "2026-11-29T10:05:00Z",
                "net_total": "10.00",
                "tax_total": "2.50",
                "gross_total": "12.50",
            }
        ],
        "erp/order_lines.csv": [
            {"order_ref": "E2", "line_no": "1", "sku": "MUG1", "quantity": "1"},
        ],
    }


@pytest.fixture
def small_bundle_dir(tmp_path: Path) -> Path:
    return write_bundle_dir(
        tmp_path / "small",
        as_of=AS_OF,
        systems={"store": "woocommerce", "erp": "prima"},
        files=small_bundle_files(),
    )


@pytest.fixture
def broken_bundle_dir(tmp_path: Path) -> Path:
    files = small_bundle_files()
    files["store/orders.csv"][1]["status"] = "shiped"
    files["erp/order_lines.csv"][0]["quantity"] = "-1"
    return write_bundle_dir(
        tmp_path / "broken",
        as_of=AS_OF,
        systems={"store": "woocommerce", "erp": "prima"},
        files=files,
    )


def frame(file: str, rows: list[dict[str, Any]], extras: tuple[str, ...] = ()) -> pd.DataFrame:
    """A canonical frame built directly (not through the CSV reader), for exact edge values."""
    columns = {
        col: pd.array([row.get(col) for row in rows], dtype=PANDAS_DTYPES[kind])
        for col, kind in SCHEMAS[file].items()
        if kind != "time"
    }
    for col, kind in SCHEMAS[file].items():
        if kind == "time":
            columns[col] = pd.Series(
                pd.to_datetime([row.get(col) for row in rows], utc=True, format="ISO8601"),
                dtype=PANDAS_DTYPES[kind],
            ).array
    result = pd.DataFrame({col: columns[col] for col in SCHEMAS[file]})
    for col in extras:
        result[col] = pd.array([row.get(col) for row in rows], dtype=PANDAS_DTYPES["text"])
    return result


def edge_bundle() -> Bundle:
    """Every file of every role, with the values storage must keep exactly."""
    stamp = "2026-11-30T12:34:56.123456Z"
    orders = frame(
        "orders",
        [
            {
                "order_ref": "W1",
                "status": "open",
                "placed_at": stamp,
                "net_total": 125000,  # 12.5000
                "tax_total": -1,  # -0.0001
                "gross_total": 999_999_999_999_999,  # 15 digits: what SQLite keeps exactly
                "shipping_total": 0,
                "ship_line1": 'Flat 2, "The Maltings"\nMill Lane',
                "ship_name": "",  # an empty string is not a missing value
                "channel": "web",
                "gift": None,
            },
            {"order_ref": "W2", "status": "held", "placed_at": "2026-11-01T00:00:00Z"},
        ],
        extras=("channel", "gift"),
    )
    lines = frame(
        "order_lines",
        [
            {"order_ref": "W1", "line_no": "1", "sku": "MUG1", "quantity": 3, "tax_rate": 0.2},
            {"order_ref": "W1", "line_no": "2", "sku": "TEA", "quantity": 0, "unit_price": 1},
        ],
    )
    products = frame(
        "products",
        [
            {"sku": "MUG1", "name": "Mug, blue", "unit_cost": 41_500, "is_stock_item": True},
            {"sku": "WRAP", "is_stock_item": False},
            {"sku": "TEA"},
        ],
    )
    shipments = frame(
        "shipments",
        [{"order_ref": "W1", "sku": "MUG1", "quantity": 3, "dispatched_at": stamp}],
    )
    stock = frame(
        "stock", [{"sku": "MUG1", "location": "A1", "on_hand": -4, "allocated": 2, "available": -6}]
    )
    adjustments = frame(
        "adjustments",
        [{"adjustment_ref": "ADJ1", "sku": "MUG1", "delta": -2, "occurred_at": stamp}],
    )
    taken = pd.Timestamp("2026-11-30T23:50:00Z")
    return Bundle(
        as_of=pd.Timestamp(AS_OF),
        currency="GBP",
        roles={
            "store": RoleSnapshot(
                "store", "woocommerce", taken, {"orders": orders, "order_lines": lines}
            ),
            "erp": RoleSnapshot(
                "erp",
                "prima",
                taken,
                {"products": products, "stock": stock, "adjustments": adjustments},
            ),
            "wms": RoleSnapshot("wms", "whistl", taken, {"shipments": shipments}),
        },
        sku_map=pd.DataFrame(
            {
                "role": pd.array(["wms"], dtype=PANDAS_DTYPES["text"]),
                "sku": pd.array(["mug-1"], dtype=PANDAS_DTYPES["text"]),
                "canonical_sku": pd.array(["MUG1"], dtype=PANDAS_DTYPES["text"]),
            }
        ),
        config={"dispatch_sla_hours": 36},
    )
