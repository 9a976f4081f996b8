"""The canonical snapshot records as DataFrames: column names, dtypes and the Bundle container.

Everything that produces snapshots (the bundle reader, connectors, the demo and bench generators)
hands the engine these frames; everything that consumes them (rules, storage, pages) relies on them.

Representation:
- text: pandas ``string[pyarrow]``; an empty cell is ``<NA>``.
- money: ``Int64`` in ten-thousandths of the currency unit (``MONEY_SCALE``), so totals compare
  exactly and never pass through binary floats.
- integers (quantities, stock): ``Int64``.
- timestamps: ``datetime64[ns, UTC]``.
- booleans: ``boolean``.
Columns not in the spec are kept (as text) after the canonical ones; rules ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

ROLES: tuple[str, ...] = ("store", "erp", "wms")
FILES: tuple[str, ...] = (
    "products",
    "orders",
    "order_lines",
    "shipments",
    "stock",
    "adjustments",
)
MONEY_SCALE = 10_000

TEXT = "text"
MONEY = "money"
INT = "int"
TIME = "time"
BOOL = "bool"
FLOAT = "float"

# file -> {column: kind}; order is the canonical column order.
SCHEMAS: dict[str, dict[str, str]] = {
    "products": {
        "sku": TEXT,
        "name": TEXT,
        "barcode": TEXT,
        "unit_cost": MONEY,
        "is_stock_item": BOOL,
    },
    "orders": {
        "order_ref": TEXT,
        "source_ref": TEXT,
        "status": TEXT,
        "hold_reason": TEXT,
        "placed_at": TIME,
        "updated_at": TIME,
        "net_total": MONEY,
        "tax_total": MONEY,
        "gross_total": MONEY,
        "shipping_total": MONEY,
        "discount_total": MONEY,
        "shipping_method": TEXT,
        "ship_name": TEXT,
        "ship_line1": TEXT,
        "ship_line2": TEXT,
        "ship_city": TEXT,
        "ship_postcode": TEXT,
        "ship_country": TEXT,
        "ship_phone": TEXT,
        "email": TEXT,
    },
    "order_lines": {
        "order_ref": TEXT,
        "line_no": TEXT,
        "sku": TEXT,
        "quantity": INT,
        "unit_price": MONEY,
        "line_net": MONEY,
        "line_tax": MONEY,
        "tax_rate": FLOAT,
    },
    "shipments": {
        "order_ref": TEXT,
        "shipment_ref": TEXT,
        "sku": TEXT,
        "quantity": INT,
        "carrier": TEXT,
        "service_code": TEXT,
        "tracking_number": TEXT,
        "dispatched_at": TIME,
    },
    "stock": {
        "sku": TEXT,
        "location": TEXT,
        "on_hand": INT,
        "allocated": INT,
        "available": INT,
    },
    "adjustments": {
        "adjustment_ref": TEXT,
        "sku": TEXT,
        "delta": INT,
        "reason": TEXT,
        "occurred_at": TIME,
    },
}

SKU_MAP_SCHEMA: dict[str, str] = {"role": TEXT, "sku": TEXT, "canonical_sku": TEXT}

# Columns that must be present in the header and non-empty in every row.
REQUIRED: dict[str, tuple[str, ...]] = {
    "products": ("sku",),
    "orders": ("order_ref", "status", "placed_at"),
    "order_lines": ("order_ref", "line_no", "sku", "quantity"),
    "shipments": ("order_ref", "sku", "quantity"),
    "stock": ("sku",),
    "adjustments": ("adjustment_ref", "sku", "delta", "occurred_at"),
    "sku_map": ("role", "sku", "canonical_sku"),
}

# Unique keys within one file.
UNIQUE: dict[str, tuple[str, ...]] = {
    "products": ("sku",),
    "orders": ("order_ref",),
    "order_lines": ("order_ref", "line_no"),
    "adjustments": ("adjustment_ref",),
}

STATUSES: tuple[str, ...] = (
    "pending",
    "open",
    "released",
    "in_progress",
    "held",
    "rejected",
    "partially_dispatched",
    "dispatched",
    "cancelled",
)

PANDAS_DTYPES: dict[str, Any] = {
    TEXT: pd.StringDtype("pyarrow"),
    MONEY: "Int64",
    INT: "Int64",
    TIME: "datetime64[ns, UTC]",
    BOOL: "boolean",
    FLOAT: "Float64",
}


def empty_frame(file: str) -> pd.DataFrame:
    """A frame of the canonical columns and dtypes with no rows."""
    schema = SKU_MAP_SCHEMA if file == "sku_map" else SCHEMAS[file]
    return pd.DataFrame(
        {col: pd.Series([], dtype=PANDAS_DTYPES[kind]) for col, kind in schema.items()}
    )


def money_to_decimal(value: Any) -> Decimal | None:
    """Ten-thousandths (as stored in frames) to a Decimal with the currency's 2+ places."""
    if value is None or value is pd.NA:
        return None
    return (Decimal(int(value)) / MONEY_SCALE).quantize(Decimal("0.0001")).normalize()


def money_str(value: Any) -> str | None:
    """A money value for JSON and people: at least two decimal places, exact."""
    amount = money_to_decimal(value)
    if amount is None:
        return None
    if amount == amount.to_integral_value() or -amount.as_tuple().exponent < 2:
        return f"{amount:.2f}"
    return format(amount, "f")


@dataclass
class RoleSnapshot:
    """One system's snapshot: the files present (missing optional files are None)."""

    role: str
    kind: str
    taken_at: pd.Timestamp
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def get(self, file: str) -> pd.DataFrame | None:
        return self.frames.get(file)

    def has(self, file: str) -> bool:
        return self.frames.get(file) is not None


@dataclass
class Bundle:
    """A complete set of snapshots as of one moment: what the engine reconciles."""

    as_of: pd.Timestamp
    currency: str
    roles: dict[str, RoleSnapshot]
    sku_map: pd.DataFrame | None = None
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    # Pulls that failed after their retries: [{connection, role, error, at}], for SYNC_FAILED.
    sync_failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pipeline(self) -> list[str]:
        """The present roles in flow order: store → erp → wms."""
        return [role for role in ROLES if role in self.roles]

    def upstream(self, role: str) -> str | None:
        pipeline = self.pipeline
        position = pipeline.index(role)
        return pipeline[position - 1] if position > 0 else None

    def frame(self, role: str, file: str) -> pd.DataFrame | None:
        snapshot = self.roles.get(role)
        return snapshot.get(file) if snapshot else None
