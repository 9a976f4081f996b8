"""Magento 2 REST records → canonical rows (pure functions), and the maps they use.

See the package docstring for what is read; docs/connectors.md, "Magento", for the maps.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from connectors.base import (
    ConnectorError,
)
from connectors.records import (
    RecordError,
    Rows,
    decimal_text,
    joined,
    money,
    number,
    rate,
    text,
    utc,
    whole,
)

ORDER_FILES = ("orders", "order_lines", "shipments")
STOCK_FILES = ("products", "stock")
# Magento's order status codes → canonical status. A store's own status codes are looked up by
# their state (STATE_MAP) unless `options["status_map"]` names them.
STATUS_MAP: dict[str, str] = {
    "pending": "pending",
    "pending_payment": "pending",
    "payment_review": "pending",
    "fraud": "held",  # suspected fraud waits for a person
    "holded": "held",
    "processing": "open",  # refined by what has shipped, below
    "partially_shipped": "partially_dispatched",  # a custom status many stores add
    "complete": "dispatched",
    "closed": "cancelled",  # refunded; dispatched when something had shipped
    "canceled": "cancelled",
}
STATE_MAP: dict[str, str] = {
    "new": "pending",
    "pending_payment": "pending",
    "payment_review": "pending",
    "holded": "held",
    "processing": "open",
    "complete": "dispatched",
    "closed": "cancelled",
    "canceled": "cancelled",
}
NOT_STOCK = ("virtual", "downloadable", "giftcard")
COMPOSITE = ("configurable", "bundle", "grouped")
DEFAULT_SOURCE = "default"  # single-source mode's only source: no location worth naming
BARCODE_ATTRIBUTE = "ean"  # Magento has no barcode attribute of its own; stores add one


# -- mapping: API record → canonical rows --------------------------------------------------------


def order_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines a customer sees: a configurable's child row (no price) is left out."""
    return [item for item in order.get("items") or () if not item.get("parent_item_id")]


def order_status(order: dict[str, Any], status_map: dict[str, str] = STATUS_MAP) -> str:
    """The canonical status from the status code (or its state), refined by what has shipped:
    Magento keeps a partly shipped order "processing" and a refunded one "closed"."""
    code = str(order.get("status") or "").strip().lower()
    state = str(order.get("state") or "").strip().lower()
    status = status_map.get(code) or STATE_MAP.get(state)
    if status is None:
        raise RecordError(f"status {code!r} (state {state!r}) is not in the Magento status map")
    ordered = shipped = Decimal(0)
    for item in order_items(order):
        ordered += (number(item.get("qty_ordered"), "qty_ordered") or 0) - (
            number(item.get("qty_canceled"), "qty_canceled") or 0
        )
        shipped += number(item.get("qty_shipped"), "qty_shipped") or 0
    if status == "open" and shipped > 0:
        return "dispatched" if shipped >= ordered else "partially_dispatched"
    if status == "cancelled" and "closed" in (code, state) and shipped > 0:
        return "dispatched"
    return status


def shipping_address(order: dict[str, Any]) -> dict[str, Any]:
    assignments = (order.get("extension_attributes") or {}).get("shipping_assignments") or []
    for assignment in assignments:
        address = (assignment.get("shipping") or {}).get("address")
        if address:
            return address
    return {}


