"""Priority and score (rules.md, Priority): the floors, the ceilings and monotonicity."""

from __future__ import annotations

import pytest

from .conftest import (
    PRIORITIES,
    adjustment,
    ago,
    exception,
    keys,
    lines,
    order,
    product,
    run,
    stock,
    totals,
)


def priority(found, rule, key) -> str:
    return exception(found, rule, key)["priority"]


def score(found, rule, key) -> float:
    return exception(found, rule, key)["score"]


# -- floors and ceilings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "world",
    [
        {
            "store": {"orders": [order("K1", "cancelled")]},
            "erp": {"orders": [order("E1", "open", source="K1")]},
        },
        {
            "erp": {"orders": [order("K1", "cancelled")]},
            "wms": {"orders": [order("H1", "in_progress", source="K1")]},
        },
    ],
    ids=["erp", "wms"],
)
def test_a_cancelled_order_not_stopped_before_anything_shipped_is_p1(tmp_path, world):
    found = run(tmp_path, **world)
    stop = exception(found, "CANCELLED_NOT_STOPPED", "K1")
    assert stop["details"]["shipped"] is False
    assert stop["priority"] == "P1"


def test_oversell_with_nothing_left_to_sell_is_p1(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1", 1)]},
        wms={"stock": [stock("A1", 0)]},
    )
    assert exception(found, "OVERSELL_RISK", "A1")["details"]["expected"] == 0
    assert priority(found, "OVERSELL_RISK", "A1") == "P1"


def test_a_rounding_tax_mismatch_is_never_above_p3(tmp_path):
    skus = {f"S{n}": 1 for n in range(1, 11)}
    found = run(
        tmp_path,
        store={
            "orders": [order("W1", placed_at=ago(days=60), **totals("9000.00", "1500.00"))],
            "order_lines": lines("W1", skus),
        },
        erp={
            "orders": [order("E1", source="W1", placed_at=ago(days=60), **totals("9000.10", "1500.10"))],
            "order_lines": lines("E1", skus),
        },
    )  # fmt: skip
    assert exception(found, "TAX_MISMATCH", "W1")["details"]["kind"] == "rounding"
    assert priority(found, "TAX_MISMATCH", "W1") in {"P3", "P4"}


def test_undersell_is_never_above_p3(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1", 0)], "products": [product("A1", unit_cost="999.00")]},
        wms={"stock": [stock("A1", 100000)], "products": [product("A1", unit_cost="999.00")]},
    )
    assert keys(found, "UNDERSELL") == {"A1"}
    assert priority(found, "UNDERSELL", "A1") in {"P3", "P4"}


# -- more at risk, or older, never scores lower -------------------------------------------------


def test_a_bigger_tax_amount_mismatch_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", **totals("120.00", "20.00")),
                order("W2", **totals("120.00", "20.00")),
            ]
        },
        erp={
            "orders": [
                order("E1", source="W1", **totals("121.00", "21.00")),
                order("E2", source="W2", **totals("170.00", "70.00")),
            ]
        },
    )
    assert exception(found, "TAX_MISMATCH", "W2")["details"]["kind"] == "amount"
    assert exception(found, "TAX_MISMATCH", "W1")["details"]["kind"] == "amount"
    assert score(found, "TAX_MISMATCH", "W2") >= score(found, "TAX_MISMATCH", "W1")


def test_a_bigger_total_mismatch_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", **totals("120.00", "20.00")),
                order("W2", **totals("120.00", "20.00")),
            ]
        },
        erp={
            "orders": [
                order("E1", source="W1", **totals("125.00", "20.00")),
                order("E2", source="W2", **totals("620.00", "20.00")),
            ]
        },
    )
    assert score(found, "TOTAL_MISMATCH", "W2") >= score(found, "TOTAL_MISMATCH", "W1")


def test_costlier_stock_drift_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        erp={
            "stock": [stock("A1", 10), stock("B2", 10)],
            "products": [product("A1", unit_cost="1.00"), product("B2", unit_cost="100.00")],
        },
        wms={"stock": [stock("A1", 8), stock("B2", 8)]},
    )
    assert score(found, "STOCK_DRIFT", "B2") >= score(found, "STOCK_DRIFT", "A1")


def test_a_dearer_order_missing_from_the_erp_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", placed_at=ago(hours=2), **totals("12.00", "2.00")),
                order("W2", placed_at=ago(hours=2), **totals("1200.00", "200.00")),
            ]
        },
        erp={"orders": [order("E9")]},
    )
    assert score(found, "ORDER_NOT_IN_ERP", "W2") >= score(found, "ORDER_NOT_IN_ERP", "W1")


def test_an_older_order_missing_from_the_erp_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", placed_at=ago(minutes=40), **totals("60.00", "10.00")),
                order("W2", placed_at=ago(days=3), **totals("60.00", "10.00")),
            ]
        },
        erp={"orders": [order("E9")]},
    )
    assert score(found, "ORDER_NOT_IN_ERP", "W2") >= score(found, "ORDER_NOT_IN_ERP", "W1")


def test_an_older_lost_order_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released", placed_at=ago(hours=2), **totals("60.00", "10.00")),
                order("E2", "released", placed_at=ago(days=2), **totals("60.00", "10.00")),
            ]
        },
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert score(found, "ORDER_NOT_AT_WMS", "E2") >= score(found, "ORDER_NOT_AT_WMS", "E1")


def test_an_order_stuck_longer_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        wms={
            "orders": [
                order("H1", "in_progress", placed_at=ago(hours=49)),
                order("H2", "in_progress", placed_at=ago(hours=100)),
            ]
        },
    )
    assert score(found, "STUCK_PRE_DISPATCH", "H2") >= score(found, "STUCK_PRE_DISPATCH", "H1")


def test_an_older_unposted_adjustment_never_scores_lower(tmp_path):
    found = run(
        tmp_path,
        erp={"adjustments": [adjustment("ADJ0", "A1", 1)]},
        wms={
            "adjustments": [
                adjustment("ADJ1", "A1", -3, occurred_at=ago(hours=3)),
                adjustment("ADJ2", "A1", -3, occurred_at=ago(days=3)),
            ]
        },
    )
    assert score(found, "ADJUSTMENT_NOT_POSTED", "ADJ2") >= score(
        found, "ADJUSTMENT_NOT_POSTED", "ADJ1"
    )


# -- the output ---------------------------------------------------------------------------------


def test_exceptions_are_sorted_by_score_highest_first(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", "cancelled"),
                order("W2", placed_at=ago(days=2)),
                order("W3", **totals("120.00", "20.00")),
            ],
            "stock": [stock("A1", 5), stock("B2", 0)],
        },
        erp={
            "orders": [
                order("E1", source="W1"),
                order("E3", source="W3", **totals("120.01", "20.01")),
            ],
            "stock": [stock("A1", 0), stock("B2", 9)],
        },
        taken_at={"erp": ago(days=1)},
    )
    assert len(found) >= 5
    scores = list(found["score"])
    assert scores == sorted(scores, reverse=True)
    assert set(found["priority"]) <= set(PRIORITIES)
    assert all(isinstance(value, float) for value in scores)
    assert not found.duplicated(["rule", "key"]).any()
