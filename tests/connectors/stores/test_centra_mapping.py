"""Centra records → canonical rows (pure): orders with lines and shipments, holds, partial
shipping, stock and the product tree; and the simulator's inverse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.centra.mapping import order_rows, order_status, product_rows, stock_rows
from connectors.records import RecordError
from connectors.simulators.centra import CENTRA_STATUS, centra_order, centra_products


def shipment(number: str, quantity: int, shipped: bool = True) -> dict[str, object]:
    return {
        "id": 345,
        "number": number,
        "shippedAt": "2023-01-09T15:18:33+01:00" if shipped else None,
        "isShipped": shipped,
        "trackingNumber": "1234trackingcode",
        "carrierInformation": {"carrierName": "PostNord", "serviceName": "MyPack"},
        "lines": [{"quantity": quantity, "orderLine": {"id": 68}}],
    }


# Shaped after the order in Centra's "Post-sale order processing" examples (number 14).
ORDER = {
    "id": "1497ccf644db871e1e4026d101bde6f3",
    "number": 14,
    "status": "PROCESSING",
    "isOnHold": False,
    "createdAt": "2022-11-09T13:15:11+01:00",
    "updatedAt": "2022-11-10T08:00:00+01:00",
    "grossTotal": {"value": 8487.5},
    "netTotal": {"value": 6790},
    "shippingMethod": {"name": "Express"},
    "shippingAddress": {
        "firstName": "Jon",
        "lastName": "Snow",
        "address1": "Teststr. 1",
        "address2": "1b",
        "city": "Stockholm",
        "zipCode": "12345",
        "phoneNumber": "+4684026100",
        "email": "jon.snow@example.com",
        "country": {"code": "SE"},
    },
    "totals": {
        "shipping": {"value": 50},
        "shippingTaxIncluded": {"value": 10},
        "discounts": {"value": 0},
    },
    "lines": [
        {
            "id": 68,
            "quantity": 10,
            "taxPercent": 25,
            "productSize": {"SKU": "BJ-BLK-M"},
            "unitOriginalPrice": {"value": 675},
            "net": {"value": 6750},
            "gross": {"value": 8437.5},
        }
    ],
    "shipments": [shipment("14-1", 4), shipment("14-2", 6, shipped=False)],
}


def test_an_order_maps_to_its_row_lines_and_shipped_shipments() -> None:
    ref, rows = order_rows(ORDER, prefix="SE-")

    assert ref == "SE-14"
    assert rows["orders"] == [
        {
            "order_ref": "SE-14",
            "source_ref": None,
            "status": "partially_dispatched",  # 4 of 10 shipped; the second parcel has not gone
            "hold_reason": None,
            "placed_at": "2022-11-09T13:15:11+01:00",
            "updated_at": "2022-11-10T08:00:00+01:00",
            "net_total": "6790",
            "tax_total": "1697.5",
            "gross_total": "8487.5",
            "shipping_total": "40",
            "discount_total": "0",
            "shipping_method": "Express",
            "ship_name": "Jon Snow",
            "ship_line1": "Teststr. 1",
            "ship_line2": "1b",
            "ship_city": "Stockholm",
            "ship_postcode": "12345",
            "ship_country": "SE",
            "ship_phone": "+4684026100",
            "email": "jon.snow@example.com",
        }
    ]
    assert rows["order_lines"] == [
        {
            "order_ref": "SE-14",
            "line_no": "1",
            "sku": "BJ-BLK-M",
            "quantity": "10",
            "unit_price": "675",
            "line_net": "6750",
            "line_tax": "1687.5",
            "tax_rate": "0.25",
        }
    ]
    assert rows["shipments"] == [
        {
            "order_ref": "SE-14",
            "shipment_ref": "SE-14-1",
            "sku": "BJ-BLK-M",
            "quantity": "4",
            "carrier": "PostNord",
            "service_code": "MyPack",
            "tracking_number": "1234trackingcode",
            "dispatched_at": "2023-01-09T15:18:33+01:00",
        }
    ]


@pytest.mark.parametrize(
    ("status", "on_hold", "shipped", "canonical"),
    [
        ("PENDING", False, [], "open"),
        ("CONFIRMED", False, [], "open"),
        ("CONFIRMED", True, [], "held"),
        ("PROCESSING", False, [shipment("1", 4, shipped=False)], "open"),
        ("PROCESSING", False, [shipment("1", 4)], "partially_dispatched"),
        ("PROCESSING", True, [shipment("1", 10)], "dispatched"),
        ("SHIPPED", False, [shipment("1", 10)], "dispatched"),
        ("ARCHIVED", False, [], "dispatched"),
        ("CANCELLED", True, [], "cancelled"),
    ],
)
def test_the_status_map(status: str, on_hold: bool, shipped: list, canonical: str) -> None:
    order = {**ORDER, "status": status, "isOnHold": on_hold, "shipments": shipped}

    assert order_status(order) == canonical


def test_an_unknown_status_or_a_shipment_of_a_missing_line_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="status 'LOST' is not in the Centra status map"):
        order_status({**ORDER, "status": "LOST"})
    stray = shipment("14-1", 1)
    stray["lines"] = [{"quantity": 1, "orderLine": {"id": 99}}]
    with pytest.raises(RecordError, match="shipment '14-1' ships a line the order lacks"):
        order_rows({**ORDER, "shipments": [stray]})


def test_stock_takes_physical_allocated_and_free_to_allocate() -> None:
    item = {
        "productSize": {"SKU": "BJ-BLK-M"},
        "physicalQuantity": 12,
        "allocatedQuantity": 3,
        "freeToAllocateQuantity": 8,
    }

    assert stock_rows(item, "Stockholm") == (
        "BJ-BLK-M@Stockholm",
        {
            "stock": [
                {
                    "sku": "BJ-BLK-M",
                    "location": "Stockholm",
                    "on_hand": "12",
                    "allocated": "3",
                    "available": "8",
                }
            ]
        },
    )


def test_the_product_tree_flattens_to_a_row_per_size() -> None:
    products = [
        {"sku": "TEE-NVY-S", "name": "Organic Crew Tee Navy S", "barcode": "1"},
        {"sku": "TEE-NVY-M", "name": "Organic Crew Tee Navy M", "barcode": None},
        {"sku": "WRAP", "name": "Gift wrap", "barcode": None},
    ]

    served = centra_products(products)
    rows = [
        row
        for product in served
        for row in product_rows(product, frozenset({"WRAP"}))[1]["products"]
    ]

    assert [(p["name"], [v["name"] for v in p["variants"]]) for p in served] == [
        ("Organic Crew Tee", ["Navy"]),
        ("Gift wrap", [""]),
    ]
    assert rows == [
        {
            "sku": "TEE-NVY-S",
            "name": "Organic Crew Tee Navy S",
            "barcode": "1",
            "unit_cost": None,
            "is_stock_item": "true",
        },
        {
            "sku": "TEE-NVY-M",
            "name": "Organic Crew Tee Navy M",
            "barcode": None,
            "unit_cost": None,
            "is_stock_item": "true",
        },
        {
            "sku": "WRAP",
            "name": "Gift wrap",
            "barcode": None,
            "unit_cost": None,
            "is_stock_item": "false",
        },
    ]


@pytest.mark.parametrize("status", sorted(CENTRA_STATUS))
def test_the_simulators_order_reads_back_as_a_store_sees_it(status: str) -> None:
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    order = {
        "order_ref": "WEB-104200",
        "status": status,
        "placed_at": moment,
        "updated_at": moment,
        "net_total": Decimal("30"),
        "tax_total": Decimal("6"),
        "gross_total": Decimal("36"),
        "shipping_total": Decimal("0"),
        "discount_total": Decimal("0"),
    }
    lines = [
        {
            "sku": sku,
            "quantity": 1,
            "unit_price": Decimal(15),
            "line_net": Decimal(15),
            "line_tax": Decimal(3),
            "tax_rate": 0.2,
        }
        for sku in ("A", "B")
    ]
    parcel = [{"shipment_ref": "WEB-104200-1", "sku": "A", "quantity": 1, "dispatched_at": moment}]
    shipped = {"partially_dispatched": parcel, "dispatched": parcel + [{**parcel[0], "sku": "B"}]}

    served = centra_order(order, lines, shipped.get(status, []), number=104200, prefix="WEB-")
    ref, rows = order_rows(served, prefix="WEB-")

    expected = {
        "pending": "open",
        "released": "open",
        "in_progress": "open",
        "rejected": "cancelled",
    }
    assert ref == "WEB-104200"
    assert rows["orders"][0]["status"] == expected.get(status, status)
    assert [s["shipment_ref"] for s in rows["shipments"]] == [
        "WEB-104200-1" for _ in shipped.get(status, [])
    ]
