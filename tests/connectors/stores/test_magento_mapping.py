"""Magento records → canonical rows (pure): orders, status refinement by what shipped, shipments,
products and source items; and the simulator's inverse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.magento.mapping import (
    order_rows,
    order_status,
    product_rows,
    search,
    shipment_rows,
    source_item_rows,
)
from connectors.records import RecordError
from connectors.simulators.magento.records import (
    MAGENTO_STATUS,
    magento_order,
    shipped_quantities,
)


def item(sku: str, ordered: float, shipped: float = 0, **extra: object) -> dict[str, object]:
    return {
        "item_id": 1,
        "sku": sku,
        "qty_ordered": ordered,
        "qty_shipped": shipped,
        "qty_canceled": 0,
        "price": 45.0,
        "row_total": 90.0,
        "discount_amount": 9.0,
        "tax_amount": 16.2,
        "tax_percent": 20,
        **extra,
    }


ORDER = {
    "entity_id": 3,
    "increment_id": "000000003",
    "state": "processing",
    "status": "processing",
    "created_at": "2026-11-27 07:56:50",
    "updated_at": "2026-11-28 10:00:00",
    "grand_total": 102.15,
    "tax_amount": 17.03,
    "shipping_amount": 4.16,
    "discount_amount": -9.0,
    "customer_email": "ada@example.com",
    "shipping_description": "Flat Rate - Fixed",
    "items": [
        item("MJ01-M", 2),
        # A configurable's child row: no price of its own, left out.
        {"item_id": 2, "sku": "MJ01-M", "qty_ordered": 2, "parent_item_id": 1, "price": 0},
    ],
    "extension_attributes": {
        "shipping_assignments": [
            {
                "shipping": {
                    "address": {
                        "firstname": "Ada",
                        "lastname": "Lovelace",
                        "street": ["12 St James's Square", "Flat 3", "Upper floor"],
                        "city": "London",
                        "postcode": "SW1Y 4JH",
                        "country_id": "GB",
                        "telephone": "020 7946 0000",
                    }
                }
            }
        ]
    },
}


def test_an_order_maps_to_its_row_and_lines() -> None:
    ref, rows = order_rows(ORDER)

    assert ref == "000000003"
    assert rows["orders"] == [
        {
            "order_ref": "000000003",
            "source_ref": None,
            "status": "open",
            "hold_reason": None,
            "placed_at": "2026-11-27T07:56:50Z",
            "updated_at": "2026-11-28T10:00:00Z",
            "net_total": "85.12",
            "tax_total": "17.03",
            "gross_total": "102.15",
            "shipping_total": "4.16",
            "discount_total": "9.0",
            "shipping_method": "Flat Rate - Fixed",
            "ship_name": "Ada Lovelace",
            "ship_line1": "12 St James's Square",
            "ship_line2": "Flat 3, Upper floor",
            "ship_city": "London",
            "ship_postcode": "SW1Y 4JH",
            "ship_country": "GB",
            "ship_phone": "020 7946 0000",
            "email": "ada@example.com",
        }
    ]
    assert rows["order_lines"] == [
        {
            "order_ref": "000000003",
            "line_no": "1",
            "sku": "MJ01-M",
            "quantity": "2",
            "unit_price": "45.0",
            "line_net": "81.0",
            "line_tax": "16.2",
            "tax_rate": "0.2",
        }
    ]


@pytest.mark.parametrize(
    ("state", "status", "items", "canonical"),
    [
        ("new", "pending", [item("A", 1)], "pending"),
        ("processing", "processing", [item("A", 1), item("B", 1)], "open"),
        ("processing", "processing", [item("A", 1, 1), item("B", 1)], "partially_dispatched"),
        ("processing", "processing", [item("A", 2, 2)], "dispatched"),  # shipped, not invoiced
        ("processing", "sent_to_warehouse", [item("A", 1)], "open"),  # custom: by its state
        ("complete", "complete", [item("A", 1, 1)], "dispatched"),
        ("closed", "closed", [item("A", 1)], "cancelled"),  # refunded before it shipped
        ("closed", "closed", [item("A", 1, 1)], "dispatched"),  # refunded after it shipped
        ("canceled", "canceled", [item("A", 1)], "cancelled"),
        ("holded", "holded", [item("A", 1)], "held"),
        ("payment_review", "fraud", [item("A", 1)], "held"),
    ],
)
def test_the_status_map(state: str, status: str, items: list, canonical: str) -> None:
    assert order_status({"state": state, "status": status, "items": items}) == canonical


def test_an_unknown_status_and_state_is_a_record_error() -> None:
    with pytest.raises(RecordError, match=r"status 'x' \(state 'y'\) is not in the Magento"):
        order_status({"state": "y", "status": "x", "items": []})


def test_a_shipment_maps_to_a_row_per_item_with_its_first_track() -> None:
    shipment = {
        "entity_id": 7,
        "increment_id": "000000007",
        "order_id": 3,
        "created_at": "2026-11-28 09:00:00",
        "items": [{"sku": "MJ01-M", "qty": 2}, {"sku": "MJ01-M-child", "qty": 0}],
        "tracks": [
            {"carrier_code": "ups", "title": "", "track_number": "1Z999", "description": ""},
            {"carrier_code": "dhl", "title": "DHL", "track_number": "JD0001"},
        ],
    }

    ref, rows = shipment_rows(shipment, {3: "000000003"})

    assert ref == "000000007"
    assert rows == {
        "shipments": [
            {
                "order_ref": "000000003",
                "shipment_ref": "000000007",
                "sku": "MJ01-M",
                "quantity": "2",
                "carrier": "ups",
                "service_code": None,
                "tracking_number": "1Z999",
                "dispatched_at": "2026-11-28T09:00:00Z",
            }
        ]
    }
    with pytest.raises(RecordError, match="order 99 is not among the orders read"):
        shipment_rows({**shipment, "order_id": 99}, {3: "000000003"})


def test_products_and_source_items() -> None:
    _, product = product_rows(
        {
            "sku": "GIFT",
            "name": "Gift card",
            "type_id": "virtual",
            "custom_attributes": [
                {"attribute_code": "cost", "value": "1.2500"},
                {"attribute_code": "ean", "value": "5060900000999"},
            ],
        }
    )
    _, in_stock = source_item_rows(
        {"sku": "A", "source_code": "default", "quantity": 5, "status": 1}
    )
    _, out = source_item_rows({"sku": "A", "source_code": "leeds", "quantity": 5, "status": 0})
    _, owed = source_item_rows({"sku": "A", "source_code": "leeds", "quantity": -2, "status": 0})

    assert product["products"] == [
        {
            "sku": "GIFT",
            "name": "Gift card",
            "barcode": "5060900000999",
            "unit_cost": "1.2500",
            "is_stock_item": "false",
        }
    ]
    assert in_stock["stock"] == [
        {"sku": "A", "location": None, "on_hand": "5", "allocated": "0", "available": "5"}
    ]
    assert (out["stock"][0]["location"], out["stock"][0]["available"]) == ("leeds", "0")
    assert owed["stock"][0]["available"] == "-2"


def test_search_criteria_parameters() -> None:
    assert search([("updated_at", "2026-11-28 10:00:00", "gteq")]) == {
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
        "searchCriteria[filter_groups][0][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][0][filters][0][value]": "2026-11-28 10:00:00",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
    }


def line(sku: str, quantity: int) -> dict[str, object]:
    return {
        "sku": sku,
        "quantity": quantity,
        "unit_price": Decimal("10"),
        "line_net": Decimal("10") * quantity,
        "line_tax": Decimal("2") * quantity,
        "tax_rate": 0.2,
    }


@pytest.mark.parametrize(
    ("lines", "shipped", "expected"),
    [
        ([line("A", 1), line("B", 1)], {"B": 1}, ([0, 1], None)),  # from the world's shipments
        ([line("A", 1), line("B", 1)], {}, ([1, 0], None)),  # else the first line
        ([line("A", 3)], {}, ([2], None)),  # else all but a unit
        ([line("A", 1)], {}, ([0], "partially_shipped")),  # else a custom status
    ],
)
def test_a_partly_dispatched_order_is_served_with_part_shipped(
    lines: list, shipped: dict, expected: tuple
) -> None:
    assert shipped_quantities("partially_dispatched", lines, shipped) == expected


@pytest.mark.parametrize("status", sorted(MAGENTO_STATUS))
def test_the_simulators_order_reads_back_as_a_store_sees_it(status: str) -> None:
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    order = {
        "order_ref": "WEB-1",
        "status": status,
        "placed_at": moment,
        "updated_at": moment,
        "net_total": Decimal("30"),
        "tax_total": Decimal("6"),
        "gross_total": Decimal("36"),
        "shipping_total": Decimal("0"),
        "discount_total": Decimal("0"),
    }

    served = magento_order(order, [line("A", 1), line("B", 2)], entity_id=1, shipped={}, names={})
    _, rows = order_rows(served)

    expected = {"released": "open", "in_progress": "open", "rejected": "cancelled"}
    assert rows["orders"][0]["status"] == expected.get(status, status)
    assert [r["line_net"] for r in rows["order_lines"]] == ["10.0", "20.0"]  # JSON numbers
