"""SKU evidence: stock per system through the SKU map, the rule's explanation, the orders holding
the stock (the world is described in evidence_world.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exceptions.evidence import evidence_for, skus
from exceptions.models import ExceptionRecord
from reconciliation.models import ReconciliationRun
from tests.exceptions.evidence_world import reconcile_world


@pytest.fixture
def run(db: None, tmp_path: Path) -> ReconciliationRun:
    return reconcile_world(tmp_path)


def exception(rule: str, key: str) -> ExceptionRecord:
    return ExceptionRecord.objects.select_related("last_run").get(rule=rule, key=key)


def test_stock_is_summed_per_system_through_the_sku_map(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("STOCK_DRIFT", "MUG1"))

    assert evidence["kind"] == "sku"
    assert evidence["sku"] == "MUG1"
    stock = {row["role"]: row for row in evidence["stock"]}
    assert [
        (r["system"], r["on_hand"], r["allocated"], r["available"]) for r in evidence["stock"]
    ] == [
        ("WooCommerce", 20, 0, 20),
        ("Prima", 10, 2, 8),
        ("Whistl", 7, 1, 6),
    ]
    assert stock["wms"]["skus"] == ["WMUG1"]
    assert stock["wms"]["locations"] == [
        {"location": "A1", "on_hand": 5, "allocated": 0, "available": 5},
        {"location": "B2", "on_hand": 2, "allocated": 1, "available": 1},
    ]
    assert stock["erp"]["on_hand_differs"] is True
    assert (stock["erp"]["product"], stock["erp"]["unit_cost"]) == ("Enamel mug", "4.00")
    assert stock["store"]["negative"] is False


def test_the_drift_explanation_comes_from_the_details(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("STOCK_DRIFT", "MUG1"))

    assert evidence["explanation"] == [
        ("ERP on hand", "10"),
        ("Warehouse on hand", "7"),
        ("Difference (ERP − warehouse)", "3"),
        ("Postings pending (all ages)", "1"),
        ("Postings pending within their grace", "0"),
        ("Unexplained units", "2"),
        ("Unit cost", "4.00"),
        ("Value at cost", "8.00"),
    ]


def test_the_orders_holding_the_stock_are_listed_per_system(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("OVERSELL_RISK", "MUG1"))

    # Dispatched W1/E1/X1 hold nothing; the alias WMUG1 counts as MUG1.
    assert [
        (o["system"], o["order_ref"], o["status"], o["units"]) for o in evidence["committing"]
    ] == [
        ("WooCommerce", "W2", "open", 1),
        ("WooCommerce", "W3", "open", 3),
        ("Prima", "E2a", "released", 1),
        ("Prima", "E9", "released", 1),
        ("Prima", "E2b", "released", 1),
        ("Whistl", "X2", "in_progress", 1),
    ]
    assert evidence["committing_more"] is False
    assert ("Committed by orders not yet there", "5") in evidence["explanation"]


def test_the_list_of_holding_orders_is_capped(
    run: ReconciliationRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(skus, "COMMITTING_LIMIT", 2)

    evidence = evidence_for(exception("OVERSELL_RISK", "MUG1"))

    assert [o["order_ref"] for o in evidence["committing"]] == ["W2", "W3"]
    assert evidence["committing_total"] == 6
    assert evidence["committing_more"] is True


def test_an_unposted_adjustment_shows_its_sku_and_row(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("ADJUSTMENT_NOT_POSTED", "WA1"))

    assert evidence["sku"] == "MUG1"
    assert ("Adjustment (units)", "-1") in evidence["explanation"]
    assert ("Reason", "Damaged") in evidence["explanation"]
    adjustments = [b for b in evidence["raw"] if b["file"] == "wms/adjustments.csv"]
    assert adjustments[0]["columns"][:3] == ["adjustment_ref", "sku", "delta"]
    assert adjustments[0]["rows"][0][:3] == ["WA1", "WMUG1", "-1"]


def test_the_raw_rows_are_the_snapshot_rows_used(run: ReconciliationRun) -> None:
    evidence = evidence_for(exception("STOCK_DRIFT", "MUG1"))

    assert [(b["file"], len(b["rows"])) for b in evidence["raw"]] == [
        ("store/stock.csv", 1),
        ("erp/stock.csv", 1),
        ("wms/stock.csv", 2),
        ("store/products.csv", 1),
        ("erp/products.csv", 1),
        ("wms/products.csv", 1),
        ("store/orders.csv", 2),
        ("erp/orders.csv", 3),
        ("wms/orders.csv", 1),
        ("store/order_lines.csv", 2),
        ("erp/order_lines.csv", 3),
        ("wms/order_lines.csv", 1),
    ]


def test_a_sku_costs_a_bounded_number_of_queries(
    run: ReconciliationRun, django_assert_num_queries: Any
) -> None:
    # snapshots, stock, products, lines on holding orders, those orders
    record = exception("STOCK_DRIFT", "MUG1")
    with django_assert_num_queries(5):
        evidence_for(record)
    # … and the adjustment itself
    record = exception("ADJUSTMENT_NOT_POSTED", "WA1")
    with django_assert_num_queries(6):
        evidence_for(record)
