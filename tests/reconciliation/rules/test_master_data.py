"""Master data rules of rules.md: SKUs, shipping methods and addresses checked before the wms."""

from __future__ import annotations

import pytest

from .conftest import (
    alias,
    exception,
    keys,
    lines,
    order,
    owner_team,
    product,
    run,
)


def mentions(problem, field: str) -> bool:
    """Whether one entry of details.problems (text or a mapping; its wording is free) names a field."""
    return field in str(problem)


# -- SKU_UNKNOWN --------------------------------------------------------------------------------


def test_sku_unknown_fires_for_an_outbound_order_sku_the_wms_does_not_know(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [order("E1", "released"), order("E2", "released")],
            "order_lines": lines("E1", {"A1": 1, "Z9": 1}) + lines("E2", {"Z9": 2}),
        },
        wms={"orders": [order("H9", "in_progress")], "products": [product("A1")]},
    )
    assert keys(found, "SKU_UNKNOWN") == {"Z9"}
    unknown = exception(found, "SKU_UNKNOWN", "Z9")
    assert (unknown["owner"], unknown["team"]) == ("office", "merchandising")
    assert unknown["details"]["missing_in"] == "wms"


def test_sku_unknown_only_looks_at_orders_not_yet_accepted_by_the_wms(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released"),
                order("E2", "released"),
                order("E3", "held", hold_reason="credit"),
                order("E4", "pending"),
                order("E5", "cancelled"),
            ],
            "order_lines": lines("E1", {"Z1": 1})
            + lines("E2", {"Z2": 1})
            + lines("E3", {"Z3": 1})
            + lines("E4", {"Z4": 1})
            + lines("E5", {"Z5": 1}),
        },
        wms={
            "orders": [
                order("H1", "in_progress", source="E1"),
                order("H2", "rejected", source="E2", hold_reason="unknown sku"),
            ],
            "products": [product("A1")],
        },
    )
    assert keys(found, "SKU_UNKNOWN") == {"Z2", "Z3"}


def test_sku_unknown_knows_aliases_and_ignores_non_stock_lines(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [order("E1", "released")],
            "order_lines": lines("E1", {"A1": 1, "GIFTWRAP": 1}),
        },
        wms={"orders": [order("H9", "in_progress")], "products": [product("A1W")]},
        sku_map=[alias("wms", "A1W", "A1")],
        config={"non_stock_skus": ["GIFTWRAP"]},
    )
    assert keys(found, "SKU_UNKNOWN") == set()


def test_sku_unknown_checks_store_orders_against_the_erp_products(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [order("W1"), order("W2"), order("W3", "pending")],
            "order_lines": lines("W1", {"A1": 1, "Z1": 1})
            + lines("W2", {"Z2": 1})
            + lines("W3", {"Z3": 1}),
        },
        erp={
            "orders": [order("E2", source="W2")],
            "order_lines": lines("E2", {"Z2": 1}),
            "products": [product("A1")],
        },
    )
    assert keys(found, "SKU_UNKNOWN") == {"Z1"}
    assert exception(found, "SKU_UNKNOWN", "Z1")["details"]["missing_in"] == "erp"


def test_sku_unknown_is_skipped_without_the_products_of_the_receiving_system(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released")], "order_lines": lines("E1", {"Z9": 1})},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "SKU_UNKNOWN") == set()


# -- SKU_INVALID_FORMAT -------------------------------------------------------------------------


def test_sku_invalid_format_checks_outbound_lines_and_upstream_stock_items(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [order("E1", "released"), order("E2", "released")],
            "order_lines": lines("E1", {"AB-12": 1, "A1": 1}) + lines("E2", {"NOT SENT": 1}),
            "products": [
                product("A1"),
                product("CD 34"),
                product("GIFT-WRAP", stock_item=False),
            ],
        },
        wms={"orders": [order("H2", "in_progress", source="E2")]},
    )
    assert keys(found, "SKU_INVALID_FORMAT") == {"AB-12", "CD 34"}
    assert owner_team(found, "SKU_INVALID_FORMAT", "AB-12") == ("office", "merchandising")


