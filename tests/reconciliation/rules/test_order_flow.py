"""Order flow rules of rules.md: orders moving store → erp → wms and coming back dispatched."""

from __future__ import annotations

import pytest

from .conftest import (
    ago,
    alias,
    exception,
    keys,
    line,
    lines,
    order,
    owner_team,
    product,
    run,
    shipments,
)

# -- ORDER_NOT_IN_ERP ---------------------------------------------------------------------------


def test_order_not_in_erp_fires_for_a_store_order_past_grace_with_no_erp_order(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", placed_at=ago(minutes=31)),
                order("W2", placed_at=ago(minutes=31)),
            ]
        },
        erp={"orders": [order("E2", source="W2")]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == {"W1"}
    assert owner_team(found, "ORDER_NOT_IN_ERP", "W1") == ("office", "ecommerce")


def test_order_not_in_erp_does_not_fire_at_exactly_the_grace(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(minutes=30))]},
        erp={"orders": [order("E9", source=None)]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == set()


def test_pending_and_cancelled_store_orders_are_never_missing_from_erp(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", "pending", placed_at=ago(days=3)),
                order("W2", "cancelled", placed_at=ago(days=3)),
            ]
        },
        erp={"orders": [order("E9")]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == set()


def test_a_dispatched_store_order_with_no_erp_order_is_still_not_in_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "dispatched", placed_at=ago(days=2))]},
        erp={"orders": [order("E9")]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == {"W1"}


def test_a_store_order_whose_erp_copy_was_cancelled_is_still_in_the_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(days=1))]},
        erp={"orders": [order("E1", "cancelled", source="W1")]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == set()


def test_order_not_in_erp_grace_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", placed_at=ago(minutes=60)),
                order("W2", placed_at=ago(minutes=91)),
            ]
        },
        erp={"orders": [order("E9")]},
        config={"grace_store_to_erp_minutes": 90},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == {"W2"}


def test_timestamps_are_compared_in_utc(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", placed_at="2026-12-01T00:28:00+01:00"),  # 23:28Z: 31 min
                order("W2", placed_at="2026-11-30T23:29:00"),  # no offset is UTC: 30 min
                order("W3", placed_at="2026-11-30T18:30:00-05:00"),  # 23:30Z: 29 min
            ]
        },
        erp={"orders": [order("E9")]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == {"W1"}


def test_order_not_in_erp_is_skipped_when_there_is_no_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(days=2))]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ORDER_NOT_IN_ERP") == set()
    assert keys(found, "ORDER_NOT_AT_WMS") == {"W1"}


# -- ORDER_NOT_AT_WMS ---------------------------------------------------------------------------


def test_lost_order_fires_when_erp_released_it_past_grace(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released", placed_at=ago(minutes=61)),
                order("E2", "open", placed_at=ago(minutes=61)),
                order("E3", "released", placed_at=ago(minutes=61)),
            ]
        },
        wms={"orders": [order("H3", "in_progress", source="E3")]},
    )
    assert keys(found, "ORDER_NOT_AT_WMS") == {"E1", "E2"}
    lost = exception(found, "ORDER_NOT_AT_WMS", "E1")
    assert lost["details"]["kind"] == "lost"
    assert (lost["owner"], lost["team"]) == ("office", "ops")
    assert exception(found, "ORDER_NOT_AT_WMS", "E2")["details"]["kind"] == "not_sent"


def test_order_not_at_wms_does_not_fire_at_exactly_the_grace(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released", placed_at=ago(minutes=60))]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ORDER_NOT_AT_WMS") == set()


def test_only_open_and_released_upstream_orders_are_expected_at_the_wms(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "pending", placed_at=ago(days=2)),
                order("E2", "cancelled", placed_at=ago(days=2)),
                order("E3", "held", placed_at=ago(days=2), hold_reason="credit check"),
                order("E4", "dispatched", placed_at=ago(days=2), updated_at=ago(minutes=10)),
            ]
        },
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ORDER_NOT_AT_WMS") == set()


