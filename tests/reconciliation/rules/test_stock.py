"""Stock rules of rules.md: drift, unposted adjustments, over/underselling and negative stock."""

from __future__ import annotations

from decimal import Decimal

from .conftest import (
    adjustment,
    ago,
    alias,
    exception,
    keys,
    lines,
    order,
    owner_team,
    pairs,
    product,
    run,
    shipments,
    stock,
)


def amount(value) -> Decimal:
    """A details money value (a string like "5.00", or a number) as a Decimal."""
    return Decimal(str(value))


# -- STOCK_DRIFT --------------------------------------------------------------------------------


def test_stock_drift_with_nothing_to_explain_it_goes_to_the_warehouse(tmp_path):
    found = run(
        tmp_path,
        erp={
            "stock": [stock("A1", 10), stock("B2", 5), stock("C3", 3)],
            "products": [product("A1", unit_cost="2.50"), product("C3", unit_cost="1.00")],
        },
        wms={"stock": [stock("A1", 8), stock("B2", 5), stock("D4", 4)]},
    )
    assert keys(found, "STOCK_DRIFT") == {"A1", "C3", "D4"}
    drift = exception(found, "STOCK_DRIFT", "A1")
    assert (drift["owner"], drift["team"]) == ("warehouse", "warehouse")
    details = drift["details"]
    assert (details["erp_on_hand"], details["wms_on_hand"], details["diff"]) == (10, 8, 2)
    assert (details["pending"], details["unexplained"]) == (0, 2)
    assert amount(details["value"]) == Decimal("5.00")
    absent = exception(found, "STOCK_DRIFT", "C3")["details"]
    assert (absent["erp_on_hand"], absent["wms_on_hand"], absent["diff"]) == (3, 0, 3)
    assert exception(found, "STOCK_DRIFT", "D4")["details"]["diff"] == -4


