"""Canonical rows → Magento 2 REST records, as the simulator serves them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.simulators.storeworld import (
    Record,
    as_number,
    modified,
    naive_utc,
    split_name,
)

# Canonical status → (state, status). A storefront has no word for released or in_progress.
MAGENTO_STATUS: dict[str, tuple[str, str]] = {
    "pending": ("new", "pending"),
    "open": ("processing", "processing"),
    "released": ("processing", "processing"),
    "in_progress": ("processing", "processing"),
    "partially_dispatched": ("processing", "processing"),
    "dispatched": ("complete", "complete"),
    "held": ("holded", "holded"),
    "rejected": ("canceled", "canceled"),
    "cancelled": ("canceled", "canceled"),
}


# -- canonical rows → API records ----------------------------------------------------------------


def shipped_quantities(
    status: str, lines: list[Record], shipped: dict[str, int]
) -> tuple[list[int], str | None]:
    """`qty_shipped` per line, and a status code to use instead when no split of the lines can
    say "partly shipped" (a single unit): Magento has no status of its own for that."""
    quantities = [int(line["quantity"] or 0) for line in lines]
    if status == "dispatched":
        return quantities, None
    if status != "partially_dispatched":
        return [0] * len(lines), None
    left, taken = dict(shipped), []
    for line, quantity in zip(lines, quantities, strict=True):
        take = min(quantity, left.get(line["sku"], 0))
        left[line["sku"]] = left.get(line["sku"], 0) - take
        taken.append(take)
    if 0 < sum(taken) < sum(quantities):
        return taken, None
    if len(lines) > 1 and 0 < quantities[0] < sum(quantities):
        return [quantities[0]] + [0] * (len(lines) - 1), None
    if quantities and quantities[0] > 1:
        return [quantities[0] - 1] + [0] * (len(lines) - 1), None
    return [0] * len(lines), "partially_shipped"


def magento_address(order: Record, kind: str, entity_id: int) -> dict[str, Any]:
    first, last = split_name(order.get("ship_name"))
    street = [order.get("ship_line1") or ""]
    if order.get("ship_line2"):
        street.append(order["ship_line2"])
    return {
        "address_type": kind,
        "entity_id": entity_id * 2 + (kind == "billing"),
        "parent_id": entity_id,
        "firstname": first,
        "lastname": last,
        "street": street,
        "city": order.get("ship_city") or "",
        "postcode": order.get("ship_postcode") or "",
        "country_id": order.get("ship_country") or "",
        "telephone": order.get("ship_phone") or "",
        "email": order.get("email") or "",
    }


def magento_order(
    order: Record,
    lines: list[Record],
    *,
    entity_id: int,
    shipped: dict[str, int],
    names: dict[str, str],
) -> dict[str, Any]:
    """An order as `GET /V1/orders` lists it."""
    state, status = MAGENTO_STATUS.get(order["status"], ("processing", "processing"))
    quantities, override = shipped_quantities(order["status"], lines, shipped)
    items = []
    for position, (line, qty_shipped) in enumerate(zip(lines, quantities, strict=True), 1):
        quantity = int(line["quantity"] or 0)
        net, tax, unit = line.get("line_net"), line.get("line_tax"), line.get("unit_price")
        row_total = unit * quantity if unit is not None else net
        discount = row_total - net if row_total is not None and net is not None else Decimal(0)
        percent = line.get("tax_rate")
        items.append(
            {
                "item_id": entity_id * 1000 + position,
                "order_id": entity_id,
                "sku": line["sku"],
                "name": names.get(line["sku"], line["sku"]),
                "product_type": "simple",
                "qty_ordered": quantity,
                "qty_shipped": qty_shipped,
                "qty_canceled": quantity if state == "canceled" else 0,
                "qty_invoiced": quantity if state in ("processing", "complete") else 0,
                "price": as_number(unit),
                "base_price": as_number(unit),
                "row_total": as_number(row_total),
                "discount_amount": as_number(discount),
                "tax_amount": as_number(tax),
                "tax_percent": None if percent is None else float(Decimal(repr(percent)) * 100),
                "row_total_incl_tax": as_number((net or 0) + (tax or 0)),
            }
        )
    tax = order.get("tax_total")
    gross = order.get("gross_total")
    if gross is None and order.get("net_total") is not None:
        gross = order["net_total"] + (tax or 0)
    shipping = order.get("shipping_total")
    discount = order.get("discount_total")
    first, last = split_name(order.get("ship_name"))
    address = magento_address(order, "shipping", entity_id)
    return {
        "entity_id": entity_id,
        "increment_id": order["order_ref"],
        "state": state,
        "status": override or status,
        "store_id": 1,
        "created_at": naive_utc(order["placed_at"], " "),
        "updated_at": naive_utc(modified(order), " "),
        "order_currency_code": "GBP",
        "base_currency_code": "GBP",
        "grand_total": as_number(gross),
        "base_grand_total": as_number(gross),
        "subtotal": as_number(sum((line.get("line_net") or 0 for line in lines), Decimal(0))),
        "tax_amount": as_number(tax),
        "shipping_amount": as_number(shipping),
        "discount_amount": as_number(-discount if discount else discount),
        "total_qty_ordered": sum(int(line["quantity"] or 0) for line in lines),
        "customer_email": order.get("email") or "",
        "customer_firstname": first,
        "customer_lastname": last,
        "customer_is_guest": 1,
        "shipping_description": order.get("shipping_method") or "",
        "items": items,
        "billing_address": magento_address(order, "billing", entity_id),
        "payment": {"method": "checkmo", "parent_id": entity_id},
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {"address": address, "method": "flatrate_flatrate"},
                    "items": items,
                }
            ]
        },
    }


def magento_shipment(
    rows: list[Record], *, entity_id: int, order_id: int, item_ids: dict[str, int]
) -> dict[str, Any]:
    """One parcel (the world's rows of one shipment_ref) as `GET /V1/shipments` lists it."""
    first = rows[0]
    created = naive_utc(first.get("dispatched_at"), " ")
    tracks = []
    if first.get("carrier") or first.get("tracking_number") or first.get("service_code"):
        tracks.append(
            {
                "entity_id": entity_id,
                "parent_id": entity_id,
                "order_id": order_id,
                "carrier_code": "custom",
                "title": first.get("carrier") or "",
                "description": first.get("service_code") or "",
                "track_number": first.get("tracking_number") or "",
                "created_at": created,
            }
        )
    return {
        "entity_id": entity_id,
        "increment_id": first.get("shipment_ref") or str(entity_id),
        "order_id": order_id,
        "store_id": 1,
        "created_at": created,
        "updated_at": created,
        "total_qty": sum(int(row["quantity"] or 0) for row in rows),
        "items": [
            {
                "entity_id": entity_id * 100 + n,
                "parent_id": entity_id,
                "order_item_id": item_ids.get(row["sku"]),
                "sku": row["sku"],
                "qty": int(row["quantity"] or 0),
            }
            for n, row in enumerate(rows, start=1)
        ],
        "tracks": tracks,
        "comments": [],
    }
