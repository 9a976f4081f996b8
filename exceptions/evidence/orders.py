"""An order as each system sees it, side by side, with the differing values flagged.

The order is followed down the pipeline the way rules.md links copies (erp.source_ref =
store.order_ref, wms.source_ref = erp.order_ref), starting from the exception's key: the origin
key, an orphan's own order_ref, or a duplicate's shared source_ref. Queries: the orders with the
key as order_ref or source_ref (1), each further role down (≤ 2), lines, shipments and the non-stock
products among the lines' SKUs (3).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q

from exceptions.evidence.common import World, agree, in_snapshots, raw_rows, show, system_label
from exceptions.models import ExceptionRecord
from reconciliation.models import (
    SnapshotOrder,
    SnapshotOrderLine,
    SnapshotProduct,
    SnapshotShipment,
)

# Header fields in the side-by-side table: (field, label, compared across systems). Timestamps are
# each system's own (a copy is always created later than its upstream), so never flagged.
ORDER_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("status", "Status", True),
    ("hold_reason", "Hold reason", False),
    ("placed_at", "Placed", False),
    ("updated_at", "Updated", False),
    ("net_total", "Net", True),
    ("tax_total", "VAT", True),
    ("gross_total", "Gross", True),
    ("shipping_total", "Shipping", True),
    ("discount_total", "Discount", True),
    ("shipping_method", "Shipping method", True),
    ("ship_name", "Name", True),
    ("ship_line1", "Address 1", True),
    ("ship_line2", "Address 2", True),
    ("ship_city", "City", True),
    ("ship_postcode", "Postcode", True),
    ("ship_country", "Country", True),
    ("ship_phone", "Phone", True),
    ("email", "Email", True),
)
# Statuses compared by stage: an order `open` in the store, `released` by the ERP and
# `in_progress` at the warehouse is flowing normally; one `cancelled` or `dispatched` in one
# system and not in another is what a person must see.
STATUS_STAGE: dict[str, str] = {
    "pending": "flowing",
    "open": "flowing",
    "released": "flowing",
    "in_progress": "flowing",
    "held": "stopped",
    "rejected": "stopped",
    "partially_dispatched": "partially dispatched",
    "dispatched": "dispatched",
    "cancelled": "cancelled",
}
SHIPMENT_FIELDS: tuple[str, ...] = (
    "shipment_ref",
    "sku",
    "quantity",
    "carrier",
    "service_code",
    "tracking_number",
    "dispatched_at",
)


def follow_order(key: str, world: World) -> dict[str, list[SnapshotOrder]]:
    """role -> the key's orders in that role (several where duplicated), down the pipeline.

    The anchor is the most upstream role with order_ref = key; where none has it (a duplicate's
    shared source_ref matching no upstream order) the orders whose source_ref is the key stand in.
    Roles above the anchor have no copy: that is what makes the key the origin."""
    roles = world.roles
    first = SnapshotOrder.objects.filter(snapshot_id__in=[world.by_role[r].pk for r in roles])
    by_ref: dict[str, list[SnapshotOrder]] = defaultdict(list)
    by_source: dict[str, list[SnapshotOrder]] = defaultdict(list)
    for order in first.filter(Q(order_ref=key) | Q(source_ref=key)):
        if order.order_ref == key:
            by_ref[world.role_of(order)].append(order)
        if order.source_ref == key:
            by_source[world.role_of(order)].append(order)

    anchor = next((i for i, role in enumerate(roles) if by_ref[role]), None)
    if anchor is not None:
        chosen = {roles[anchor]: by_ref[roles[anchor]]}
    else:
        anchor = next((i for i, role in enumerate(roles) if by_source[role]), None)
        if anchor is None:
            return {}
        chosen = {roles[anchor]: by_source[roles[anchor]]}

    for upstream, role in zip(roles[anchor:], roles[anchor + 1 :], strict=False):
        refs = {order.order_ref for order in chosen[upstream]}
        if not refs:
            chosen[role] = []
        elif refs == {key}:
            chosen[role] = by_source[role]  # already read by the first query
        else:
            chosen[role] = list(
                SnapshotOrder.objects.filter(
                    snapshot_id=world.by_role[role].pk, source_ref__in=sorted(refs)
                )
            )
    return {
        role: sorted(orders, key=lambda o: (o.placed_at, o.order_ref))
        for role, orders in chosen.items()
    }


def order_evidence(exception: ExceptionRecord, world: World) -> dict[str, Any]:
    chain = follow_order(exception.key, world)
    columns: list[dict[str, Any]] = []
    for role in world.roles:
        for order in chain.get(role) or [None]:
            columns.append(
                {
                    "role": role,
                    "system": system_label(world.by_role[role]),
                    "order_ref": order.order_ref if order else "",
                    "source_ref": (order.source_ref or "") if order else "",
                    "found": order is not None,
                    "order": order,
                }
            )
    orders = [c["order"] for c in columns if c["found"]]
    if not orders:
        return {
            "kind": "none",
            "run": world.run,
            "snapshots": world.snapshot_info(),
            "raw": [],
            "message": f"No order {exception.key} in the snapshots of run {world.run.pk}.",
        }

    refs: dict[int, set[str]] = defaultdict(set)
    for order in orders:
        refs[order.snapshot_id].add(order.order_ref)
    lines = list(SnapshotOrderLine.objects.filter(in_snapshots(refs, "order_ref")).order_by("id"))
    shipments = list(
        SnapshotShipment.objects.filter(in_snapshots(refs, "order_ref")).order_by("id")
    )
    non_stock = _non_stock(lines, world)
    for column in columns:
        del column["order"]
    column_of = {(o.snapshot_id, o.order_ref): i for i, o in _found(columns, orders)}
    return {
        "kind": "order",
        "run": world.run,
        "snapshots": world.snapshot_info(),
        "key": exception.key,
        "columns": columns,
        "fields": _field_rows(columns, orders, world),
        "lines": _line_rows(columns, column_of, lines, non_stock, world),
        "shipments": _shipment_rows(
            columns, column_of, shipments, _expected_service(orders, world)
        ),
        "raw": (
            raw_rows(world, "orders", orders)
            + raw_rows(world, "order_lines", lines)
            + raw_rows(world, "shipments", shipments)
        ),
        "message": "",
    }


def _found(
    columns: list[dict[str, Any]], orders: list[SnapshotOrder]
) -> list[tuple[int, SnapshotOrder]]:
    """(column index, order) for the columns that have an order, in column order."""
    found = iter(orders)
    return [(i, next(found)) for i, column in enumerate(columns) if column["found"]]


def _field_rows(
    columns: list[dict[str, Any]], orders: list[SnapshotOrder], world: World
) -> list[dict[str, Any]]:
    by_column = dict(_found(columns, orders))
    methods = world.settings.get("shipping_methods") or {}
    rows = []
    for name, label, compared in ORDER_FIELDS:
        values = [
            getattr(by_column[i], name) if i in by_column else None for i in range(len(columns))
        ]
        if all(v is None or v == "" for v in values):
            continue
        if name == "status":
            comparable = [STATUS_STAGE.get(v, v) if v else v for v in values]
        elif name == "shipping_method":
            # The store's "Next Day Delivery" and the warehouse's WHNDAY agree through the map.
            comparable = [methods.get(v, v) if v else v for v in values]
        else:
            comparable = values
        rows.append(
            {
                "name": name,
                "label": label,
                "values": [show(v) for v in values],
                "differs": compared and not agree(comparable),
            }
        )
    return rows


def _non_stock(lines: list[SnapshotOrderLine], world: World) -> set[str]:
    """The canonical SKUs among the lines that are non-stock (rules.md): listed in the settings,
    or `is_stock_item=false` in any role's products."""
    canonical = {world.canonical(world.role_of(line), line.sku) for line in lines}
    listed = set(world.settings.get("non_stock_skus") or []) & canonical
    wanted = {
        snapshot.pk: set().union(*(world.role_skus(snapshot.role, sku) for sku in canonical))
        for snapshot in world.snapshots
    }
    if not canonical:
        return listed
    flagged = SnapshotProduct.objects.filter(in_snapshots(wanted, "sku"), is_stock_item=False)
    return listed | {world.canonical(world.role_of(p), p.sku) for p in flagged}