def test_order_not_at_wms_is_keyed_by_the_store_ref_across_three_systems(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(hours=3))]},
        erp={"orders": [order("E1", "released", source="W1", placed_at=ago(hours=2))]},
        wms={"orders": [order("H9", "in_progress")]},
    )
    assert keys(found, "ORDER_NOT_AT_WMS") == {"W1"}
    assert exception(found, "ORDER_NOT_AT_WMS", "W1")["details"]["kind"] == "lost"
    assert keys(found, "ORDER_NOT_IN_ERP") == set()


def test_store_order_never_sent_to_the_wms_is_not_sent_when_there_is_no_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(hours=2))]},
        wms={"orders": [order("H9", "in_progress")]},
        kinds={"store": "centra"},
    )
    assert keys(found, "ORDER_NOT_AT_WMS") == {"W1"}
    assert exception(found, "ORDER_NOT_AT_WMS", "W1")["details"]["kind"] == "not_sent"


def test_grace_to_wms_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [
                order("E1", "released", placed_at=ago(minutes=61)),
                order("E2", "released", placed_at=ago(minutes=91)),
            ]
        },
        wms={"orders": [order("H9", "in_progress")]},
        config={"grace_to_wms_minutes": 90},
    )
    assert keys(found, "ORDER_NOT_AT_WMS") == {"E2"}


# -- ORDER_HELD ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "team"),
    [
        ("Unknown SKU", "merchandising"),
        ("product discontinued", "merchandising"),
        ("Item out of stock", "merchandising"),
        ("Invalid postcode", "cx"),
        ("address incomplete", "cx"),
        ("phone and stock", "cx"),
        ("carrier not available", "ops"),
        ("service code not set up", "ops"),
        ("out of stock", "warehouse"),
        ("inventory count running", "warehouse"),
        ("stock short, credit limit", "warehouse"),
        ("payment not captured", "finance"),
        ("credit limit", "finance"),
        ("fraud check", "finance"),
        ("customer asked us to wait", "ops"),
        (None, "ops"),
    ],
)
def test_order_held_goes_to_the_first_team_whose_word_is_in_the_hold_reason(tmp_path, reason, team):
    found = run(
        tmp_path,
        wms={"orders": [order("H1", "held", hold_reason=reason), order("H2", "in_progress")]},
    )
    assert keys(found, "ORDER_HELD") == {"H1"}
    owner = "warehouse" if team == "warehouse" else "office"
    assert owner_team(found, "ORDER_HELD", "H1") == (owner, team)


def test_rejected_orders_are_held_too(tmp_path):
    found = run(
        tmp_path,
        wms={"orders": [order("H1", "rejected", hold_reason="invalid address")]},
    )
    assert keys(found, "ORDER_HELD") == {"H1"}
    assert owner_team(found, "ORDER_HELD", "H1") == ("office", "cx")


def test_order_held_in_two_systems_is_one_exception_teamed_by_the_most_downstream(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")]},
        erp={"orders": [order("E1", "held", source="W1", hold_reason="credit check")]},
        wms={"orders": [order("H1", "rejected", source="E1", hold_reason="Invalid postcode")]},
    )
    assert keys(found, "ORDER_HELD") == {"W1"}
    held = exception(found, "ORDER_HELD", "W1")
    assert (held["owner"], held["team"]) == ("office", "cx")
    assert {"erp", "wms"} <= set(held["roles"])


def test_order_held_upstream_only_takes_the_team_of_that_system(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")]},
        erp={"orders": [order("E1", "held", source="W1", hold_reason="Payment not captured")]},
    )
    assert keys(found, "ORDER_HELD") == {"W1"}
    assert owner_team(found, "ORDER_HELD", "W1") == ("office", "finance")


def test_order_held_takes_the_team_of_the_system_holding_it_not_the_most_downstream(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "held", hold_reason="fraud check")]},
        wms={"orders": [order("H1", "in_progress", source="E1", hold_reason="address")]},
    )
    assert keys(found, "ORDER_HELD") == {"E1"}
    assert owner_team(found, "ORDER_HELD", "E1") == ("office", "finance")


def test_order_held_runs_on_a_store_alone(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "held", hold_reason="address check"), order("W2")]},
    )
    assert keys(found, "ORDER_HELD") == {"W1"}


# -- DISPATCH_NOT_POSTED ------------------------------------------------------------------------


