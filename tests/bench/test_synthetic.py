"""The benchmark's synthetic bundle: readable by read_bundle, shaped as promised, cached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import reconcile as bench_reconcile
from bench.synthetic import generate
from reconciliation.bundle import read_bundle
from reconciliation.engine import reconcile


def test_a_tiny_bundle_reads_back_whole(tmp_path: Path) -> None:
    path = generate(orders=300, skus=60, seed=4, out=tmp_path)
    bundle = read_bundle(path)
    assert bundle.pipeline == ["store", "erp", "wms"]
    assert str(bundle.as_of) == "2026-11-30 23:59:00+00:00"
    store, erp, wms = (bundle.roles[role].frames for role in ("store", "erp", "wms"))
    assert len(store["orders"]) == 300
    assert len(store["products"]) == len(erp["stock"]) == len(wms["stock"]) == 60
    assert 2.0 < len(store["order_lines"]) / len(store["orders"]) < 3.0
    assert set(store) == {"orders", "order_lines", "products", "stock"}
    assert set(wms) == set(erp) == store.keys() | {"shipments", "adjustments"}
    # Shipments only for dispatched orders; money to the penny; gross = net + tax.
    dispatched = set(wms["orders"].loc[wms["orders"]["status"] == "dispatched", "order_ref"])
    assert set(wms["shipments"]["order_ref"]) == dispatched
    orders = erp["orders"]
    assert (orders["gross_total"] == orders["net_total"] + orders["tax_total"]).all()
    assert bundle.sku_map["canonical_sku"].tolist() == ["SKU0000000"]


def test_the_same_size_and_seed_is_generated_once(tmp_path: Path) -> None:
    path = generate(orders=50, skus=10, seed=1, out=tmp_path)
    marker = (path / ".complete").stat().st_mtime_ns
    (path / "store" / "orders.csv").write_text("tampered")  # a cached bundle is not rewritten
    assert generate(orders=50, skus=10, seed=1, out=tmp_path) == path
    assert (path / ".complete").stat().st_mtime_ns == marker
    assert (path / "store" / "orders.csv").read_text() == "tampered"


def test_a_few_percent_of_orders_are_anomalies(tmp_path: Path) -> None:
    result = reconcile(read_bundle(generate(orders=5000, skus=500, seed=2, out=tmp_path)))
    order_rules = {"ORDER_NOT_IN_ERP", "DISPATCH_NOT_POSTED", "LINES_MISMATCH", "TAX_MISMATCH"}
    assert order_rules <= {rule for rule, count in result.counts.items() if count}
    assert 0.01 < len(result.exceptions) / 5000 < 0.1


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_with_duckdb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench_reconcile.main(["--orders", "200", "--skus", "40", "--duckdb", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "read + reconcile" in printed
    assert "ratio (read + reconcile) / (duckdb read + joins)" in printed
    results = json.loads((tmp_path / "results-200o-40s-seed1.json").read_text())
    assert set(results["engine"]) >= {"read", "reconcile", "engine_timings", "rows"}
    assert results["engine"]["rows"]["store/orders"] == 200
    assert set(results["duckdb"]["joins"]) == set(bench_reconcile.JOINS)
    differences = results["duckdb"]["joins"]["store orders ⟷ erp orders"]["differences"]
    assert differences == 200 - results["engine"]["rows"]["erp/orders"]