def order_rows(order: dict[str, Any], status_map: dict[str, str] = STATUS_MAP) -> tuple[str, Rows]:
    """One order → its orders.csv row and order_lines.csv rows."""
    ref = text(order.get("increment_id")) or text(order.get("entity_id"))
    if ref is None:
        raise RecordError("the order has neither an increment_id nor an entity_id")
    grand = number(order.get("grand_total"), "grand_total")
    tax = number(order.get("tax_amount"), "tax_amount")
    discount = number(order.get("discount_amount"), "discount_amount")
    address = shipping_address(order)
    street = [text(part) for part in address.get("street") or ()]
    row = {
        "order_ref": ref,
        "source_ref": None,
        "status": order_status(order, status_map),
        "hold_reason": None,
        "placed_at": utc(order.get("created_at")),
        "updated_at": utc(order.get("updated_at")),
        "net_total": decimal_text(grand - tax if grand is not None and tax is not None else None),
        "tax_total": decimal_text(tax),
        "gross_total": decimal_text(grand),
        "shipping_total": money(order.get("shipping_amount"), "shipping_amount"),
        # Magento signs discounts negative; canonical discounts are positive amounts.
        "discount_total": decimal_text(abs(discount) if discount is not None else None),
        "shipping_method": text(order.get("shipping_description")),
        "ship_name": joined(address.get("firstname"), address.get("lastname")),
        "ship_line1": street[0] if street else None,
        "ship_line2": joined(*street[1:], sep=", "),
        "ship_city": text(address.get("city")),
        "ship_postcode": text(address.get("postcode")),
        "ship_country": text(address.get("country_id")),
        "ship_phone": text(address.get("telephone")),
        "email": text(order.get("customer_email")),
    }
    lines = []
    for position, item in enumerate(order_items(order), start=1):
        row_total = number(item.get("row_total"), f"line {position} row_total")
        discount = number(item.get("discount_amount"), f"line {position} discount") or 0
        lines.append(
            {
                "order_ref": ref,
                "line_no": str(position),
                "sku": text(item.get("sku")),
                "quantity": whole(item.get("qty_ordered"), f"line {position} qty_ordered"),
                "unit_price": money(item.get("price"), f"line {position} price"),
                "line_net": decimal_text(row_total - discount if row_total is not None else None),
                "line_tax": money(item.get("tax_amount"), f"line {position} tax_amount"),
                "tax_rate": rate(item.get("tax_percent")),
            }
        )
    return ref, {"orders": [row], "order_lines": lines}


def shipment_rows(shipment: dict[str, Any], order_refs: dict[Any, str]) -> tuple[str, Rows]:
    """One shipment → a shipments.csv row per item; `order_refs`: order entity_id → order_ref."""
    ref = text(shipment.get("increment_id")) or text(shipment.get("entity_id"))
    order_ref = order_refs.get(shipment.get("order_id"))
    if order_ref is None:
        raise RecordError(f"order {shipment.get('order_id')!r} is not among the orders read")
    track = next(iter(shipment.get("tracks") or ()), {})
    rows = []
    for item in shipment.get("items") or ():
        quantity = whole(item.get("qty"), "qty")
        if quantity == "0":  # a configurable's child row, or nothing shipped of it
            continue
        rows.append(
            {
                "order_ref": order_ref,
                "shipment_ref": ref,
                "sku": text(item.get("sku")),
                "quantity": quantity,
                "carrier": text(track.get("title")) or text(track.get("carrier_code")),
                "service_code": text(track.get("description")),
                "tracking_number": text(track.get("track_number")),
                "dispatched_at": utc(shipment.get("created_at")),
            }
        )
    return ref or "", {"shipments": rows}


def product_rows(product: dict[str, Any], barcode: str = BARCODE_ATTRIBUTE) -> tuple[str, Rows]:
    attributes = {
        attribute.get("attribute_code"): attribute.get("value")
        for attribute in product.get("custom_attributes") or ()
    }
    sku = text(product.get("sku"))
    row = {
        "sku": sku,
        "name": text(product.get("name")),
        "barcode": text(attributes.get(barcode)),
        "unit_cost": money(attributes.get("cost"), "cost"),
        "is_stock_item": "false" if product.get("type_id") in NOT_STOCK else "true",
    }
    return sku or "", {"products": [row]}


def source_item_rows(item: dict[str, Any]) -> tuple[str, Rows]:
    """A source item: `quantity` on hand at the source; nothing is sellable when it is set out
    of stock (status 0), though a negative quantity stays visible."""
    sku, source = text(item.get("sku")), text(item.get("source_code"))
    quantity = whole(item.get("quantity"), "quantity")
    in_stock = str(item.get("status")) == "1"
    available = quantity if in_stock or quantity is None else str(min(int(quantity), 0))
    row = {
        "sku": sku,
        "location": None if source == DEFAULT_SOURCE else source,
        "on_hand": quantity,
        "allocated": "0",
        "available": available,
    }
    return f"{sku}@{source}", {"stock": [row]}


def search(filters: Iterable[tuple[str, Any, str]] = (), sort: str = "entity_id") -> dict[str, str]:
    """searchCriteria query parameters: each filter its own group (groups are ANDed)."""
    params = {
        "searchCriteria[sortOrders][0][field]": sort,
        "searchCriteria[sortOrders][0][direction]": "ASC",
    }
    for group, (field, value, condition) in enumerate(filters):
        prefix = f"searchCriteria[filter_groups][{group}][filters][0]"
        params |= {
            f"{prefix}[field]": field,
            f"{prefix}[value]": str(value),
            f"{prefix}[condition_type]": condition,
        }
    return params


def items_of(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise ConnectorError(
            "Magento answered something other than a search result", permanent=True
        )
    return body.get("items") or []
