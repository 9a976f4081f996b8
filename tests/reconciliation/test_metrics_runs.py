"""A completed run stores its summary (RunMetrics) and its month's records (MonthEndItem)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from exceptions.models import ExceptionRecord
from reconciliation import metrics
from reconciliation.bundle import read_bundle
from reconciliation.engine import reconcile
from reconciliation.models import MonthEndItem, ReconciliationRun, RunMetrics
from reconciliation.runs import reconcile_path
from reconciliation.settings import ReconSettings
from tests.reconciliation.month_end_bundle import write_world

pytestmark = pytest.mark.django_db


def run_world(
    tmp_path: Path, as_of: str = "2026-11-30T23:59:00Z", **kwargs: str
) -> ReconciliationRun:
    run, _ = reconcile_path(write_world(tmp_path / as_of.replace(":", ""), as_of, **kwargs))
    assert run is not None
    return run


def test_a_run_stores_its_summary(tmp_path: Path) -> None:
    run = run_world(tmp_path)

    m = RunMetrics.objects.get(run=run)
    assert m.as_of == datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    assert m.month == date(2026, 11, 1)
    assert m.system_set == "store=woocommerce erp=prima wms=whistl"
    assert m.systems == {"store": "WooCommerce", "erp": "Prima", "wms": "Whistl"}
    assert m.unresolved == 9
    assert m.by_team == {"cx": 1, "finance": 5, "ops": 1, "warehouse": 2}
    assert m.by_priority_owner == {
        "P2": {"office": 4, "warehouse": 2},
        "P3": {"office": 2},
        "P4": {"office": 1},
    }
    assert m.by_rule["TAX_MISMATCH"] == {"P2": 1, "P4": 1}
    assert m.by_status == {"open": 9}
    assert (m.sla_breaches, m.sla_breaches_express) == (1, 0)
    assert (m.drift_value_explained, m.drift_value_unexplained) == (
        Decimal("6.50"),
        Decimal("8.00"),
    )
    assert [row["sku"] for row in m.top_skus] == ["MUG", "TEE"]
    assert m.lags["placed_to_posted"] == {"count": 5, "p50": 7.0, "p90": 7.0, "p95": 7.0}
    assert m.finance["tax"]["amount"] == {"count": 1, "net": "-2.00", "absolute": "2.00"}
    assert m.finance["unresolved_by_team"] == m.by_team
    assert "metrics" in run.timings


def test_the_months_records_are_saved_with_the_run(tmp_path: Path) -> None:
    run = run_world(tmp_path)

    items = MonthEndItem.objects.filter(run=run)
    assert sorted(items.values_list("figure", "key")) == [
        ("adjustments", "WA1"),
        ("dispatched_not_posted", "W2"),
        ("not_in_store", "W3"),
        ("stock_drift", "MUG"),
        ("stock_drift", "TEE"),
        ("tax", "W4"),
        ("tax", "W5"),
        ("total", "W6"),
    ]
    assert set(items.values_list("month", "system_set")) == {
        (date(2026, 11, 1), "store=woocommerce erp=prima wms=whistl")
    }
    assert items.get(key="W5").amount == Decimal("-2.00")


def test_unresolved_counts_use_the_team_a_person_assigned(tmp_path: Path) -> None:
    run_world(tmp_path)
    ExceptionRecord.objects.filter(rule="TAX_MISMATCH").update(assigned_team="ops")
    ExceptionRecord.objects.filter(rule="STORE_NOT_UPDATED").update(status="acknowledged")
    # Dismissed by a person: closed, even though the run still finds it.
    ExceptionRecord.objects.filter(rule="STUCK_PRE_DISPATCH").update(status="dismissed")

    second = run_world(tmp_path / "again")

    m = RunMetrics.objects.get(run=second)
    assert m.by_team == {"cx": 1, "finance": 3, "ops": 3, "warehouse": 1}
    assert m.by_status == {"acknowledged": 1, "open": 7}


def test_only_the_latest_run_of_a_month_keeps_records(tmp_path: Path) -> None:
    late = run_world(tmp_path, "2026-11-30T23:59:00Z")
    # A replay of an older bundle of the same month: summarised, but November still closes on
    # the later run.
    early = run_world(tmp_path, "2026-11-30T12:00:00Z")
    december = run_world(tmp_path, "2026-12-01T09:00:00Z")

    assert RunMetrics.objects.filter(run__in=[late, early, december]).count() == 3
    assert set(MonthEndItem.objects.values_list("run_id", "month").distinct()) == {
        (late.pk, date(2026, 11, 1)),
        (december.pk, date(2026, 12, 1)),
    }

    newer = run_world(tmp_path, "2026-11-30T23:59:30Z")
    assert set(MonthEndItem.objects.values_list("run_id", "month").distinct()) == {
        (newer.pk, date(2026, 11, 1)),
        (december.pk, date(2026, 12, 1)),
    }


def test_a_failing_summary_leaves_the_run_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("lag arithmetic broke")

    monkeypatch.setattr(metrics, "flow_lags", broken)
    with caplog.at_level(logging.ERROR, logger="reconciliation.metrics"):
        run = run_world(tmp_path)

    run.refresh_from_db()
    assert run.status == "complete"
    assert ExceptionRecord.objects.count() == 9
    assert not RunMetrics.objects.exists()
    assert not MonthEndItem.objects.exists()
    assert f"could not summarise run {run.pk}" in caplog.text


def test_summarising_a_run_again_replaces_its_row(tmp_path: Path) -> None:
    run = run_world(tmp_path)
    RunMetrics.objects.filter(run=run).update(unresolved=0)
    bundle = read_bundle(tmp_path / "2026-11-30T235900Z")
    metrics.summarise_run(run, bundle, reconcile(bundle), ReconSettings())

    assert RunMetrics.objects.get(run=run).unresolved == 9
    assert MonthEndItem.objects.filter(run=run).count() == 8