def test_sku_invalid_format_checks_the_wms_alias_that_would_be_sent(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released")], "order_lines": lines("E1", {"AB-12": 1})},
        wms={"orders": [order("H9", "in_progress")]},
        sku_map=[alias("wms", "AB12", "AB-12")],
    )
    assert keys(found, "SKU_INVALID_FORMAT") == set()


def test_sku_pattern_must_match_the_whole_sku(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [order("E1", "released")],
            "order_lines": lines("E1", {"AB12": 1, "AB123": 1, "XAB12": 1}),
        },
        wms={"orders": [order("H9", "in_progress")]},
        config={"sku_pattern": "[A-Z]{2}[0-9]{2}"},
    )
    assert keys(found, "SKU_INVALID_FORMAT") == {"AB123", "XAB12"}


def test_default_sku_pattern_allows_up_to_forty_letters_and_digits(tmp_path):
    forty, forty_one = "A" * 40, "B" * 41
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released")], "order_lines": lines("E1", {forty: 1, forty_one: 1})},
        wms={"orders": [order("H9", "in_progress")]},
    )  # fmt: skip
    assert keys(found, "SKU_INVALID_FORMAT") == {forty_one}


def test_sku_invalid_format_needs_a_wms(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")], "order_lines": lines("W1", {"AB-12": 1})},
        erp={"orders": [order("E9")], "products": [product("CD 34")]},
    )
    assert keys(found, "SKU_INVALID_FORMAT") == set()


# -- SHIPPING_UNMAPPED --------------------------------------------------------------------------


def test_shipping_unmapped_fires_for_an_outbound_order_with_an_unknown_method(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released", shipping_method="Carrier pigeon"),
                order("E2", "released", shipping_method=None),
                order("E3", "released", shipping_method="Standard"),
                order("E4", "released", shipping_method="STD"),
                order("E5", "released", shipping_method="Carrier pigeon"),
            ]
        },
        wms={"orders": [order("H5", "in_progress", source="E5")]},
        config={"shipping_methods": {"Standard": "STD"}},
    )
    assert keys(found, "SHIPPING_UNMAPPED") == {"E1", "E2"}
    assert owner_team(found, "SHIPPING_UNMAPPED", "E1") == ("office", "ops")


def test_shipping_unmapped_is_skipped_without_shipping_methods(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", shipping_method="Carrier pigeon")]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "SHIPPING_UNMAPPED") == set()


def test_shipping_unmapped_is_keyed_by_the_store_ref(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", shipping_method="Carrier pigeon")]},
        erp={"orders": [order("E1", "released", source="W1", shipping_method="Carrier pigeon")]},
        wms={"orders": [order("H9", "in_progress")]},
        config={"shipping_methods": {"Standard": "STD"}},
    )
    assert keys(found, "SHIPPING_UNMAPPED") == {"W1"}


# -- ADDRESS_INVALID ----------------------------------------------------------------------------


def test_address_invalid_lists_every_missing_field(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released", ship_phone=None),
                order("E2", "released", ship_line1=None, ship_city=None),
                order("E3", "released"),
            ]
        },
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ADDRESS_INVALID") == {"E1", "E2"}
    phone = exception(found, "ADDRESS_INVALID", "E1")
    assert (phone["owner"], phone["team"]) == ("office", "cx")
    assert len(phone["details"]["problems"]) == 1
    assert mentions(phone["details"]["problems"][0], "ship_phone")
    problems = exception(found, "ADDRESS_INVALID", "E2")["details"]["problems"]
    assert len(problems) == 2
    assert any(mentions(problem, "ship_line1") for problem in problems)
    assert any(mentions(problem, "ship_city") for problem in problems)