def dispatched_at_wms(at: str, *, erp_status: str = "released", wms_status: str = "dispatched"):
    """erp E1 → wms H1 dispatching one A1 at `at`."""
    return {
        "erp": {"orders": [order("E1", erp_status)], "order_lines": lines("E1", {"A1": 1})},
        "wms": {
            "orders": [order("H1", wms_status, source="E1")],
            "order_lines": lines("H1", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=at),
        },
    }


def test_dispatch_not_posted_fires_when_the_erp_has_not_caught_up_past_grace(tmp_path):
    found = run(tmp_path, **dispatched_at_wms(ago(minutes=121)))
    assert keys(found, "DISPATCH_NOT_POSTED") == {"E1"}
    assert owner_team(found, "DISPATCH_NOT_POSTED", "E1") == ("office", "ops")


def test_dispatch_not_posted_does_not_fire_at_exactly_the_grace(tmp_path):
    found = run(tmp_path, **dispatched_at_wms(ago(minutes=120)))
    assert keys(found, "DISPATCH_NOT_POSTED") == set()


@pytest.mark.parametrize("erp_status", ["dispatched", "partially_dispatched"])
def test_dispatch_not_posted_is_quiet_once_the_upstream_says_dispatched(tmp_path, erp_status):
    found = run(tmp_path, **dispatched_at_wms(ago(hours=5), erp_status=erp_status))
    assert keys(found, "DISPATCH_NOT_POSTED") == set()


def test_a_partially_dispatched_wms_order_is_not_posted_either(tmp_path):
    found = run(tmp_path, **dispatched_at_wms(ago(hours=5), wms_status="partially_dispatched"))
    assert keys(found, "DISPATCH_NOT_POSTED") == {"E1"}


def test_dispatch_time_is_the_latest_parcel(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released")], "order_lines": lines("E1", {"A1": 1, "B2": 1})},
        wms={
            "orders": [order("H1", "dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 1, "B2": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(minutes=200), parcel="P1")
            + shipments("H1", {"B2": 1}, at=ago(minutes=60), parcel="P2"),
        },
    )
    assert keys(found, "DISPATCH_NOT_POSTED") == set()


def test_dispatch_time_falls_back_to_updated_at_then_placed_at(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released"), order("E2", "released"), order("E3", "released")]},
        wms={
            "orders": [
                order("H1", "dispatched", source="E1", placed_at=ago(days=3), updated_at=ago(minutes=121)),
                order("H2", "dispatched", source="E2", placed_at=ago(days=3), updated_at=ago(minutes=60)),
                order("H3", "dispatched", source="E3", placed_at=ago(minutes=121)),
            ]
        },
    )  # fmt: skip
    assert keys(found, "DISPATCH_NOT_POSTED") == {"E1", "E3"}


def test_dispatch_not_posted_across_three_systems_is_keyed_by_the_store_ref(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")], "order_lines": lines("W1", {"A1": 1})},
        erp={
            "orders": [order("E1", "released", source="W1")],
            "order_lines": lines("E1", {"A1": 1}),
        },
        wms={
            "orders": [order("H1", "dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(hours=3)),
        },
    )
    assert keys(found, "DISPATCH_NOT_POSTED") == {"W1"}


def test_dispatch_not_posted_compares_with_the_store_when_there_is_no_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")], "order_lines": lines("W1", {"A1": 1})},
        wms={
            "orders": [order("H1", "dispatched", source="W1")],
            "order_lines": lines("H1", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(hours=3)),
        },
    )
    assert keys(found, "DISPATCH_NOT_POSTED") == {"W1"}


# -- STORE_NOT_UPDATED --------------------------------------------------------------------------


def test_store_not_updated_fires_when_the_erp_dispatched_past_grace(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [
                order("W1", placed_at=ago(days=1)),
                order("W2", "dispatched", placed_at=ago(days=1)),
                order("W3", "partially_dispatched", placed_at=ago(days=1)),
                order("W4", placed_at=ago(days=1)),
                order("W5", placed_at=ago(days=1)),
            ]
        },
        erp={
            "orders": [
                order("E1", "dispatched", source="W1", updated_at=ago(minutes=121)),
                order("E2", "dispatched", source="W2", updated_at=ago(minutes=121)),
                order("E3", "dispatched", source="W3", updated_at=ago(minutes=121)),
                order("E4", "dispatched", source="W4", updated_at=ago(minutes=120)),
                order("E5", "partially_dispatched", source="W5", updated_at=ago(hours=5)),
            ]
        },
    )
    assert keys(found, "STORE_NOT_UPDATED") == {"W1", "W5"}
    assert owner_team(found, "STORE_NOT_UPDATED", "W1") == ("office", "cx")


def test_store_not_updated_takes_dispatch_time_from_erp_shipments_before_updated_at(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(days=1))], "order_lines": lines("W1", {"A1": 1})},
        erp={
            "orders": [order("E1", "dispatched", source="W1", updated_at=ago(hours=5))],
            "order_lines": lines("E1", {"A1": 1}),
            "shipments": shipments("E1", {"A1": 1}, at=ago(minutes=60)),
        },
    )  # fmt: skip
    assert keys(found, "STORE_NOT_UPDATED") == set()


