"""Row builders and a runner for the rule-catalogue tests (spec: rules.md), all at a fixed as_of.

Builders return plain dicts for tests/bundles.py; `run` writes a bundle, reconciles it with the
bundle's own config over the defaults, and returns `Result.exceptions`. Every builder fills in what
a clean record needs (a valid GB address with a phone, tracking and carrier on shipments, a recent
timestamp) so that a test only spells out what makes its record interesting.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

AS_OF = "2026-11-30T23:59:00Z"
_AS_OF = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
KINDS = {"store": "woocommerce", "erp": "prima", "wms": "whistl"}
PRIORITIES = ("P1", "P2", "P3", "P4")

ADDRESS = {
    "ship_name": "Ada Lovelace",
    "ship_line1": "1 High Street",
    "ship_city": "London",
    "ship_postcode": "SW1A 1AA",
    "ship_country": "GB",
    "ship_phone": "+44 20 7946 0000",
    "email": "ada@example.com",
}

_runs = itertools.count(1)


def ago(*, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> str:
    """An ISO 8601 UTC timestamp this long before AS_OF."""
    moment = _AS_OF - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


RECENT = ago(minutes=5)


def order(
    ref: str,
    status: str = "open",
    *,
    source: str | None = None,
    placed_at: str = RECENT,
    **fields: Any,
) -> dict[str, Any]:
    """An orders.csv row with a valid GB address; `source` is its source_ref."""
    row: dict[str, Any] = {"order_ref": ref, "source_ref": source, "status": status}
    row["placed_at"] = placed_at
    row.update(ADDRESS)
    row.update(fields)
    return row


def totals(gross: str, tax: str) -> dict[str, str]:
    """Header money of an order: net = gross − tax (exact decimals)."""
    from decimal import Decimal

    return {"net_total": str(Decimal(gross) - Decimal(tax)), "tax_total": tax, "gross_total": gross}


def line(ref: str, line_no: int | str, sku: str, quantity: int, **fields: Any) -> dict[str, Any]:
    return {"order_ref": ref, "line_no": str(line_no), "sku": sku, "quantity": quantity, **fields}


def lines(ref: str, skus: dict[str, int], **fields: Any) -> list[dict[str, Any]]:
    """order_lines.csv rows of one order, one line per SKU, numbered from 1."""
    return [line(ref, n, sku, qty, **fields) for n, (sku, qty) in enumerate(skus.items(), 1)]


def shipments(
    ref: str,
    skus: dict[str, int],
    *,
    at: str = RECENT,
    parcel: str | None = None,
    carrier: str | None = "DPD",
    tracking: str | None = None,
    service_code: str | None = None,
) -> list[dict[str, Any]]:
    """shipments.csv rows of one parcel (one row per SKU), tracked unless told otherwise."""
    parcel = parcel or f"{ref}-P1"
    return [
        {
            "order_ref": ref,
            "shipment_ref": parcel,
            "sku": sku,
            "quantity": qty,
            "carrier": carrier,
            "service_code": service_code,
            "tracking_number": f"TRK{parcel}" if tracking is None else tracking,
            "dispatched_at": at,
        }
        for sku, qty in skus.items()
    ]


def stock(sku: str, on_hand: int, available: int | None = None, *, location: str = "BIN1") -> dict:
    """A stock.csv row; available defaults to on_hand (nothing allocated)."""
    available = on_hand if available is None else available
    return {
        "sku": sku,
        "location": location,
        "on_hand": on_hand,
        "allocated": max(on_hand - available, 0),
        "available": available,
    }


def product(sku: str, *, unit_cost: str = "1.00", stock_item: bool = True) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "unit_cost": unit_cost,
        "is_stock_item": "true" if stock_item else "false",
    }


def adjustment(ref: str, sku: str, delta: int, *, occurred_at: str = RECENT) -> dict[str, Any]:
    return {
        "adjustment_ref": ref,
        "sku": sku,
        "delta": delta,
        "reason": "cycle count",
        "occurred_at": occurred_at,
    }


def alias(role: str, sku: str, canonical: str) -> dict[str, str]:
    """A sku_map.csv row: `sku` in `role` is `canonical` in the master."""
    return {"role": role, "sku": sku, "canonical_sku": canonical}


def run(
    tmp_path: Path,
    *,
    store: dict[str, list[dict]] | None = None,
    erp: dict[str, list[dict]] | None = None,
    wms: dict[str, list[dict]] | None = None,
    config: dict[str, Any] | None = None,
    sku_map: list[dict] | None = None,
    kinds: dict[str, str] | None = None,
    taken_at: dict[str, str] | None = None,
    sync_failures: list[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Reconcile a bundle of the roles given (role → {file stem: rows}); return its exceptions.

    A role given as `{}` is present with no files. Each call writes a fresh bundle directory.
    `sync_failures` are what connectors would attach to the bundle (frames.Bundle.sync_failures).
    """
    from reconciliation.engine import reconcile
    from tests.bundles import make_bundle

    systems: dict[str, dict[str, str]] = {}
    files: dict[str, list[dict]] = {}
    for role, role_files in (("store", store), ("erp", erp), ("wms", wms)):
        if role_files is None:
            continue
        kind = (kinds or {}).get(role, KINDS[role])
        systems[role] = {"kind": kind, "taken_at": (taken_at or {}).get(role, AS_OF)}
        for stem, rows in role_files.items():
            files[f"{role}/{stem}.csv"] = rows
    bundle = make_bundle(
        tmp_path / f"run{next(_runs)}",
        as_of=AS_OF,
        systems=systems,
        files=files,
        config=config,
        sku_map=sku_map,
    )
    if sync_failures:
        bundle.sync_failures = list(sync_failures)
    return reconcile(bundle).exceptions


def keys(found: pd.DataFrame, rule: str) -> set[str]:
    """The keys of one rule's exceptions."""
    return set(found.loc[found["rule"] == rule, "key"])


def pairs(found: pd.DataFrame) -> set[tuple[str, str]]:
    """Every (rule, key) produced."""
    return set(zip(found["rule"], found["key"], strict=True))


def exception(found: pd.DataFrame, rule: str, key: str) -> dict[str, Any]:
    """The one exception of (rule, key) as a dict."""
    rows = found[(found["rule"] == rule) & (found["key"] == key)]
    assert len(rows) == 1, f"expected one {rule} {key}, found {len(rows)}: {pairs(found)}"
    return rows.iloc[0].to_dict()


def owner_team(found: pd.DataFrame, rule: str, key: str) -> tuple[str, str]:
    row = exception(found, rule, key)
    return row["owner"], row["team"]


def rank(priority: str) -> int:
    """P1 → 1 … P4 → 4: smaller is more urgent."""
    return PRIORITIES.index(priority) + 1
