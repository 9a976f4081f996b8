"""reconciliation.metrics' pure parts: counts folded, SLA breaches, drift at cost, flow lags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from reconciliation.bundle import read_bundle
from reconciliation.engine import reconcile
from reconciliation.finance import drift_summary
from reconciliation.frames import Bundle
from reconciliation.metrics import flow_lags, month_of, set_label, sla_breaches, system_set, tally
from reconciliation.settings import ReconSettings
from tests.bundles import write_bundle_dir
from tests.reconciliation.month_end_bundle import SYSTEMS, world_files, write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return read_bundle(write_world(tmp_path_factory.mktemp("world") / "bundle"))


@pytest.fixture(scope="module")
def found(world: Bundle) -> pd.DataFrame:
    return reconcile(world).exceptions


def test_tally_folds_one_group_by_into_every_breakdown() -> None:
    rows = [
        ("ops", "P1", "office", "ORDER_HELD", "open", 3),
        ("ops", "P2", "office", "ORDER_HELD", "acknowledged", 2),
        ("warehouse", "P1", "warehouse", "STOCK_DRIFT", "snoozed", 4),
        ("finance", "P4", "office", "TAX_MISMATCH", "open", 1),
    ]

    counts = tally(rows)

    assert counts.total == 10
    assert counts.by_team == {"finance": 1, "ops": 5, "warehouse": 4}
    assert counts.by_priority_owner == {
        "P1": {"office": 3, "warehouse": 4},
        "P2": {"office": 2},
        "P4": {"office": 1},
    }
    assert counts.by_rule == {
        "ORDER_HELD": {"P1": 3, "P2": 2},
        "STOCK_DRIFT": {"P1": 4},
        "TAX_MISMATCH": {"P4": 1},
    }
    assert counts.by_status == {"acknowledged": 2, "open": 4, "snoozed": 4}


def test_nothing_unresolved_is_all_zero() -> None:
    counts = tally([])
    assert (counts.total, counts.by_team, counts.by_rule) == (0, {}, {})


def test_sla_breaches_count_stuck_orders_and_the_express_ones(found: pd.DataFrame) -> None:
    assert sla_breaches(found) == (1, 0)
    express = found.copy()
    express["details"] = [
        {**d, "express": True} if r == "STUCK_PRE_DISPATCH" else d
        for r, d in zip(express["rule"], express["details"], strict=True)
    ]
    assert sla_breaches(express) == (1, 1)
    assert sla_breaches(found.iloc[0:0]) == (0, 0)


def test_drift_is_valued_at_cost_explained_and_unexplained(found: pd.DataFrame) -> None:
    drift = drift_summary(found)

    # MUG: 1 unit explained by W2's unposted dispatch (£4), 2 unexplained (£8);
    # TEE: 1 unit explained by the unposted adjustment (£2.50).
    assert drift.explained_value == Decimal("6.50")
    assert drift.unexplained_value == Decimal("8.00")
    assert drift.top == [
        {"sku": "MUG", "diff": 3, "explained_value": "4.00", "unexplained_value": "8.00"},
        {"sku": "TEE", "diff": -1, "explained_value": "2.50", "unexplained_value": "0.00"},
    ]


def test_a_sku_without_a_unit_cost_is_counted_but_not_valued(found: pd.DataFrame) -> None:
    uncosted = found.copy()
    uncosted["details"] = [
        {**d, "unit_cost": None} if k == "MUG" else d
        for k, d in zip(uncosted["key"], uncosted["details"], strict=True)
    ]
    drift = drift_summary(uncosted)
    assert (drift.explained_value, drift.unexplained_value) == (Decimal("2.50"), Decimal("0"))
    assert [row["sku"] for row in drift.top] == ["TEE"]


def test_flow_lags_are_percentiles_of_each_step(world: Bundle) -> None:
    lags = flow_lags(world, ReconSettings())

    # Seven orders reached the warehouse, six were dispatched, five of those posted (W2 not).
    assert lags == {
        "placed_to_warehouse": {"count": 7, "p50": 0.5, "p90": 0.5, "p95": 0.5},
        "warehouse_to_dispatched": {"count": 6, "p50": 5.5, "p90": 5.5, "p95": 5.5},
        "dispatched_to_posted": {"count": 5, "p50": 1.0, "p90": 1.0, "p95": 1.0},
        "placed_to_posted": {"count": 5, "p50": 7.0, "p90": 7.0, "p95": 7.0},
    }


def test_flow_lags_only_count_steps_that_ended_in_the_last_week(tmp_path: Path) -> None:
    # The same world seen eight days later: every step ended more than a week before as_of.
    later = read_bundle(write_world(tmp_path / "b"))
    later.as_of = later.as_of + pd.Timedelta(days=8)
    assert flow_lags(later, ReconSettings()) == {}


def test_flow_lags_need_a_warehouse(world: Bundle) -> None:
    without = Bundle(world.as_of, "GBP", {r: s for r, s in world.roles.items() if r != "wms"})
    assert flow_lags(without, ReconSettings()) == {}


def test_the_system_set_names_each_role_in_flow_order(world: Bundle) -> None:
    key, names = system_set(world)
    assert key == "store=woocommerce erp=prima wms=whistl"
    assert names == {"store": "WooCommerce", "erp": "Prima", "wms": "Whistl"}
    # jsonb gives keys back in its own order; the label keeps the flow's.
    assert set_label({"wms": "Whistl", "erp": "Prima", "store": "WooCommerce"}) == (
        "WooCommerce → Prima → Whistl"
    )


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), date(2026, 11, 1)),
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): July's figures.
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), date(2026, 7, 1)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), date(2026, 12, 1)),
    ],
)
def test_a_run_belongs_to_the_uk_month_of_its_as_of(moment: datetime, month: date) -> None:
    assert month_of(moment) == month


def test_without_shipments_dispatch_time_falls_back_to_the_order(tmp_path: Path) -> None:
    files = world_files()
    files["wms/shipments.csv"] = []
    files["wms/orders.csv"][0]["updated_at"] = "2026-11-29T23:59:00Z"  # H1: 6 h after placing
    bundle = read_bundle(write_bundle_dir(tmp_path / "b", systems=SYSTEMS, files=files))

    lags = flow_lags(bundle, ReconSettings())

    # H1 is dispatched at its updated_at (5.5 h at the warehouse); the others at their placed_at.
    assert lags["warehouse_to_dispatched"] == {"count": 6, "p50": 0.0, "p90": 2.75, "p95": 4.12}
    assert lags["dispatched_to_posted"]["count"] == 5