def test_store_not_updated_uses_the_wms_shipments_when_the_erp_has_none(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [order("W1", placed_at=ago(days=1)), order("W2", placed_at=ago(days=1))],
            "order_lines": lines("W1", {"A1": 1}) + lines("W2", {"A1": 1}),
        },
        erp={
            "orders": [
                order("E1", "dispatched", source="W1", updated_at=ago(hours=5)),
                order("E2", "dispatched", source="W2", updated_at=ago(minutes=30)),
            ],
            "order_lines": lines("E1", {"A1": 1}) + lines("E2", {"A1": 1}),
        },
        wms={
            "orders": [
                order("H1", "dispatched", source="E1"),
                order("H2", "dispatched", source="E2"),
            ],
            "order_lines": lines("H1", {"A1": 1}) + lines("H2", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(minutes=60))
            + shipments("H2", {"A1": 1}, at=ago(minutes=200)),
        },
    )
    assert keys(found, "STORE_NOT_UPDATED") == {"W2"}


def test_store_not_updated_falls_back_to_wms_shipments_when_the_erp_has_none_for_it(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [order("W1", placed_at=ago(days=1)), order("W2", "dispatched")],
            "order_lines": lines("W1", {"A1": 1}) + lines("W2", {"A1": 1}),
        },
        erp={
            "orders": [
                order("E1", "dispatched", source="W1", updated_at=ago(minutes=30)),
                order("E2", "dispatched", source="W2"),
            ],
            "order_lines": lines("E1", {"A1": 1}) + lines("E2", {"A1": 1}),
            "shipments": shipments("E2", {"A1": 1}),
        },
        wms={
            "orders": [order("H1", "dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(minutes=200)),
        },
    )
    assert keys(found, "STORE_NOT_UPDATED") == {"W1"}


# -- CANCELLED_NOT_STOPPED ----------------------------------------------------------------------


def test_cancelled_in_the_store_but_live_in_the_erp_goes_to_finance(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "cancelled"), order("W2", "cancelled"), order("W3")]},
        erp={
            "orders": [
                order("E1", "open", source="W1"),
                order("E2", "cancelled", source="W2"),
                order("E3", "open", source="W3"),
            ]
        },
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"W1"}
    stop = exception(found, "CANCELLED_NOT_STOPPED", "W1")
    assert (stop["owner"], stop["team"]) == ("office", "finance")
    assert stop["details"]["shipped"] is False


def test_cancelled_in_the_store_but_dispatched_by_the_erp_is_shipped(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "cancelled")]},
        erp={"orders": [order("E1", "dispatched", source="W1", updated_at=ago(minutes=10))]},
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"W1"}
    stop = exception(found, "CANCELLED_NOT_STOPPED", "W1")
    assert (stop["owner"], stop["team"]) == ("office", "finance")
    assert stop["details"]["shipped"] is True


def test_cancelled_in_the_erp_but_live_in_the_wms_goes_to_the_warehouse(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "cancelled"), order("E2", "cancelled")]},
        wms={"orders": [order("H1", "in_progress", source="E1")]},
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"E1"}
    stop = exception(found, "CANCELLED_NOT_STOPPED", "E1")
    assert (stop["owner"], stop["team"]) == ("warehouse", "warehouse")
    assert stop["details"]["shipped"] is False


