"""A SKU across the systems: on hand / allocated / available per system, the explanation the
rule left in the details, and the orders still holding the stock.

Queries: stock rows, products, this SKU's lines on committing orders, those orders, and for
ADJUSTMENT_NOT_POSTED the adjustment itself (≤ 5, each on a (snapshot, …) index).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Exists, OuterRef

from exceptions.evidence.common import World, in_snapshots, raw_rows, role_rank, show, system_label
from exceptions.models import ExceptionRecord
from reconciliation.models import (
    SnapshotAdjustment,
    SnapshotOrder,
    SnapshotOrderLine,
    SnapshotProduct,
    SnapshotStock,
)

# An order still holding stock: confirmed, not yet fully shipped, not cancelled (bundle.md).
COMMITTING_STATUSES: tuple[str, ...] = (
    "open",
    "released",
    "in_progress",
    "held",
    "rejected",
    "partially_dispatched",
)
# Bounded for a best-seller: the newest lines are read, and the orders shown are capped.
LINES_LIMIT = 500
COMMITTING_LIMIT = 50

# The scalar facts a SKU exception's details carry (rules.md), in reading order, with labels.
EXPLANATION_LABELS: dict[str, str] = {
    "erp_on_hand": "ERP on hand",
    "wms_on_hand": "Warehouse on hand",
    "diff": "Difference (ERP − warehouse)",
    "pending": "Postings pending (all ages)",
    "pending_in_grace": "Postings pending within their grace",
    "unexplained": "Unexplained units",
    "store_available": "Store shows available",
    "base_role": "Base system",
    "base": "Available in the base system",
    "committed": "Committed by orders not yet there",
    "expected": "Expected available",
    "missing_in": "Missing in",
    "order_count": "Orders affected",
    "units": "Units affected",
    "sent_as": "Sent to the warehouse as",
    "pattern": "Allowed pattern",
    "in_products": "In the products list",
    "sku": "SKU",
    "delta": "Adjustment (units)",
    "reason": "Reason",
    "occurred_at": "Occurred",
    "unit_cost": "Unit cost",
    "value": "Value at cost",
}


def sku_evidence(exception: ExceptionRecord, world: World) -> dict[str, Any]:
    details = exception.details or {}
    sku = exception.key
    if exception.rule == "ADJUSTMENT_NOT_POSTED":  # keyed by the adjustment: its SKU is a detail
        sku = str(details.get("sku") or "")
    skus = {world.by_role[role].pk: world.role_skus(role, sku) for role in world.roles}

    stock = list(SnapshotStock.objects.filter(in_snapshots(skus, "sku")).order_by("id"))
    products = list(SnapshotProduct.objects.filter(in_snapshots(skus, "sku")).order_by("id"))
    holding = SnapshotOrder.objects.filter(
        snapshot_id=OuterRef("snapshot_id"),
        order_ref=OuterRef("order_ref"),
        status__in=COMMITTING_STATUSES,
    )
    lines = list(
        SnapshotOrderLine.objects.filter(in_snapshots(skus, "sku"))
        .filter(Exists(holding))
        .order_by("-id")[: LINES_LIMIT + 1]
    )
    more_lines = len(lines) > LINES_LIMIT
    lines = lines[:LINES_LIMIT]
    refs: dict[int, set[str]] = defaultdict(set)
    for line in lines:
        refs[line.snapshot_id].add(line.order_ref)
    orders = list(SnapshotOrder.objects.filter(in_snapshots(refs, "order_ref"))) if refs else []
    adjustments: list[SnapshotAdjustment] = []
    if exception.rule == "ADJUSTMENT_NOT_POSTED":
        adjustments = list(
            SnapshotAdjustment.objects.filter(
                snapshot_id__in=list(world.by_id), adjustment_ref=exception.key
            ).order_by("id")
        )

    committing = _committing(orders, lines, world)
    return {
        "kind": "sku",
        "run": world.run,
        "snapshots": world.snapshot_info(),
        "key": exception.key,
        "sku": sku,
        "stock": _stock_rows(stock, products, world),
        "explanation": explanation(details),
        "committing": committing[:COMMITTING_LIMIT],
        "committing_total": len(committing),
        "committing_more": more_lines or len(committing) > COMMITTING_LIMIT,
        "raw": (
            raw_rows(world, "stock", stock)
            + raw_rows(world, "products", products)
            + raw_rows(world, "adjustments", adjustments)
            + raw_rows(world, "orders", orders)
            + raw_rows(world, "order_lines", lines)
        ),
        "message": "",
    }


def _stock_rows(
    stock: list[SnapshotStock], products: list[SnapshotProduct], world: World
) -> list[dict[str, Any]]:
    """Per system: Σ on hand / allocated / available over its locations; a system with no stock
    row shows nothing (rules.md counts it as 0 only where a rule says so)."""
    by_snapshot: dict[int, list[SnapshotStock]] = defaultdict(list)
    for row in stock:
        by_snapshot[row.snapshot_id].append(row)
    product_of = {p.snapshot_id: p for p in products}
    rows = []
    for role in world.roles:
        snapshot = world.by_role[role]
        group = by_snapshot.get(snapshot.pk, [])
        product = product_of.get(snapshot.pk)
        totals = {name: _sum(group, name) for name in ("on_hand", "allocated", "available")}
        rows.append(
            {
                "role": role,
                "system": system_label(snapshot),
                "skus": sorted({r.sku for r in group}),
                "has_stock": bool(group),
                **totals,
                "negative": any((totals[n] or 0) < 0 for n in ("on_hand", "available")),
                "locations": [
                    {
                        "location": r.location or "",
                        "on_hand": r.on_hand,
                        "allocated": r.allocated,
                        "available": r.available,
                    }
                    for r in group
                ],
                "in_products": product is not None,
                "product": (product.name or "") if product else "",
                "unit_cost": show(product.unit_cost) if product else "",
                "is_stock_item": product.is_stock_item if product else None,
            }
        )
    for name in ("on_hand", "available"):
        differs = len({r[name] for r in rows if r["has_stock"]}) > 1
        for row in rows:
            row[f"{name}_differs"] = differs
    return rows


def _sum(rows: list[SnapshotStock], name: str) -> int | None:
    values = [getattr(r, name) for r in rows if getattr(r, name) is not None]
    return sum(values) if values else None


def explanation(details: dict[str, Any]) -> list[tuple[str, str]]:
    """The details' plain facts as (label, value), in the catalogue's reading order."""
    return [
        (label, show(details[name]))
        for name, label in EXPLANATION_LABELS.items()
        if name in details and not isinstance(details[name], dict | list)
    ]


def _committing(
    orders: list[SnapshotOrder], lines: list[SnapshotOrderLine], world: World
) -> list[dict[str, Any]]:
    """The orders holding this SKU's stock, per system in pipeline order, oldest first."""
    units: dict[tuple[int, str], int] = defaultdict(int)
    for line in lines:
        units[(line.snapshot_id, line.order_ref)] += line.quantity
    rows = [
        {
            "role": world.role_of(o),
            "system": system_label(world.by_id[o.snapshot_id]),
            "order_ref": o.order_ref,
            "source_ref": o.source_ref or "",
            "status": o.status,
            "placed_at": o.placed_at,
            "units": units[(o.snapshot_id, o.order_ref)],
        }
        for o in orders
    ]
    rows.sort(key=lambda r: (role_rank(r["role"]), r["placed_at"], r["order_ref"]))
    return rows