def test_a_missing_phone_is_fine_when_not_required(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", ship_phone=None)]},
        wms={"orders": [order("H9", "in_progress")]},
        config={"require_phone": False},
    )
    assert keys(found, "ADDRESS_INVALID") == set()


@pytest.mark.parametrize(
    "postcode", ["SW1A 1AA", "sw1a1aa", "M1 1AE", "B33 8TH", "EC1A 1BB", "GIR 0AA", "gir0aa"]
)
def test_a_valid_gb_postcode_in_any_case_and_spacing_is_fine(tmp_path, postcode):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", ship_postcode=postcode)]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ADDRESS_INVALID") == set()


@pytest.mark.parametrize("postcode", ["12345", "SW1A", "SW1A 1A", "SW1A  1AA", "1SW 1AA"])
def test_an_invalid_gb_postcode_is_a_problem(tmp_path, postcode):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", ship_postcode=postcode)]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ADDRESS_INVALID") == {"E1"}
    problems = exception(found, "ADDRESS_INVALID", "E1")["details"]["problems"]
    assert len(problems) == 1
    assert mentions(problems[0], "ship_postcode")


def test_postcodes_outside_gb_are_not_checked_for_format(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", ship_postcode="75008", ship_country="FR")]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ADDRESS_INVALID") == set()


def test_address_invalid_only_checks_outbound_orders(tmp_path):
    bad = {"ship_line1": None, "ship_phone": None}
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released", **bad),
                order("E2", "released", **bad),
                order("E3", "pending", **bad),
                order("E4", "cancelled", **bad),
            ]
        },
        wms={
            "orders": [
                order("H1", "in_progress", source="E1"),
                order("H2", "rejected", source="E2", hold_reason="address"),
            ]
        },
    )
    assert keys(found, "ADDRESS_INVALID") == {"E2"}


def test_address_invalid_checks_an_order_held_upstream_before_the_wms_has_it(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "held", hold_reason="credit", ship_country=None)]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ADDRESS_INVALID") == {"E1"}
    problems = exception(found, "ADDRESS_INVALID", "E1")["details"]["problems"]
    assert len(problems) == 1
    assert mentions(problems[0], "ship_country")


def test_address_invalid_is_keyed_by_the_store_ref_for_a_store_feeding_the_wms(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", ship_city=None)]},
        wms={"orders": [order("H9", "in_progress")]},
        kinds={"store": "centra"},
    )
    assert keys(found, "ADDRESS_INVALID") == {"W1"}


# -- NON_STOCK_SENT -----------------------------------------------------------------------------


def test_non_stock_sent_fires_for_a_gift_wrap_line_in_the_warehouse_feed(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1"), order("W2")]},
        erp={
            "orders": [order("E1", "released", source="W1"), order("E2", "released", source="W2")],
            "products": [product("A1"), product("GIFTWRAP", stock_item=False)],
        },
        wms={
            "orders": [
                order("H1", "in_progress", source="E1"),
                order("H2", "in_progress", source="E2"),
            ],
            "order_lines": lines("H1", {"A1": 1, "GIFTWRAP": 1}) + lines("H2", {"A1": 1}),
        },
    )
    assert keys(found, "NON_STOCK_SENT") == {"W1"}
    assert owner_team(found, "NON_STOCK_SENT", "W1") == ("office", "ops")


def test_non_stock_sent_knows_non_stock_skus_from_config_and_aliases(tmp_path):
    found = run(
        tmp_path,
        wms={
            "orders": [order("H1", "in_progress"), order("H2", "in_progress")],
            "order_lines": lines("H1", {"A1": 1, "FEE": 1}) + lines("H2", {"WRAPW": 1}),
        },
        sku_map=[alias("wms", "WRAPW", "GIFTWRAP")],
        config={"non_stock_skus": ["FEE", "GIFTWRAP"]},
    )
    assert keys(found, "NON_STOCK_SENT") == {"H1", "H2"}
