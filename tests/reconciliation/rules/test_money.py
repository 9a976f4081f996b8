"""Money rules of rules.md: TAX_MISMATCH and TOTAL_MISMATCH between the store and the erp."""

from __future__ import annotations

from .conftest import exception, keys, lines, order, owner_team, run, totals


def store_and_erp(cases, *, store_lines=None, status=None, erp_status=None):
    """One store order W<n> and its erp copy E<n> per (store (gross, tax), erp (gross, tax))."""
    store_lines = store_lines or {}
    status = status or {}
    erp_status = erp_status or {}
    store_orders, erp_orders, store_rows, erp_rows = [], [], [], []
    for n, (store_money, erp_money) in enumerate(cases, 1):
        store_orders.append(order(f"W{n}", status.get(n, "open"), **totals(*store_money)))
        erp_orders.append(
            order(f"E{n}", erp_status.get(n, "open"), source=f"W{n}", **totals(*erp_money))
        )
        skus = {f"S{k}": 1 for k in range(1, store_lines.get(n, 0) + 1)}
        store_rows += lines(f"W{n}", skus)
        erp_rows += lines(f"E{n}", skus)
    return {
        "store": {"orders": store_orders, "order_lines": store_rows},
        "erp": {"orders": erp_orders, "order_lines": erp_rows},
    }


# -- TAX_MISMATCH -------------------------------------------------------------------------------


def test_a_one_penny_vat_difference_is_a_rounding_tax_mismatch(tmp_path):
    found = run(
        tmp_path,
        **store_and_erp(
            [
                (("120.00", "20.00"), ("120.01", "20.01")),
                (("120.00", "20.00"), ("120.00", "20.00")),
            ],
            store_lines={1: 1, 2: 1},
        ),
    )
    assert keys(found, "TAX_MISMATCH") == {"W1"}
    tax = exception(found, "TAX_MISMATCH", "W1")
    assert (tax["owner"], tax["team"]) == ("office", "finance")
    assert tax["details"]["kind"] == "rounding"
    assert keys(found, "TOTAL_MISMATCH") == set()


def test_a_tax_difference_beyond_a_penny_per_line_is_an_amount_mismatch(tmp_path):
    found = run(
        tmp_path,
        **store_and_erp(
            [
                (("120.00", "20.00"), ("122.00", "22.00")),  # 1 line, 2.00
                (("120.00", "20.00"), ("120.03", "20.03")),  # 3 lines, 0.03: rounding
                (("120.00", "20.00"), ("120.04", "20.04")),  # 3 lines, 0.04: amount
                (("120.00", "20.00"), ("120.01", "20.01")),  # no lines: at least 1
                (("120.00", "20.00"), ("120.02", "20.02")),  # no lines, 0.02: amount
                (("120.00", "20.00"), ("119.98", "19.98")),  # 2 lines, −0.02: rounding
            ],
            store_lines={1: 1, 2: 3, 3: 3, 6: 2},
        ),
    )
    assert keys(found, "TAX_MISMATCH") == {"W1", "W2", "W3", "W4", "W5", "W6"}
    kinds = {
        key: exception(found, "TAX_MISMATCH", key)["details"]["kind"]
        for key in keys(found, "TAX_MISMATCH")
    }
    assert kinds == {
        "W1": "amount",
        "W2": "rounding",
        "W3": "amount",
        "W4": "rounding",
        "W5": "amount",
        "W6": "rounding",
    }
    assert keys(found, "TOTAL_MISMATCH") == set()


def test_a_tax_difference_of_exactly_the_money_tolerance_does_not_fire(tmp_path):
    found = run(
        tmp_path,
        **store_and_erp(
            [
                (("120.00", "20.00"), ("120.005", "20.005")),
                (("120.00", "20.00"), ("120.0051", "20.0051")),
            ]
        ),
    )
    assert keys(found, "TAX_MISMATCH") == {"W2"}


def test_tax_mismatch_skips_pending_and_cancelled_orders(tmp_path):
    found = run(
        tmp_path,
        **store_and_erp(
            [
                (("120.00", "20.00"), ("125.00", "25.00")),
                (("120.00", "20.00"), ("125.00", "25.00")),
                (("120.00", "20.00"), ("125.00", "25.00")),
                (("120.00", "20.00"), ("125.00", "25.00")),
            ],
            status={1: "pending", 2: "cancelled"},
            erp_status={3: "cancelled", 4: "pending"},
        ),
    )
    assert keys(found, "TAX_MISMATCH") == set()
    assert keys(found, "TOTAL_MISMATCH") == set()


def test_tax_mismatch_skips_an_order_with_no_tax_total(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", tax_total="20.00")]},
        erp={"orders": [order("E1", source="W1")]},
    )
    assert keys(found, "TAX_MISMATCH") == set()


def test_money_tolerance_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        **store_and_erp(
            [
                (("120.00", "20.00"), ("120.05", "20.05")),
                (("120.00", "20.00"), ("120.06", "20.06")),
                (("120.00", "20.00"), ("120.05", "20.00")),
                (("120.00", "20.00"), ("120.06", "20.00")),
            ]
        ),
        config={"money_tolerance": "0.05"},
    )
    assert keys(found, "TAX_MISMATCH") == {"W2"}
    assert keys(found, "TOTAL_MISMATCH") == {"W4"}


def test_money_rules_are_skipped_without_a_store(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", **totals("120.00", "20.00"))]},
        wms={"orders": [order("H1", "in_progress", source="E1", **totals("130.00", "30.00"))]},
    )
    assert keys(found, "TAX_MISMATCH") == set()
    assert keys(found, "TOTAL_MISMATCH") == set()


# -- TOTAL_MISMATCH -----------------------------------------------------------------------------


def test_total_mismatch_is_the_gross_difference_not_explained_by_tax(tmp_path):
    found = run(
        tmp_path,
        **store_and_erp(
            [
                (("120.00", "20.00"), ("125.00", "20.00")),  # shipping added: total only
                (("120.00", "20.00"), ("120.01", "20.01")),  # tax only
                (("120.00", "20.00"), ("121.00", "20.01")),  # both
                (("120.00", "20.00"), ("120.005", "20.00")),  # exactly the tolerance
                (("120.00", "20.00"), ("120.0051", "20.00")),  # just past it
                (("120.00", "20.00"), ("119.00", "20.00")),  # a discount the store lacks
            ]
        ),
    )
    assert keys(found, "TOTAL_MISMATCH") == {"W1", "W3", "W5", "W6"}
    assert keys(found, "TAX_MISMATCH") == {"W2", "W3"}
    assert owner_team(found, "TOTAL_MISMATCH", "W1") == ("office", "finance")


def test_total_mismatch_skips_an_order_with_no_gross_total(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", **totals("120.00", "20.00"))]},
        erp={"orders": [order("E1", source="W1", tax_total="20.00")]},
    )
    assert keys(found, "TOTAL_MISMATCH") == set()
    assert keys(found, "TAX_MISMATCH") == set()