def test_cancelled_not_stopped_says_shipped_when_the_wms_dispatched_some(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "cancelled")], "order_lines": lines("E1", {"A1": 2})},
        wms={
            "orders": [order("H1", "partially_dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 2}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(minutes=10)),
        },
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"E1"}
    assert exception(found, "CANCELLED_NOT_STOPPED", "E1")["details"]["shipped"] is True


def test_cancelled_not_stopped_follows_the_origin_and_the_store_to_wms_pair(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "cancelled"), order("W2", "cancelled")]},
        erp={"orders": [order("E1", "cancelled", source="W1")]},
        wms={"orders": [order("H1", "in_progress", source="E1")]},
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"W1"}
    assert owner_team(found, "CANCELLED_NOT_STOPPED", "W1") == ("warehouse", "warehouse")


def test_cancelled_in_the_store_but_live_at_the_wms_without_an_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "cancelled")]},
        wms={"orders": [order("H1", "in_progress", source="W1")]},
        kinds={"store": "centra"},
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"W1"}
    assert owner_team(found, "CANCELLED_NOT_STOPPED", "W1") == ("warehouse", "warehouse")


def test_a_cancelled_duplicate_does_not_hide_the_live_counterpart(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "cancelled")]},
        erp={
            "orders": [
                order("E1", "cancelled", source="W1", placed_at=ago(hours=3)),
                order("E2", "open", source="W1", placed_at=ago(hours=2)),
            ]
        },
    )
    assert keys(found, "CANCELLED_NOT_STOPPED") == {"W1"}


# -- STUCK_PRE_DISPATCH -------------------------------------------------------------------------

EXPRESS = {
    "shipping_methods": {"Next Day": "NDAY", "Standard": "STD"},
    "express_service_codes": ["NDAY"],
}


def test_stuck_pre_dispatch_uses_the_express_sla_for_express_services(tmp_path):
    found = run(
        tmp_path,
        wms={
            "orders": [
                order("H1", "in_progress", placed_at=ago(hours=49)),
                order("H2", "in_progress", placed_at=ago(hours=48)),
                order("H3", "in_progress", placed_at=ago(hours=30), shipping_method="Standard"),
                order("H4", "in_progress", placed_at=ago(hours=30), shipping_method="Next Day"),
                order("H5", "in_progress", placed_at=ago(hours=30), shipping_method="NDAY"),
                order("H6", "in_progress", placed_at=ago(hours=24), shipping_method="NDAY"),
                order("H7", "held", placed_at=ago(hours=100), hold_reason="stock"),
                order("H8", "dispatched", placed_at=ago(hours=100)),
            ]
        },
        config=EXPRESS,
    )
    assert keys(found, "STUCK_PRE_DISPATCH") == {"H1", "H4", "H5"}
    assert owner_team(found, "STUCK_PRE_DISPATCH", "H4") == ("warehouse", "warehouse")


def test_dispatch_sla_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        wms={
            "orders": [
                order("H1", "in_progress", placed_at=ago(hours=49)),
                order("H2", "in_progress", placed_at=ago(hours=73)),
            ]
        },
        config={"dispatch_sla_hours": 72},
    )
    assert keys(found, "STUCK_PRE_DISPATCH") == {"H2"}


def test_express_sla_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        wms={
            "orders": [
                order("H1", "in_progress", placed_at=ago(hours=12), shipping_method="NDAY"),
                order("H2", "in_progress", placed_at=ago(hours=13), shipping_method="NDAY"),
            ]
        },
        config={**EXPRESS, "express_sla_hours": 12},
    )
    assert keys(found, "STUCK_PRE_DISPATCH") == {"H2"}


def test_dispatch_and_store_update_graces_come_from_config(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1"), order("W2")]},
        erp={
            "orders": [
                order("E1", "released", source="W1"),
                order("E2", "dispatched", source="W2", updated_at=ago(minutes=31)),
            ]
        },
        wms={"orders": [order("H1", "dispatched", source="E1", updated_at=ago(minutes=31))]},
        config={"grace_dispatch_post_minutes": 30, "grace_store_update_minutes": 30},
    )
    assert keys(found, "DISPATCH_NOT_POSTED") == {"W1"}
    assert keys(found, "STORE_NOT_UPDATED") == {"W2"}


