"""Centra Integration API records → canonical rows (pure functions), the queries that ask for
them and the status map.

See the package docstring for limits and paging; docs/connectors.md, "Centra", for the maps.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.records import (
    RecordError,
    Rows,
    decimal_text,
    joined,
    number,
    rate,
    text,
    utc,
    whole,
)

ORDER_FILES = ("orders", "order_lines", "shipments")
STOCK_FILES = ("products", "stock")
# Centra's order status → canonical status. Pending orders are checked out and paid (authorised)
# and wait for confirmation: they are to be fulfilled, so they are open.
STATUS_MAP: dict[str, str] = {
    "PENDING": "open",
    "CONFIRMED": "open",
    "PROCESSING": "open",  # a shipment exists; refined by what has shipped, below
    "SHIPPED": "dispatched",
    "COMPLETED": "dispatched",
    "ARCHIVED": "dispatched",
    "CANCELLED": "cancelled",
}
LIMIT_WORDS = ("rate limit", "complexity", "too many")

ORDERS_QUERY = """
query ParityOrders($where: OrderFilter, $limit: Int!, $page: Int!) {
  orders(where: $where, sort: [id_ASC], limit: $limit, page: $page) {
    id number status isOnHold createdAt updatedAt
    grossTotal: grandTotal(includingTax: true) { value }
    netTotal: grandTotal(includingTax: false) { value }
    shippingMethod { name }
    shippingAddress {
      firstName lastName address1 address2 city zipCode phoneNumber cellPhoneNumber email
      country { code }
    }
    ... on DirectToConsumerOrder {
      customer { email }
      totals { shipping { value } shippingTaxIncluded { value } discounts { value } }
    }
    lines {
      id quantity taxPercent
      productSize { SKU }
      unitOriginalPrice(includingTax: false) { value }
      net: lineValue(includingTax: false) { value }
      gross: lineValue(includingTax: true) { value }
    }
    shipments {
      id number createdAt shippedAt isShipped trackingNumber
      carrierInformation { carrierName serviceName }
      lines { quantity orderLine { id } }
    }
  }
}
"""
STOCK_QUERY = """
query ParityStock($limit: Int!, $page: Int!) {
  warehouses {
    id name
    stock(limit: $limit, page: $page) {
      productSize { SKU }
      physicalQuantity allocatedQuantity freeToAllocateQuantity
    }
  }
}
"""
PRODUCTS_QUERY = """
query ParityProducts($limit: Int!, $page: Int!) {
  products(limit: $limit, page: $page) {
    id name
    variants { id name productSizes { SKU GTIN size { name } } }
  }
}
"""
PING_QUERY = "query ParityPing { stores { id name } }"


# -- mapping: API record → canonical rows --------------------------------------------------------


def _value(node: Any, what: str) -> Decimal | None:
    """A MonetaryValue's amount."""
    return number(node.get("value"), what) if isinstance(node, dict) else None


def order_status(order: dict[str, Any], status_map: dict[str, str] = STATUS_MAP) -> str:
    raw = str(order.get("status") or "").strip().upper()
    status = status_map.get(raw)
    if status is None:
        raise RecordError(f"status {raw!r} is not in the Centra status map")
    ordered = sum(
        (number(line.get("quantity"), "quantity") or 0 for line in order.get("lines") or ()),
        Decimal(0),
    )
    shipped = sum(
        (
            number(line.get("quantity"), "shipped quantity") or 0
            for shipment in order.get("shipments") or ()
            if shipment.get("isShipped")
            for line in shipment.get("lines") or ()
        ),
        Decimal(0),
    )
    if status == "open" and shipped > 0:
        return "dispatched" if shipped >= ordered else "partially_dispatched"
    if status == "open" and order.get("isOnHold"):
        return "held"
    return status


