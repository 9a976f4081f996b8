"""WooCommerce records → canonical rows (pure), the status map, and the simulator's inverse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

import pytest

from connectors.records import RecordError
from connectors.simulators.woocommerce import WOO_STATUS, woo_order, woo_product
from connectors.woocommerce import STATUS_MAP, order_rows, product_rows

# Shaped as the "Retrieve an order" example of the WooCommerce REST API v3 docs (order 727).
ORDER = {
    "id": 727,
    "number": "727",
    "status": "processing",
    "date_created": "2017-03-22T16:28:02",
    "date_created_gmt": "2017-03-22T19:28:02",
    "date_modified_gmt": "2017-03-22T19:28:08",
    "discount_total": "0.00",
    "shipping_total": "10.00",
    "total": "29.35",
    "total_tax": "1.35",
    "billing": {"email": "john.doe@example.com", "phone": "(555) 555-5555"},
    "shipping": {
        "first_name": "John",
        "last_name": "Doe",
        "address_1": "969 Market",
        "address_2": "",
        "city": "San Francisco",
        "postcode": "94103",
        "country": "US",
    },
    "line_items": [
        {
            "id": 315,
            "quantity": 2,
            "subtotal": "6.00",
            "total": "6.00",
            "total_tax": "0.45",
            "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}],
            "sku": "",
        },
        {
            "id": 316,
            "quantity": 1,
            "subtotal": "12.00",
            "total": "12.00",
            "total_tax": "0.90",
            "taxes": [{"id": 75, "total": "0.9", "subtotal": "0.9"}],
            "sku": "Bar3",
        },
    ],
    "tax_lines": [{"id": 318, "rate_id": 75, "rate_percent": 7.5, "tax_total": "1.35"}],
    "shipping_lines": [{"id": 317, "method_title": "Flat Rate", "total": "10.00"}],
}


def test_an_order_maps_to_its_row_and_lines() -> None:
    ref, rows = order_rows(ORDER)

    assert ref == "727"
    assert rows["orders"] == [
        {
            "order_ref": "727",
            "source_ref": None,
            "status": "open",
            "hold_reason": None,
            "placed_at": "2017-03-22T19:28:02Z",
            "updated_at": "2017-03-22T19:28:08Z",
            "net_total": "28.00",
            "tax_total": "1.35",
            "gross_total": "29.35",
            "shipping_total": "10.00",
            "discount_total": "0.00",
            "shipping_method": "Flat Rate",
            "ship_name": "John Doe",
            "ship_line1": "969 Market",
            "ship_line2": None,
            "ship_city": "San Francisco",
            "ship_postcode": "94103",
            "ship_country": "US",
            "ship_phone": "(555) 555-5555",
            "email": "john.doe@example.com",
        }
    ]
    assert rows["order_lines"] == [
        {
            "order_ref": "727",
            "line_no": "1",
            "sku": None,  # left for validation to refuse: "sku is required but empty"
            "quantity": "2",
            "unit_price": "3.00",
            "line_net": "6.00",
            "line_tax": "0.45",
            "tax_rate": "0.075",
        },
        {
            "order_ref": "727",
            "line_no": "2",
            "sku": "Bar3",
            "quantity": "1",
            "unit_price": "12.00",
            "line_net": "12.00",
            "line_tax": "0.90",
            "tax_rate": "0.075",
        },
    ]


@pytest.mark.parametrize(
    ("woo", "canonical"),
    [
        ("pending", "pending"),
        ("on-hold", "pending"),
        ("processing", "open"),
        ("wc-processing", "open"),
        ("partial-shipped", "partially_dispatched"),
        ("completed", "dispatched"),
        ("cancelled", "cancelled"),
        ("refunded", "cancelled"),
        ("failed", "cancelled"),
    ],
)
def test_the_status_map(woo: str, canonical: str) -> None:
    _, rows = order_rows({**ORDER, "status": woo})

    assert rows["orders"][0]["status"] == canonical


def test_a_store_status_can_be_mapped_by_the_deployer() -> None:
    _, rows = order_rows(
        {**ORDER, "status": "awaiting-pickup"}, {**STATUS_MAP, "awaiting-pickup": "open"}
    )

    assert rows["orders"][0]["status"] == "open"
    with pytest.raises(RecordError, match="status 'awaiting-pickup' is not in the WooCommerce"):
        order_rows({**ORDER, "status": "awaiting-pickup"})


def test_a_variation_takes_its_parents_name_and_its_stock() -> None:
    parent = {"id": 22, "name": "Ship Your Idea", "type": "variable"}
    variation = {
        "id": 23,
        "sku": "SYI-BLK-M",
        "global_unique_id": "5060900000017",
        "manage_stock": True,
        "stock_quantity": 7,
        "attributes": [{"name": "Color", "option": "Black"}, {"name": "Size", "option": "M"}],
        "meta_data": [{"key": "_wc_cog_cost", "value": "4.10"}],
    }

    ref, rows = product_rows(variation, parent)

    assert ref == "SYI-BLK-M"
    assert rows == {
        "products": [
            {
                "sku": "SYI-BLK-M",
                "name": "Ship Your Idea - Black, M",
                "barcode": "5060900000017",
                "unit_cost": "4.10",
                "is_stock_item": "true",
            }
        ],
        "stock": [
            {
                "sku": "SYI-BLK-M",
                "location": None,
                "on_hand": "7",
                "allocated": "0",
                "available": "7",
            }
        ],
    }


def test_stock_kept_by_the_parent_or_not_managed_is_not_this_skus() -> None:
    _, shared = product_rows({"sku": "A", "manage_stock": "parent", "stock_quantity": 5}, {})
    _, untracked = product_rows({"sku": "B", "manage_stock": False, "stock_quantity": None})
    _, virtual = product_rows({"sku": "WRAP", "virtual": True})

    assert "stock" not in shared
    assert "stock" not in untracked
    assert virtual["products"][0]["is_stock_item"] == "false"


@pytest.mark.parametrize("status", sorted(WOO_STATUS))
def test_the_simulators_order_reads_back_as_a_store_sees_it(status: str) -> None:
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    order = {
        "order_ref": "WEB-1",
        "status": status,
        "placed_at": moment,
        "updated_at": moment,
        "net_total": Decimal("50.0000"),
        "tax_total": Decimal("10.0000"),
        "gross_total": Decimal("60.0000"),
        "shipping_total": Decimal("0"),
        "discount_total": Decimal("0"),
        "ship_name": "Ada Lovelace",
    }
    line = {
        "sku": "TEE",
        "quantity": 2,
        "unit_price": Decimal("25"),
        "line_net": Decimal("50"),
        "line_tax": Decimal("10"),
        "tax_rate": 0.2,
    }
    served = woo_order(
        order,
        [line],
        order_id=1,
        item_ids=count(1),
        rate_ids={Decimal(20): 1},
        products={},
        dp=4,
    )

    _, rows = order_rows(served)

    expected = {
        "released": "open",
        "in_progress": "open",
        "held": "pending",
        "rejected": "cancelled",
    }.get(status, status)
    assert rows["orders"][0]["status"] == expected
    assert rows["order_lines"][0]["tax_rate"] == "0.2"
    assert (rows["orders"][0]["net_total"], rows["order_lines"][0]["unit_price"]) == (
        "50.0000",
        "25.0000",
    )


def test_the_simulators_product_reads_back() -> None:
    product = {"sku": "TEE-S", "name": "Tee S", "barcode": None, "unit_cost": Decimal("3.5")}

    _, rows = product_rows(woo_product(product, 4, product_id=9))

    assert rows["products"][0] == {
        "sku": "TEE-S",
        "name": "Tee S",
        "barcode": None,
        "unit_cost": "3.5000",
        "is_stock_item": "true",
    }
    assert rows["stock"][0]["available"] == "4"