def test_stuck_pre_dispatch_is_keyed_by_the_origin(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", placed_at=ago(hours=60))]},
        erp={"orders": [order("E1", "released", source="W1", placed_at=ago(hours=59))]},
        wms={"orders": [order("H1", "in_progress", source="E1", placed_at=ago(hours=49))]},
    )
    assert keys(found, "STUCK_PRE_DISPATCH") == {"W1"}


# -- TRACKING_MISSING ---------------------------------------------------------------------------


def test_tracking_missing_fires_once_per_wms_order_missing_tracking_or_carrier(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released"), order("E2", "released"), order("E3", "released")]},
        wms={
            "orders": [
                order("H1", "dispatched", source="E1"),
                order("H2", "dispatched", source="E2"),
                order("H3", "dispatched", source="E3"),
            ],
            "order_lines": lines("H1", {"A1": 1, "B2": 1})
            + lines("H2", {"A1": 1})
            + lines("H3", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1, "B2": 1}, tracking="")
            + shipments("H2", {"A1": 1}, carrier=None)
            + shipments("H3", {"A1": 1}),
        },
    )
    assert keys(found, "TRACKING_MISSING") == {"E1", "E2"}
    assert owner_team(found, "TRACKING_MISSING", "E1") == ("warehouse", "warehouse")


def test_tracking_missing_checks_the_erp_shipments_when_there_is_no_wms(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "dispatched")], "order_lines": lines("W1", {"A1": 1})},
        erp={
            "orders": [order("E1", "dispatched", source="W1")],
            "order_lines": lines("E1", {"A1": 1}),
            "shipments": shipments("E1", {"A1": 1}, tracking=""),
        },
    )
    assert keys(found, "TRACKING_MISSING") == {"W1"}


