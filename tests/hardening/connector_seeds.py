"""One valid API record per connector mapping, for the fuzz tests to mutate.

The records come from the simulators' own canonical → API functions where they have one (so they
stay shaped as the simulators serve them), from one tiny canonical order; the small flat records
(stock items, products of some systems) are written out here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from itertools import count
from typing import Any

from connectors import centra, cin7, woocommerce
from connectors.centra import mapping as centra_mapping
from connectors.magento import mapping as magento_mapping
from connectors.prima.mapping import CHILDREN, PrimaMapper, record_element
from connectors.simulators.centra import centra_order, centra_products
from connectors.simulators.cin7 import adjustment_task, sale_detail
from connectors.simulators.magento.records import magento_order, magento_shipment
from connectors.simulators.woocommerce import woo_order, woo_product
from connectors.whistl.mapping import Mapper

PLACED = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
ORDER: dict[str, Any] = {
    "order_ref": "SO1",
    "source_ref": "W1",
    "status": "open",
    "hold_reason": None,
    "placed_at": PLACED,
    "updated_at": datetime(2026, 11, 29, 11, 0, tzinfo=UTC),
    "net_total": Decimal("20.00"),
    "tax_total": Decimal("4.00"),
    "gross_total": Decimal("24.00"),
    "shipping_total": Decimal("0.00"),
    "discount_total": Decimal("0.00"),
    "shipping_method": "Standard",
    "ship_name": "Ann Lee",
    "ship_line1": "1 Mill Lane",
    "ship_line2": None,
    "ship_city": "Leeds",
    "ship_postcode": "LS1 1AA",
    "ship_country": "GB",
    "ship_phone": "0113 496 0000",
    "email": "ann@example.com",
}
LINES: list[dict[str, Any]] = [
    {
        "order_ref": "SO1",
        "line_no": "1",
        "sku": "MUG1",
        "quantity": 2,
        "unit_price": Decimal("10.00"),
        "line_net": Decimal("20.00"),
        "line_tax": Decimal("4.00"),
        "tax_rate": 0.2,
    }
]
SHIPMENTS: list[dict[str, Any]] = [
    {
        "order_ref": "SO1",
        "shipment_ref": "P1",
        "sku": "MUG1",
        "quantity": 2,
        "carrier": "DPD",
        "service_code": "NEXT",
        "tracking_number": "T1",
        "dispatched_at": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    }
]
PRODUCT: dict[str, Any] = {
    "sku": "MUG1",
    "name": "Mug Blue",
    "barcode": "5000000000001",
    "unit_cost": Decimal("2.50"),
    "is_stock_item": True,
}
STOCK: dict[str, Any] = {
    "sku": "MUG1",
    "location": "A",
    "on_hand": 5,
    "allocated": 1,
    "available": 4,
}
ADJUSTMENT: dict[str, Any] = {
    "adjustment_ref": "ADJ1",
    "sku": "MUG1",
    "delta": -1,
    "reason": "Damaged",
    "occurred_at": PLACED,
}

Mapper_ = Callable[[Any], tuple[str, dict[str, list[dict[str, Any]]]]]


@dataclass
class Case:
    """One mapping: what it maps, the record to mutate, and records that must be in the batch
    first (a shipment's order)."""

    name: str
    file: str
    mapper: Mapper_
    ref: Callable[[Any], Any]
    seed: Any
    files: tuple[str, ...]
    # The file with exactly one row per record kept, when there is one.
    one_row_in: str | None = None
    context: list[tuple[str, Any, Mapper_, Callable[[Any], Any]]] = field(default_factory=list)


def _get(key: str) -> Callable[[Any], Any]:
    return lambda record: record.get(key)


def _woocommerce() -> list[Case]:
    order = woo_order(ORDER, LINES, order_id=1, item_ids=count(1), rate_ids={}, products={})
    product = woo_product(PRODUCT, 4, product_id=1)
    return [
        Case(
            "woocommerce order",
            "orders",
            woocommerce.order_rows,
            _get("number"),
            order,
            ("orders", "order_lines"),
            "orders",
        ),
        Case(
            "woocommerce product",
            "products",
            woocommerce.product_rows,
            _get("sku"),
            product,
            ("products", "stock"),
            "products",
        ),
    ]


def _magento() -> list[Case]:
    order = magento_order(ORDER, LINES, entity_id=1, shipped={"MUG1": 2}, names={"MUG1": "Mug"})
    shipment = magento_shipment(SHIPMENTS, entity_id=1, order_id=1, item_ids={"MUG1": 1})
    order_mapper: Mapper_ = magento_mapping.order_rows
    context = [("orders", order, order_mapper, _get("increment_id"))]
    product = {
        "id": 1,
        "sku": "MUG1",
        "name": "Mug",
        "type_id": "simple",
        "custom_attributes": [{"attribute_code": "cost", "value": "2.50"}],
    }
    source_item = {"sku": "MUG1", "source_code": "default", "quantity": 5, "status": 1}
    files = ("orders", "order_lines", "shipments")
    return [
        Case("magento order", "orders", order_mapper, _get("increment_id"), order, files, "orders"),
        Case(
            "magento shipment",
            "shipments",
            partial(magento_mapping.shipment_rows, order_refs={1: "SO1"}),
            _get("increment_id"),
            shipment,
            files,
            context=context,
        ),
        Case(
            "magento product",
            "products",
            magento_mapping.product_rows,
            _get("sku"),
            product,
            ("products",),
            "products",
        ),
        Case(
            "magento source item",
            "stock",
            magento_mapping.source_item_rows,
            _get("sku"),
            source_item,
            ("stock",),
            "stock",
        ),
    ]


def _centra() -> list[Case]:
    order = centra_order(ORDER, LINES, SHIPMENTS, number=1, prefix="")
    stock_item = {
        "productSize": {"SKU": "MUG1"},
        "physicalQuantity": 5,
        "allocatedQuantity": 1,
        "freeToAllocateQuantity": 4,
    }
    return [
        Case(
            "centra order",
            "orders",
            centra.order_rows,
            _get("number"),
            order,
            ("orders", "order_lines", "shipments"),
            "orders",
        ),
        Case(
            "centra product",
            "products",
            centra_mapping.product_rows,
            _get("id"),
            centra_products([PRODUCT])[0],
            ("products",),
        ),
        Case(
            "centra stock",
            "stock",
            partial(centra_mapping.stock_rows, warehouse="Main"),
            lambda item: (item.get("productSize") or {}).get("SKU"),
            stock_item,
            ("stock",),
            "stock",
        ),
    ]


def _cin7() -> list[Case]:
    product = {"SKU": "MUG1", "Name": "Mug", "Type": "Stock", "AverageCost": 2.5}
    availability = {"ID": "p1", "SKU": "MUG1", "Location": "Main", "OnHand": 5.0}
    availability |= {"Allocated": 1.0, "Available": 4.0}
    return [
        Case(
            "cin7 sale",
            "orders",
            cin7.sale_rows,
            _get("OrderNumber"),
            sale_detail(ORDER, LINES, SHIPMENTS),
            ("orders", "order_lines", "shipments"),
            "orders",
        ),
        Case("cin7 product", "products", cin7.product_rows, _get("SKU"), product, ("products",)),
        Case(
            "cin7 availability",
            "stock",
            cin7.availability_rows,
            _get("SKU"),
            availability,
            ("stock",),
            "stock",
        ),
        Case(
            "cin7 adjustment",
            "adjustments",
            cin7.adjustment_rows,
            _get("Reference"),
            adjustment_task(1, ADJUSTMENT),
            ("adjustments",),
        ),
    ]


PRIMA = PrimaMapper()


def prima_order() -> dict[str, Any]:
    record: dict[str, Any] = PRIMA.values("orders", ORDER)
    record[CHILDREN["order_lines"][0]] = [PRIMA.values("order_lines", line) for line in LINES]
    record[CHILDREN["shipments"][0]] = [PRIMA.values("shipments", row) for row in SHIPMENTS]
    return record


def prima_order_xml() -> bytes:
    """A GetSalesOrders answer holding the one order, as the service sends it."""
    record = prima_order()
    children = [(container, item, record.pop(container)) for container, item in CHILDREN.values()]
    answer = ET.Element("Response")
    ET.SubElement(answer, "Result").text = "OK"
    container = ET.SubElement(answer, PRIMA.requests["orders"]["container"])
    container.append(record_element(PRIMA.requests["orders"]["record"], record, children))
    return ET.tostring(answer, encoding="utf-8", xml_declaration=True)


def _prima() -> list[Case]:
    def flat(file: str) -> Mapper_:
        return lambda record: PRIMA.flat_rows(file, record)

    return [
        Case(
            "prima order",
            "orders",
            PRIMA.order_rows,
            _get("OrderNumber"),
            prima_order(),
            ("orders", "order_lines", "shipments"),
            "orders",
        ),
        Case(
            "prima product",
            "products",
            flat("products"),
            _get("ProductCode"),
            PRIMA.values("products", PRODUCT),
            ("products",),
            "products",
        ),
        Case(
            "prima stock",
            "stock",
            flat("stock"),
            _get("ProductCode"),
            PRIMA.values("stock", STOCK),
            ("stock",),
            "stock",
        ),
        Case(
            "prima adjustment",
            "adjustments",
            flat("adjustments"),
            _get("AdjustmentRef"),
            PRIMA.values("adjustments", ADJUSTMENT),
            ("adjustments",),
            "adjustments",
        ),
    ]


WHISTL = Mapper()


def _whistl() -> list[Case]:
    order = WHISTL.order_record(ORDER, LINES)
    order_mapper: Mapper_ = WHISTL.order_rows
    csv_order = [
        {**WHISTL.csv_row("orders", ORDER), **WHISTL.csv_row("order_lines", line)} for line in LINES
    ]

    def flat(file: str) -> Mapper_:
        return lambda record: WHISTL.flat_rows(file, record)

    return [
        Case(
            "whistl order",
            "orders",
            order_mapper,
            _get("order_number"),
            order,
            ("orders", "order_lines"),
            "orders",
        ),
        Case(
            "whistl order (CSV)",
            "orders",
            lambda payload: WHISTL.order_rows({}, csv_lines=payload["rows"]),
            lambda _payload: "SO1",
            {"file": "orders_1.csv", "rows": csv_order},
            ("orders", "order_lines"),
            "orders",
        ),
        Case(
            "whistl despatch",
            "shipments",
            WHISTL.despatch_rows,
            _get("despatch_number"),
            WHISTL.despatch_record(SHIPMENTS),
            ("orders", "order_lines", "shipments"),
            context=[("orders", order, order_mapper, _get("order_number"))],
        ),
        Case(
            "whistl stock",
            "stock",
            flat("stock"),
            _get("sku"),
            WHISTL.flat_record("stock", STOCK),
            ("stock",),
            "stock",
        ),
        Case(
            "whistl adjustment",
            "adjustments",
            flat("adjustments"),
            _get("reference"),
            WHISTL.flat_record("adjustments", ADJUSTMENT),
            ("adjustments",),
            "adjustments",
        ),
        Case(
            "whistl product",
            "products",
            flat("products"),
            _get("sku"),
            WHISTL.flat_record("products", PRODUCT),
            ("products",),
            "products",
        ),
    ]


CASES: list[Case] = [*_woocommerce(), *_magento(), *_centra(), *_cin7(), *_prima(), *_whistl()]