def _line_rows(
    columns: list[dict[str, Any]],
    column_of: dict[tuple[int, str], int],
    lines: list[SnapshotOrderLine],
    non_stock: set[str],
    world: World,
) -> list[dict[str, Any]]:
    """One row per canonical SKU with each order's quantity of it; stock lines are flagged where
    the quantities differ (an order without the SKU has 0 of it; a system without the order
    shows nothing)."""
    quantities: dict[str, list[int]] = {}
    aliases: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        role = world.role_of(line)
        sku = world.canonical(role, line.sku)
        quantities.setdefault(sku, [0] * len(columns))[
            column_of[(line.snapshot_id, line.order_ref)]
        ] += line.quantity
        if line.sku != sku:
            aliases[sku].add(f"{system_label(world.by_role[role])}: {line.sku}")
    rows = []
    for sku, row in quantities.items():
        values = [q if columns[i]["found"] else None for i, q in enumerate(row)]
        stock = sku not in non_stock
        rows.append(
            {
                "sku": sku,
                "aliases": sorted(aliases[sku]),
                "non_stock": not stock,
                "values": ["" if v is None else str(v) for v in values],
                "differs": stock and len({v for v in values if v is not None}) > 1,
            }
        )
    return rows


def _expected_service(orders: list[SnapshotOrder], world: World) -> str:
    """The service code the most upstream copy's shipping method maps to (SERVICE_MISMATCH's
    reading): every parcel of the order should ship with it. Empty when unmapped."""
    methods = world.settings.get("shipping_methods") or {}
    method = next((o.shipping_method for o in orders if o.shipping_method), None)
    if method is None:
        return ""
    return methods.get(method, method if method in methods.values() else "")


def _shipment_rows(
    columns: list[dict[str, Any]],
    column_of: dict[tuple[int, str], int],
    shipments: list[SnapshotShipment],
    expected: str,
) -> list[dict[str, Any]]:
    """Every shipment row with the order it belongs to. `missing` names the empty carrier and
    tracking cells; `wrong_service` is set where the service differs from the one the order's
    shipping method maps to (a silent downgrade or upgrade)."""
    rows = []
    for shipment in shipments:
        column = columns[column_of[(shipment.snapshot_id, shipment.order_ref)]]
        cells: dict[str, Any] = {name: show(getattr(shipment, name)) for name in SHIPMENT_FIELDS}
        rows.append(
            {
                "role": column["role"],
                "system": column["system"],
                "order_ref": column["order_ref"],
                **cells,
                "missing": [name for name in ("carrier", "tracking_number") if not cells[name]],
                "expected_service": expected or "",
                "wrong_service": bool(
                    expected and cells["service_code"] and cells["service_code"] != expected
                ),
            }
        )
    return rows