def test_tracking_missing_ignores_erp_shipments_when_a_wms_is_present(tmp_path):
    found = run(
        tmp_path,
        erp={
            "orders": [order("E1", "dispatched")],
            "order_lines": lines("E1", {"A1": 1}),
            "shipments": shipments("E1", {"A1": 1}, tracking=""),
        },
        wms={
            "orders": [order("H1", "dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}),
        },
    )
    assert keys(found, "TRACKING_MISSING") == set()


# -- LINES_MISMATCH -----------------------------------------------------------------------------


def test_lines_mismatch_fires_when_a_quantity_or_a_sku_differs(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [order(f"W{n}") for n in range(1, 5)],
            "order_lines": lines("W1", {"A1": 2})
            + lines("W2", {"A1": 1, "B2": 1})
            + [line("W3", 1, "A1", 1), line("W3", 2, "A1", 1)]
            + lines("W4", {"A1": 5}),
        },
        erp={
            "orders": [
                order("E1", source="W1"),
                order("E2", source="W2"),
                order("E3", source="W3"),
                order("E4", "cancelled", source="W4"),
            ],
            "order_lines": lines("E1", {"A1": 1})
            + lines("E2", {"A1": 1})
            + lines("E3", {"A1": 2})
            + lines("E4", {"A1": 1}),
        },
    )
    assert keys(found, "LINES_MISMATCH") == {"W1", "W2"}
    assert owner_team(found, "LINES_MISMATCH", "W1") == ("office", "ops")


def test_an_aliased_sku_is_the_same_sku(tmp_path):
    found = run(
        tmp_path,
        store={
            "orders": [order("W1"), order("W2")],
            "order_lines": lines("W1", {"A1WEB": 2}) + lines("W2", {"A1WEB": 1}),
        },
        erp={
            "orders": [order("E1", source="W1")],
            "order_lines": lines("E1", {"A1": 2}),
            "products": [product("A1")],
        },
        sku_map=[alias("store", "A1WEB", "A1")],
    )
    assert keys(found, "LINES_MISMATCH") == set()
    assert keys(found, "SKU_UNKNOWN") == set()


@pytest.mark.parametrize(
    ("products", "config"),
    [
        ([product("A1"), product("GIFTWRAP", stock_item=False)], {}),
        pytest.param([product("A1")], {"non_stock_skus": ["GIFTWRAP"]}),
    ],
)
def test_a_gift_wrap_line_left_out_of_the_warehouse_copy_is_not_a_mismatch(
    tmp_path, products, config
):
    found = run(
        tmp_path,
        erp={
            "orders": [order("E1", "released")],
            "order_lines": lines("E1", {"A1": 1, "GIFTWRAP": 1}),
            "products": products,
        },
        wms={"orders": [order("H1", "in_progress", source="E1")], "order_lines": lines("H1", {"A1": 1})},
        config=config,
    )  # fmt: skip
    assert keys(found, "LINES_MISMATCH") == set()


def test_lines_mismatch_on_two_pairs_of_one_order_is_one_exception_at_the_origin(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")], "order_lines": lines("W1", {"A1": 3})},
        erp={
            "orders": [order("E1", "released", source="W1")],
            "order_lines": lines("E1", {"A1": 2}),
        },
        wms={
            "orders": [order("H1", "in_progress", source="E1")],
            "order_lines": lines("H1", {"A1": 1}),
        },
    )
    assert keys(found, "LINES_MISMATCH") == {"W1"}


# -- SHIPPED_QTY_MISMATCH -----------------------------------------------------------------------


def test_shipped_qty_mismatch_compares_wms_shipments_with_ordered_stock_lines(tmp_path):
    ordered = {
        "H1": {"A1": 2},
        "H2": {"A1": 1},
        "H3": {"A1": 2},
        "H4": {"A1": 1},
        "H5": {"A1": 1, "GIFTWRAP": 1},
        "H6": {"A1": 1},
        "H7": {"A1": 1},
    }
    status = {"H3": "partially_dispatched", "H4": "partially_dispatched", "H7": "in_progress"}
    found = run(
        tmp_path,
        erp={"orders": [order(f"E{ref[1:]}", "released") for ref in ordered]},
        wms={
            "orders": [
                order(ref, status.get(ref, "dispatched"), source=f"E{ref[1:]}") for ref in ordered
            ],
            "order_lines": [row for ref, skus in ordered.items() for row in lines(ref, skus)],
            "shipments": shipments("H1", {"A1": 1})
            + shipments("H3", {"A1": 1})
            + shipments("H4", {"A1": 2})
            + shipments("H5", {"A1": 1})
            + shipments("H6", {"A1W": 1}),
        },
        sku_map=[alias("wms", "A1W", "A1")],
        config={"non_stock_skus": ["GIFTWRAP"]},
    )
    assert keys(found, "SHIPPED_QTY_MISMATCH") == {"E1", "E2", "E4"}
    assert owner_team(found, "SHIPPED_QTY_MISMATCH", "E1") == ("warehouse", "warehouse")


def test_shipped_qty_mismatch_is_skipped_without_a_shipments_file(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "dispatched")], "order_lines": lines("E1", {"A1": 2})},
        wms={
            "orders": [order("H1", "dispatched", source="E1")],
            "order_lines": lines("H1", {"A1": 2}),
        },
    )
    assert keys(found, "SHIPPED_QTY_MISMATCH") == set()


def test_shipped_qty_mismatch_checks_the_erp_when_there_is_no_wms(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1", "dispatched")], "order_lines": lines("W1", {"A1": 2})},
        erp={
            "orders": [order("E1", "dispatched", source="W1")],
            "order_lines": lines("E1", {"A1": 2}),
            "shipments": shipments("E1", {"A1": 1}),
        },
    )
    assert keys(found, "SHIPPED_QTY_MISMATCH") == {"W1"}


# -- DUPLICATE_ORDER, ORPHAN_ORDER and counterparts ---------------------------------------------


def test_duplicate_and_orphan_orders_in_the_erp(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1"), order("W2")]},
        erp={
            "orders": [
                order("E1", source="W1"),
                order("E2", source="W1"),
                order("E3", source="W2"),
                order("E4", "cancelled", source="W2"),
                order("E5", source="TEST9"),
                order("E6", "cancelled", source="TEST8"),
                order("E7"),
            ]
        },
    )
    assert keys(found, "DUPLICATE_ORDER") == {"W1"}
    assert keys(found, "ORPHAN_ORDER") == {"E5"}
    assert owner_team(found, "DUPLICATE_ORDER", "W1") == ("office", "ops")
    assert owner_team(found, "ORPHAN_ORDER", "E5") == ("office", "ops")