def order_rows(
    order: dict[str, Any], status_map: dict[str, str] = STATUS_MAP, prefix: str = ""
) -> tuple[str, Rows]:
    """One order → its orders row, lines and shipped shipments; `prefix` goes before numbers."""
    number_ = text(order.get("number"))
    if number_ is None:
        raise RecordError("the order has no number")
    ref = f"{prefix}{number_}"
    gross = _value(order.get("grossTotal"), "grand total")
    net = _value(order.get("netTotal"), "grand total without tax")
    totals = order.get("totals") or {}
    shipping = _value(totals.get("shipping"), "shipping")
    shipping_tax = _value(totals.get("shippingTaxIncluded"), "shipping tax")
    discounts = _value(totals.get("discounts"), "discounts")
    address = order.get("shippingAddress") or {}
    customer = order.get("customer") or {}
    row = {
        "order_ref": ref,
        "source_ref": None,
        "status": order_status(order, status_map),
        "hold_reason": None,
        "placed_at": utc(order.get("createdAt")),
        "updated_at": utc(order.get("updatedAt")),
        "net_total": decimal_text(net),
        "tax_total": decimal_text(gross - net if gross is not None and net is not None else None),
        "gross_total": decimal_text(gross),
        "shipping_total": decimal_text(
            shipping - (shipping_tax or 0) if shipping is not None else None
        ),
        "discount_total": decimal_text(abs(discounts) if discounts is not None else None),
        "shipping_method": text((order.get("shippingMethod") or {}).get("name")),
        "ship_name": joined(address.get("firstName"), address.get("lastName")),
        "ship_line1": text(address.get("address1")),
        "ship_line2": text(address.get("address2")),
        "ship_city": text(address.get("city")),
        "ship_postcode": text(address.get("zipCode")),
        "ship_country": text((address.get("country") or {}).get("code")),
        "ship_phone": text(address.get("phoneNumber")) or text(address.get("cellPhoneNumber")),
        "email": text(address.get("email")) or text(customer.get("email")),
    }
    lines, skus = [], {}
    for position, line in enumerate(order.get("lines") or (), start=1):
        line_net = _value(line.get("net"), f"line {position} value")
        line_gross = _value(line.get("gross"), f"line {position} value with tax")
        sku = text((line.get("productSize") or {}).get("SKU"))
        skus[line.get("id")] = sku
        lines.append(
            {
                "order_ref": ref,
                "line_no": str(position),
                "sku": sku,
                "quantity": whole(line.get("quantity"), f"line {position} quantity"),
                "unit_price": decimal_text(
                    _value(line.get("unitOriginalPrice"), f"line {position} unit price")
                ),
                "line_net": decimal_text(line_net),
                "line_tax": decimal_text(
                    line_gross - line_net
                    if line_gross is not None and line_net is not None
                    else None
                ),
                "tax_rate": rate(line.get("taxPercent")),
            }
        )
    shipments = [
        shipment_row(ref, prefix, shipment, line, skus)
        for shipment in order.get("shipments") or ()
        if shipment.get("isShipped")  # created but not handed to the carrier is not a dispatch
        for line in shipment.get("lines") or ()
    ]
    return ref, {"orders": [row], "order_lines": lines, "shipments": shipments}


def shipment_row(
    ref: str, prefix: str, shipment: dict[str, Any], line: dict[str, Any], skus: dict[Any, Any]
) -> dict[str, str | None]:
    carrier = shipment.get("carrierInformation") or {}
    line_id = (line.get("orderLine") or {}).get("id")
    if line_id not in skus:
        raise RecordError(f"shipment {shipment.get('number')!r} ships a line the order lacks")
    return {
        "order_ref": ref,
        "shipment_ref": joined(prefix, text(shipment.get("number")), sep=""),
        "sku": skus[line_id],
        "quantity": whole(line.get("quantity"), "shipped quantity"),
        "carrier": text(carrier.get("carrierName")),
        "service_code": text(carrier.get("serviceName")),
        "tracking_number": text(shipment.get("trackingNumber")),
        "dispatched_at": utc(shipment.get("shippedAt")),
    }


def stock_rows(item: dict[str, Any], warehouse: str | None) -> tuple[str, Rows]:
    sku = text((item.get("productSize") or {}).get("SKU"))
    row = {
        "sku": sku,
        "location": warehouse,
        "on_hand": whole(item.get("physicalQuantity"), "physicalQuantity"),
        "allocated": whole(item.get("allocatedQuantity"), "allocatedQuantity"),
        "available": whole(item.get("freeToAllocateQuantity"), "freeToAllocateQuantity"),
    }
    return f"{sku}@{warehouse}", {"stock": [row]}


def product_rows(
    product: dict[str, Any], non_stock: frozenset[str] = frozenset()
) -> tuple[str, Rows]:
    """A product → a products row per size SKU, named product, variant and size together."""
    rows = []
    for variant in product.get("variants") or ():
        for size in variant.get("productSizes") or ():
            sku = text(size.get("SKU"))
            name = joined(
                product.get("name"), variant.get("name"), (size.get("size") or {}).get("name")
            )
            rows.append(
                {
                    "sku": sku,
                    "name": name,
                    "barcode": text(size.get("GTIN")),
                    "unit_cost": None,
                    "is_stock_item": "false" if sku in non_stock else "true",
                }
            )
    return text(product.get("id")) or "", {"products": rows}
