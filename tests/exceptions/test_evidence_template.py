"""The evidence partial renders what evidence_for found, flags differences and escapes values."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template.loader import render_to_string

from exceptions.evidence import evidence_for
from exceptions.models import ExceptionRecord
from reconciliation.models import ReconciliationRun
from tests.exceptions.evidence_world import reconcile_world


@pytest.fixture
def run(db: None, tmp_path: Path) -> ReconciliationRun:
    return reconcile_world(tmp_path)


def render(rule: str, key: str) -> str:
    record = ExceptionRecord.objects.select_related("last_run").get(rule=rule, key=key)
    return render_to_string("exceptions/_evidence.html", {"evidence": evidence_for(record)})


def test_an_order_renders_side_by_side_with_the_differences_flagged(
    run: ReconciliationRun,
) -> None:
    html = render("TAX_MISMATCH", "W1")

    assert 'data-testid="order-compare"' in html
    assert '<tr class="differs" data-field="tax_total">' in html
    assert '<tr class="" data-field="net_total">' in html
    assert "<td>2.50</td>" in html
    assert "expected WHNDAY" in html  # the wrong service on the warehouse's parcel
    assert "Raw snapshot rows (8 files)" in html


def test_a_missing_copy_is_named(run: ReconciliationRun) -> None:
    html = render("ORDER_NOT_IN_ERP", "W3")

    assert "not in Prima" in html
    assert "not in Whistl" in html
    # Values from the systems are text, never markup.
    assert "&lt;b&gt;Bo&lt;/b&gt;" in html
    assert "<b>Bo</b>" not in html


def test_a_sku_renders_stock_explanation_and_holding_orders(run: ReconciliationRun) -> None:
    html = render("STOCK_DRIFT", "MUG1")

    assert 'data-testid="sku-stock"' in html
    assert "Unexplained units" in html
    assert 'data-testid="sku-committing"' in html
    assert "WMUG1" in html


def test_every_rule_of_the_demo_world_renders(db: None) -> None:
    from reconciliation.demo import build_demo_bundle
    from reconciliation.runs import reconcile_bundle_object

    reconcile_bundle_object(build_demo_bundle(orders=300), source="bundle", source_name="demo")
    kinds = {}
    for record in ExceptionRecord.objects.select_related("last_run"):
        evidence = evidence_for(record)
        html = render_to_string("exceptions/_evidence.html", {"evidence": evidence})
        assert 'id="evidence"' in html
        assert evidence["message"] == "", f"{record}: {evidence['message']}"
        kinds.setdefault(evidence["kind"], set()).add(record.rule)
    # Every order rule found its order, every SKU rule its SKU, the stale snapshot its snapshots.
    assert kinds["snapshots"] == {"SNAPSHOT_STALE"}
    assert "STOCK_DRIFT" in kinds["sku"]
    assert "ORPHAN_ORDER" in kinds["order"]
    assert "none" not in kinds