def test_duplicate_wms_orders_are_keyed_by_the_origin(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")]},
        erp={"orders": [order("E1", "released", source="W1")]},
        wms={
            "orders": [
                order("H1", "in_progress", source="E1"),
                order("H2", "in_progress", source="E1"),
            ]
        },
    )
    assert keys(found, "DUPLICATE_ORDER") == {"W1"}
    assert keys(found, "ORPHAN_ORDER") == set()


def test_duplicated_ghosts_are_keyed_by_the_shared_source_ref(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E1", "released")]},
        wms={
            "orders": [
                order("H1", "in_progress", source="E1"),
                order("H8", "in_progress", source="E404"),
                order("H9", "in_progress", source="E404"),
            ]
        },
    )
    assert keys(found, "DUPLICATE_ORDER") == {"E404"}
    assert keys(found, "ORPHAN_ORDER") == {"H8", "H9"}


def test_a_wms_order_pointing_past_the_erp_at_the_store_is_an_orphan(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W1")]},
        erp={"orders": [order("E1", "released", source="W1")]},
        wms={"orders": [order("H1", "in_progress", source="E1"), order("H2", "in_progress", source="W1")]},
    )  # fmt: skip
    assert keys(found, "ORPHAN_ORDER") == {"H2"}


def test_the_counterpart_is_the_earliest_live_copy_then_the_lowest_ref(tmp_path):
    """Outbound needs the wms counterpart held/rejected: only then is the erp address checked."""
    early, mid, late = ago(hours=11), ago(hours=10), ago(hours=9)
    no_phone = {"ship_phone": None}
    found = run(
        tmp_path,
        erp={"orders": [order(f"E{n}", "released", **no_phone) for n in range(1, 6)]},
        wms={
            "orders": [
                # same placed_at: the lowest order_ref wins
                order("H1A", "rejected", source="E1", placed_at=mid),
                order("H1B", "in_progress", source="E1", placed_at=mid),
                order("H2A", "in_progress", source="E2", placed_at=mid),
                order("H2B", "rejected", source="E2", placed_at=mid),
                # the earliest placed_at wins over the lower ref
                order("H3A", "in_progress", source="E3", placed_at=late),
                order("H3B", "rejected", source="E3", placed_at=early),
                # a cancelled copy is never the counterpart
                order("H4A", "cancelled", source="E4", placed_at=early),
                order("H4B", "rejected", source="E4", placed_at=mid),
                order("H5A", "cancelled", source="E5", placed_at=early),
                order("H5B", "in_progress", source="E5", placed_at=mid),
            ]
        },
    )
    assert keys(found, "ADDRESS_INVALID") == {"E1", "E3", "E4"}


# -- SERVICE_MISMATCH ---------------------------------------------------------------------------

METHODS = {"shipping_methods": {"Express": "NDAY", "Standard": "STD"}}


def service_world(config):
    return {
        "erp": {
            "orders": [
                order("E1", "dispatched", shipping_method="Express"),
                order("E2", "dispatched", shipping_method="Express"),
                order("E3", "dispatched", shipping_method="Standard"),
            ]
        },
        "wms": {
            "orders": [order(f"H{n}", "dispatched", source=f"E{n}") for n in (1, 2, 3)],
            "order_lines": lines("H1", {"A1": 1}) + lines("H2", {"A1": 1}) + lines("H3", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, service_code="STD")
            + shipments("H2", {"A1": 1}, service_code="NDAY")
            + shipments("H3", {"A1": 1}, service_code=None),
        },
        "config": config,
    }


def test_service_mismatch_fires_on_a_silent_downgrade(tmp_path):
    found = run(tmp_path, **service_world(METHODS))
    assert keys(found, "SERVICE_MISMATCH") == {"E1"}
    assert owner_team(found, "SERVICE_MISMATCH", "E1") == ("warehouse", "warehouse")


def test_service_mismatch_is_skipped_without_shipping_methods(tmp_path):
    found = run(tmp_path, **service_world({}))
    assert keys(found, "SERVICE_MISMATCH") == set()