def dispatched_not_posted(
    *, at: str | list[str], erp_on_hand: int, wms_on_hand: int, erp_status: str = "released"
):
    """erp E1 → wms H1 dispatched 2 × A1 (one parcel per time in `at`), costing 3.00 each."""
    times = [at] if isinstance(at, str) else at
    parcels = []
    for n, moment in enumerate(times, 1):
        parcels += shipments("H1", {"A1": 2 // len(times)}, at=moment, parcel=f"P{n}")
    return {
        "erp": {
            "orders": [order("E1", erp_status)],
            "order_lines": lines("E1", {"A1": 2}),
            "stock": [stock("A1", erp_on_hand)],
            "products": [product("A1", unit_cost="3.00")],
        },
        "wms": {
            "orders": [order("H1", "dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 2}),
            "shipments": parcels,
            "stock": [stock("A1", wms_on_hand)],
        },
    }


def test_stock_drift_is_explained_by_a_dispatch_still_inside_its_grace(tmp_path):
    found = run(
        tmp_path, **dispatched_not_posted(at=ago(minutes=30), erp_on_hand=10, wms_on_hand=8)
    )
    assert pairs(found) == set()


def test_a_dispatch_posting_late_past_grace_is_drift_for_finance(tmp_path):
    found = run(
        tmp_path, **dispatched_not_posted(at=ago(minutes=180), erp_on_hand=10, wms_on_hand=8)
    )
    assert pairs(found) == {("STOCK_DRIFT", "A1"), ("DISPATCH_NOT_POSTED", "E1")}
    drift = exception(found, "STOCK_DRIFT", "A1")
    assert (drift["owner"], drift["team"]) == ("office", "finance")
    details = drift["details"]
    assert (details["diff"], details["pending"], details["unexplained"]) == (2, 2, 0)
    assert amount(details["value"]) == Decimal("6.00")


def test_drift_beyond_the_late_postings_goes_to_the_warehouse(tmp_path):
    found = run(
        tmp_path, **dispatched_not_posted(at=ago(minutes=180), erp_on_hand=10, wms_on_hand=5)
    )
    drift = exception(found, "STOCK_DRIFT", "A1")
    assert (drift["owner"], drift["team"]) == ("warehouse", "warehouse")
    details = drift["details"]
    assert (details["diff"], details["pending"], details["unexplained"]) == (5, 2, 3)
    assert amount(details["value"]) == Decimal("9.00")


def test_drift_beyond_a_dispatch_inside_its_grace_still_fires(tmp_path):
    found = run(
        tmp_path, **dispatched_not_posted(at=ago(minutes=30), erp_on_hand=10, wms_on_hand=5)
    )
    assert keys(found, "STOCK_DRIFT") == {"A1"}
    details = exception(found, "STOCK_DRIFT", "A1")["details"]
    assert (details["diff"], details["pending"], details["unexplained"]) == (5, 2, 3)


def test_every_parcel_of_an_order_counts_by_the_orders_dispatch_time(tmp_path):
    at = [ago(minutes=180), ago(minutes=30)]
    found = run(tmp_path, **dispatched_not_posted(at=at, erp_on_hand=10, wms_on_hand=8))
    assert keys(found, "STOCK_DRIFT") == set()


def test_nothing_is_pending_once_the_upstream_has_posted_the_dispatch(tmp_path):
    posted = dispatched_not_posted(
        at=ago(minutes=30), erp_on_hand=8, wms_on_hand=8, erp_status="dispatched"
    )
    assert keys(run(tmp_path, **posted), "STOCK_DRIFT") == set()
    unposted_drift = dispatched_not_posted(
        at=ago(minutes=30), erp_on_hand=10, wms_on_hand=8, erp_status="dispatched"
    )
    found = run(tmp_path, **unposted_drift)
    assert keys(found, "STOCK_DRIFT") == {"A1"}
    assert exception(found, "STOCK_DRIFT", "A1")["details"]["pending"] == 0


def test_an_orphan_wms_dispatch_explains_nothing(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released")], "stock": [stock("A1", 10)]},
        wms={
            "orders": [order("H9", "dispatched", source="E404")],
            "order_lines": lines("H9", {"A1": 2}),
            "shipments": shipments("H9", {"A1": 2}, at=ago(minutes=30)),
            "stock": [stock("A1", 8)],
        },
    )
    assert keys(found, "STOCK_DRIFT") == {"A1"}
    assert exception(found, "STOCK_DRIFT", "A1")["details"]["pending"] == 0
    assert keys(found, "ORPHAN_ORDER") == {"H9"}


def adjusted_at_wms(*, occurred_at: str, erp_adjustments: list[dict] | None):
    """The wms wrote A1 down by 2 (ADJ1); the erp may not have it yet."""
    erp = {"stock": [stock("A1", 10)], "products": [product("A1", unit_cost="4.00")]}
    if erp_adjustments is not None:
        erp["adjustments"] = erp_adjustments
    return {
        "erp": erp,
        "wms": {
            "stock": [stock("A1", 8)],
            "adjustments": [adjustment("ADJ1", "A1", -2, occurred_at=occurred_at)],
        },
    }


def test_stock_drift_is_explained_by_an_adjustment_still_inside_its_grace(tmp_path):
    found = run(
        tmp_path,
        **adjusted_at_wms(
            occurred_at=ago(minutes=30), erp_adjustments=[adjustment("ADJ0", "B2", 1)]
        ),
    )
    assert pairs(found) == set()


def test_an_adjustment_missing_from_the_erp_past_grace_is_drift_for_finance(tmp_path):
    found = run(
        tmp_path,
        **adjusted_at_wms(
            occurred_at=ago(minutes=180), erp_adjustments=[adjustment("ADJ0", "B2", 1)]
        ),
    )
    assert pairs(found) == {("STOCK_DRIFT", "A1"), ("ADJUSTMENT_NOT_POSTED", "ADJ1")}
    drift = exception(found, "STOCK_DRIFT", "A1")
    assert (drift["owner"], drift["team"]) == ("office", "finance")
    details = drift["details"]
    assert (details["diff"], details["pending"], details["unexplained"]) == (2, 2, 0)
    assert amount(details["value"]) == Decimal("8.00")


def test_a_found_stock_adjustment_explains_the_wms_having_more(tmp_path):
    found = run(
        tmp_path,
        erp={"stock": [stock("A1", 10)], "adjustments": [adjustment("ADJ0", "B2", 1)]},
        wms={
            "stock": [stock("A1", 13)],
            "adjustments": [adjustment("ADJ1", "A1", 3, occurred_at=ago(minutes=30))],
        },
    )
    assert keys(found, "STOCK_DRIFT") == set()


def test_only_the_postings_inside_their_grace_excuse_drift(tmp_path):
    """diff 5 = 2 shipped 30 min ago (in grace) + 3 written off 3 h ago (late): finance's."""
    world = dispatched_not_posted(at=ago(minutes=30), erp_on_hand=10, wms_on_hand=5)
    world["erp"]["adjustments"] = [adjustment("ADJ0", "B2", 1)]
    world["wms"]["adjustments"] = [adjustment("ADJ1", "A1", -3, occurred_at=ago(hours=3))]
    found = run(tmp_path, **world)
    assert pairs(found) == {("STOCK_DRIFT", "A1"), ("ADJUSTMENT_NOT_POSTED", "ADJ1")}
    drift = exception(found, "STOCK_DRIFT", "A1")
    assert (drift["owner"], drift["team"]) == ("office", "finance")
    details = drift["details"]
    assert (details["diff"], details["pending"], details["unexplained"]) == (5, 5, 0)
    assert amount(details["value"]) == Decimal("15.00")


def test_adjustments_explain_nothing_when_the_erp_has_no_adjustments_file(tmp_path):
    found = run(tmp_path, **adjusted_at_wms(occurred_at=ago(minutes=30), erp_adjustments=None))
    assert pairs(found) == {("STOCK_DRIFT", "A1")}
    drift = exception(found, "STOCK_DRIFT", "A1")
    assert (drift["owner"], drift["team"]) == ("warehouse", "warehouse")
    assert drift["details"]["pending"] == 0


def test_an_adjustment_the_erp_has_posted_is_not_pending(tmp_path):
    found = run(
        tmp_path,
        erp={
            "stock": [stock("A1", 10)],
            "adjustments": [adjustment("ADJ1", "A1", -2, occurred_at=ago(minutes=30))],
        },
        wms={
            "stock": [stock("A1", 8)],
            "adjustments": [adjustment("ADJ1", "A1", -2, occurred_at=ago(minutes=30))],
        },
    )
    assert keys(found, "STOCK_DRIFT") == {"A1"}
    assert exception(found, "STOCK_DRIFT", "A1")["details"]["pending"] == 0


def test_stock_tolerance_units_allows_small_drift(tmp_path):
    found = run(
        tmp_path,
        erp={"stock": [stock("A1", 10), stock("B2", 10), stock("C3", 10)]},
        wms={"stock": [stock("A1", 8), stock("B2", 7), stock("C3", 12)]},
        config={"stock_tolerance_units": 2},
    )
    assert keys(found, "STOCK_DRIFT") == {"B2"}


def test_stock_drift_sums_locations_and_follows_aliases(tmp_path):
    found = run(
        tmp_path,
        erp={"stock": [stock("A1", 10)]},
        wms={"stock": [stock("A1W", 6, location="BIN1"), stock("A1W", 4, location="BIN2")]},
        sku_map=[alias("wms", "A1W", "A1")],
    )
    assert keys(found, "STOCK_DRIFT") == set()


def test_stock_drift_values_at_the_erp_cost_else_the_wms_cost(tmp_path):
    found = run(
        tmp_path,
        erp={
            "stock": [stock("A1", 10), stock("B2", 10)],
            "products": [product("A1", unit_cost="2.50")],
        },
        wms={
            "stock": [stock("A1", 9), stock("B2", 9)],
            "products": [product("A1", unit_cost="9.99"), product("B2", unit_cost="4.00")],
        },
    )
    assert amount(exception(found, "STOCK_DRIFT", "A1")["details"]["value"]) == Decimal("2.50")
    assert amount(exception(found, "STOCK_DRIFT", "B2")["details"]["value"]) == Decimal("4.00")


def test_stock_drift_needs_both_stock_files(tmp_path):
    found = run(
        tmp_path, erp={"stock": [stock("A1", 10)]}, wms={"orders": [order("H1", "in_progress")]}
    )
    assert keys(found, "STOCK_DRIFT") == set()


# -- ADJUSTMENT_NOT_POSTED ----------------------------------------------------------------------


def test_adjustment_not_posted_fires_past_grace_for_refs_the_erp_lacks(tmp_path):
    found = run(
        tmp_path,
        erp={"adjustments": [adjustment("ADJ3", "A1", 5, occurred_at=ago(minutes=300))]},
        wms={
            "adjustments": [
                adjustment("ADJ1", "A1", -1, occurred_at=ago(minutes=121)),
                adjustment("ADJ2", "A1", -1, occurred_at=ago(minutes=120)),
                adjustment("ADJ3", "A1", 5, occurred_at=ago(minutes=300)),
            ]
        },
    )
    assert keys(found, "ADJUSTMENT_NOT_POSTED") == {"ADJ1"}
    assert owner_team(found, "ADJUSTMENT_NOT_POSTED", "ADJ1") == ("office", "finance")


def test_adjustment_not_posted_needs_the_erp_adjustments_file(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1")]},
        wms={"adjustments": [adjustment("ADJ1", "A1", -1, occurred_at=ago(days=2))]},
    )
    assert keys(found, "ADJUSTMENT_NOT_POSTED") == set()


def test_adjustment_grace_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        erp={"adjustments": [adjustment("ADJ0", "A1", 1)]},
        wms={
            "adjustments": [
                adjustment("ADJ1", "A1", -1, occurred_at=ago(minutes=59)),
                adjustment("ADJ2", "A1", -1, occurred_at=ago(minutes=61)),
            ]
        },
        config={"grace_adjustment_post_minutes": 60},
    )
    assert keys(found, "ADJUSTMENT_NOT_POSTED") == {"ADJ2"}


# -- OVERSELL_RISK and UNDERSELL ----------------------------------------------------------------


def test_oversell_and_undersell_compare_the_store_with_the_wms_available(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1", 10), stock("B2", 5), stock("C3", 3)]},
        wms={"stock": [stock("A1", 12, available=8), stock("B2", 5), stock("C3", 6)]},
        kinds={"store": "centra"},
    )
    assert keys(found, "OVERSELL_RISK") == {"A1"}
    assert keys(found, "UNDERSELL") == {"C3"}
    oversell = exception(found, "OVERSELL_RISK", "A1")
    assert (oversell["owner"], oversell["team"]) == ("office", "ecommerce")
    details = oversell["details"]
    assert (details["store_available"], details["base"], details["committed"]) == (10, 8, 0)
    assert details["expected"] == 8
    assert owner_team(found, "UNDERSELL", "C3") == ("office", "ecommerce")


def test_oversell_counts_units_committed_to_orders_the_wms_has_not_got(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [order(f"W{n}") for n in (1, 2, 4, 5, 6, 7)] + [order("W3", "pending")],
            "order_lines": lines("W1", {"A1": 2})
            + lines("W2", {"A1": 1})  # no copy downstream: counted from the store
            + lines("W3", {"A1": 5})  # pending: not counted
            + lines("W4", {"A1": 4})  # at the wms: not counted
            + lines("W5", {"A1": 7})  # cancelled in the erp: not counted
            + lines("W6", {"A1": 3})  # counted from the erp copy (1)
            + lines("W7", {"A1": 1}),  # held in the erp: counted
            "stock": [stock("A1", 7)],
        },
        erp={
            "orders": [
                order("E1", "released", source="W1"),
                order("E4", "released", source="W4"),
                order("E5", "cancelled", source="W5"),
                order("E6", "released", source="W6"),
                order("E7", "held", source="W7", hold_reason="credit check"),
            ],
            "order_lines": lines("E1", {"A1": 2})
            + lines("E4", {"A1": 4})
            + lines("E5", {"A1": 7})
            + lines("E6", {"A1": 1})
            + lines("E7", {"A1": 1}),
            "stock": [stock("A1", 100)],
        },
        wms={
            "orders": [order("H4", "in_progress", source="E4")],
            "order_lines": lines("H4", {"A1": 4}),
            "stock": [stock("A1", 10)],
        },
    )
    assert keys(found, "OVERSELL_RISK") == {"A1"}
    details = exception(found, "OVERSELL_RISK", "A1")["details"]
    assert (details["base"], details["committed"], details["expected"]) == (10, 5, 5)
    assert details["store_available"] == 7


def test_expected_never_goes_below_zero(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")], "order_lines": lines("W1", {"A1": 5}), "stock": [stock("A1", 2)]},
        wms={"stock": [stock("A1", 3)]},
        kinds={"store": "centra"},
    )  # fmt: skip
    assert keys(found, "OVERSELL_RISK") == {"A1"}
    details = exception(found, "OVERSELL_RISK", "A1")["details"]
    assert (details["base"], details["committed"], details["expected"]) == (3, 5, 0)


def test_safety_buffer_is_kept_back_from_the_store(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1", 8), stock("B2", 9), stock("C3", 5)]},
        wms={"stock": [stock("A1", 10), stock("B2", 10), stock("C3", 10)]},
        config={"safety_buffer_units": 2},
    )
    assert keys(found, "OVERSELL_RISK") == {"B2"}
    assert keys(found, "UNDERSELL") == {"C3"}
    assert exception(found, "OVERSELL_RISK", "B2")["details"]["expected"] == 8


def test_the_erp_is_the_base_when_there_is_no_wms(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")], "order_lines": lines("W1", {"A1": 2}), "stock": [stock("A1", 10)]},
        erp={"orders": [order("E9")], "stock": [stock("A1", 8)]},
    )  # fmt: skip
    assert keys(found, "OVERSELL_RISK") == {"A1"}
    details = exception(found, "OVERSELL_RISK", "A1")["details"]
    assert (details["base"], details["committed"], details["expected"]) == (8, 2, 6)


def test_the_wms_is_the_base_when_present(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1", 10)]},
        erp={"stock": [stock("A1", 100)]},
        wms={"stock": [stock("A1", 8)]},
    )
    assert exception(found, "OVERSELL_RISK", "A1")["details"]["base"] == 8
    assert keys(found, "UNDERSELL") == set()


def test_oversell_skips_non_stock_skus(tmp_path):
    found = run(
        tmp_path,
        store={
            "stock": [stock("GIFTWRAP", 50), stock("FEE", 50), stock("A1", 5)],
            "products": [product("GIFTWRAP", stock_item=False), product("A1")],
        },
        wms={"stock": [stock("GIFTWRAP", 0), stock("FEE", 0), stock("A1", 5)]},
        config={"non_stock_skus": ["FEE"]},
    )
    assert keys(found, "OVERSELL_RISK") == set()
    assert keys(found, "UNDERSELL") == set()


def test_oversell_skips_a_sku_the_base_system_has_no_stock_row_for(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A9", 5), stock("A1", 5)]},
        wms={"stock": [stock("A1", 5)]},
    )
    assert keys(found, "OVERSELL_RISK") == set()


def test_oversell_compares_canonical_skus(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1WEB", 10)]},
        wms={"stock": [stock("A1", 8)]},
        sku_map=[alias("store", "A1WEB", "A1")],
    )
    assert keys(found, "OVERSELL_RISK") == {"A1"}


def test_oversell_needs_the_stock_of_both_systems(tmp_path):
    found = run(
        tmp_path,
        store={"stock": [stock("A1", 10)]},
        wms={"orders": [order("H1", "in_progress")]},
    )
    assert keys(found, "OVERSELL_RISK") == set()
    assert keys(found, "UNDERSELL") == set()


# -- NEGATIVE_STOCK -----------------------------------------------------------------------------


def test_negative_stock_in_the_wms_goes_to_the_warehouse(tmp_path):
    found = run(
        tmp_path,
        wms={
            "stock": [
                stock("A1", 3, location="BIN1"),
                stock("A1", -4, location="BIN2"),
                stock("B2", 5, location="BIN1"),
                stock("B2", -2, location="BIN2"),
                stock("C3", 2, available=-1),
            ]
        },
    )
    assert keys(found, "NEGATIVE_STOCK") == {"A1", "C3"}
    assert owner_team(found, "NEGATIVE_STOCK", "A1") == ("warehouse", "warehouse")


def test_negative_stock_only_outside_the_wms_goes_to_ops(tmp_path):
    found = run(
        tmp_path,
        erp={"stock": [stock("A1", 5, available=-1), stock("B2", -2)]},
        wms={"stock": [stock("A1", 5), stock("B2", -2)]},
    )
    assert keys(found, "NEGATIVE_STOCK") == {"A1", "B2"}
    assert owner_team(found, "NEGATIVE_STOCK", "A1") == ("office", "ops")
    assert owner_team(found, "NEGATIVE_STOCK", "B2") == ("warehouse", "warehouse")


def test_negative_stock_runs_on_a_store_alone(tmp_path):
    found = run(tmp_path, store={"stock": [stock("A1", -1), stock("B2", 0)]})
    assert keys(found, "NEGATIVE_STOCK") == {"A1"}
    assert owner_team(found, "NEGATIVE_STOCK", "A1") == ("office", "ops")
