"""Order evidence: each system's copy side by side, differences flagged, in a bounded number of
queries (the world is described in evidence_world.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exceptions.evidence import evidence_for
from exceptions.models import ExceptionRecord
from reconciliation.models import ReconciliationRun
from tests.exceptions.evidence_world import reconcile_world


@pytest.fixture
def run(db: None, tmp_path: Path) -> ReconciliationRun:
    return reconcile_world(tmp_path)


def exception(rule: str, key: str) -> ExceptionRecord:
    # As the detail view loads it: the run comes with the exception.
    return ExceptionRecord.objects.select_related("last_run").get(rule=rule, key=key)


def field(evidence: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in evidence["fields"] if f["name"] == name)


def columns(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["role"], c["order_ref"]) for c in evidence["columns"]]


def test_it_follows_the_order_down_the_pipeline(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("TAX_MISMATCH", "W1"))

    assert evidence["kind"] == "order"
    assert evidence["run"] == run
    assert columns(evidence) == [("store", "W1"), ("erp", "E1"), ("wms", "X1")]
    assert [c["system"] for c in evidence["columns"]] == ["WooCommerce", "Prima", "Whistl"]
    assert [c["source_ref"] for c in evidence["columns"]] == ["", "W1", "E1"]
    assert [(s["role"], s["system"]) for s in evidence["snapshots"]] == [
        ("store", "WooCommerce"),
        ("erp", "Prima"),
        ("wms", "Whistl"),
    ]


def test_it_flags_the_totals_that_differ_and_not_those_that_agree(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("TAX_MISMATCH", "W1"))

    assert field(evidence, "tax_total") == {
        "name": "tax_total",
        "label": "VAT",
        "values": ["2.00", "2.50", ""],
        "differs": True,
    }
    assert field(evidence, "gross_total")["differs"] is True
    assert field(evidence, "net_total") == {
        "name": "net_total",
        "label": "Net",
        "values": ["10.00", "10.00", ""],
        "differs": False,
    }
    # Same stage everywhere, the same address in another case, the same service through the map.
    assert field(evidence, "status")["differs"] is False
    assert field(evidence, "ship_city") == {
        "name": "ship_city",
        "label": "City",
        "values": ["London", "london", "London"],
        "differs": False,
    }
    assert field(evidence, "shipping_method")["differs"] is False
    # Timestamps are each system's own: shown, never flagged.
    assert field(evidence, "placed_at")["differs"] is False
    # Fields no system has are left out.
    assert "hold_reason" not in [f["name"] for f in evidence["fields"]]


def test_lines_are_compared_by_canonical_sku_on_stock_lines_only(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("LINES_MISMATCH", "W1"))

    assert evidence["lines"] == [
        {
            "sku": "MUG1",
            "aliases": ["Whistl: WMUG1"],
            "non_stock": False,
            "values": ["2", "2", "1"],
            "differs": True,
        },
        {
            "sku": "GIFT",
            "aliases": [],
            "non_stock": True,
            "values": ["1", "1", "1"],
            "differs": False,
        },
    ]


def test_shipments_show_tracking_and_flag_what_is_missing_or_wrong(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("TRACKING_MISSING", "W1"))

    erp, wms = evidence["shipments"]
    assert (erp["system"], erp["order_ref"], erp["tracking_number"], erp["carrier"]) == (
        "Prima",
        "E1",
        "RM1",
        "Royal Mail",
    )
    assert erp["missing"] == []
    assert erp["wrong_service"] is False
    assert (wms["system"], wms["order_ref"], wms["sku"], wms["quantity"]) == (
        "Whistl",
        "X1",
        "WMUG1",
        "1",
    )
    assert wms["missing"] == ["carrier", "tracking_number"]
    assert (wms["service_code"], wms["expected_service"], wms["wrong_service"]) == (
        "WHSTD48",
        "WHNDAY",
        True,
    )


def test_a_duplicate_shows_every_copy(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("DUPLICATE_ORDER", "W2"))

    assert columns(evidence) == [("store", "W2"), ("erp", "E2a"), ("erp", "E2b"), ("wms", "X2")]
    assert field(evidence, "status")["values"] == ["open", "released", "released", "in_progress"]
    assert field(evidence, "status")["differs"] is False
    assert evidence["lines"][0]["values"] == ["1", "1", "1", "1"]


def test_a_missing_copy_is_an_empty_column(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("ORDER_NOT_IN_ERP", "W3"))

    assert columns(evidence) == [("store", "W3"), ("erp", ""), ("wms", "")]
    assert [c["found"] for c in evidence["columns"]] == [True, False, False]
    assert field(evidence, "status")["values"] == ["open", "", ""]
    assert evidence["lines"] == [
        {
            "sku": "MUG1",
            "aliases": [],
            "non_stock": False,
            "values": ["3", "", ""],
            "differs": False,
        }
    ]
    assert evidence["shipments"] == []


def test_an_orphan_has_no_upstream_copy(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("ORPHAN_ORDER", "E9"))

    assert columns(evidence) == [("store", ""), ("erp", "E9"), ("wms", "")]
    assert evidence["columns"][1]["source_ref"] == "STG-1"


def test_the_raw_rows_are_the_snapshot_rows_used(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("TAX_MISMATCH", "W1"))

    assert [(b["file"], b["system"], len(b["rows"])) for b in evidence["raw"]] == [
        ("store/orders.csv", "WooCommerce", 1),
        ("erp/orders.csv", "Prima", 1),
        ("wms/orders.csv", "Whistl", 1),
        ("store/order_lines.csv", "WooCommerce", 2),
        ("erp/order_lines.csv", "Prima", 2),
        ("wms/order_lines.csv", "Whistl", 2),
        ("erp/shipments.csv", "Prima", 1),
        ("wms/shipments.csv", "Whistl", 1),
    ]
    erp_orders = evidence["raw"][1]
    row = dict(zip(erp_orders["columns"], erp_orders["rows"][0], strict=True))
    assert (row["order_ref"], row["source_ref"], row["tax_total"], row["placed_at"]) == (
        "E1",
        "W1",
        "2.50",
        "2026-11-29 10:00",
    )


def test_an_order_costs_a_bounded_number_of_queries(
    run: ReconciliationRun, django_assert_num_queries: Any
) -> None:
    # snapshots, the key's orders, the warehouse's copies, lines, shipments, non-stock products
    record = exception("TAX_MISMATCH", "W1")
    with django_assert_num_queries(6):
        evidence_for(record)
    # nothing downstream to follow
    record = exception("ORDER_NOT_IN_ERP", "W3")
    with django_assert_num_queries(5):
        evidence_for(record)


def test_a_key_in_no_snapshot_says_so(run: ReconciliationRun) -> None:
    record = exception("TAX_MISMATCH", "W1")
    record.key = "W404"

    evidence = evidence_for(record)

    assert evidence["kind"] == "none"
    assert evidence["message"] == f"No order W404 in the snapshots of run {run.pk}."
    assert len(evidence["snapshots"]) == 3


def test_an_exception_without_a_run_says_so(make_exception: Any) -> None:
    evidence = evidence_for(make_exception(key="W1"))

    assert evidence == {
        "kind": "none",
        "run": None,
        "snapshots": [],
        "raw": [],
        "message": "No reconciliation run has recorded this exception yet.",
    }


def test_a_run_whose_snapshots_are_gone_says_so(run: ReconciliationRun) -> None:
    run.snapshots.clear()

    evidence = evidence_for(exception("TAX_MISMATCH", "W1"))

    assert evidence["kind"] == "none"
    assert evidence["message"] == f"The snapshots of run {run.pk} are no longer stored."


def test_a_snapshot_rule_lists_the_snapshots_only(
    run: ReconciliationRun, make_exception: Any, django_assert_num_queries: Any
) -> None:
    make_exception(rule="SNAPSHOT_STALE", key="store", last_run=run)
    record = exception("SNAPSHOT_STALE", "store")

    with django_assert_num_queries(1):
        evidence = evidence_for(record)

    assert evidence["kind"] == "snapshots"
    assert [s["role"] for s in evidence["snapshots"]] == ["store", "erp", "wms"]
    assert evidence["raw"] == []
