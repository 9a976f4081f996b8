"""A small three-system world for the evidence tests, reconciled into the database.

store W1 → erp E1 → wms X1: VAT differs (2.00 vs 2.50), the warehouse got 1 MUG1 of 2 (as its
alias WMUG1) and shipped it by the wrong service with no carrier or tracking; GIFT is non-stock.
W2 was imported twice (E2a, E2b), E2a reached the warehouse as X2. W3 never reached the ERP. E9
is an orphan (source STG-1). MUG1 stock: store 20, erp 10 (2 allocated), wms 5 + 2 (1 allocated)
in two locations; the warehouse's adjustment WA1 (-1) never reached the ERP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciliation.bundle import read_bundle
from reconciliation.models import ReconciliationRun
from reconciliation.runs import reconcile_bundle_object
from tests.bundles import write_bundle_dir

PLACED = "2026-11-29T10:00:00Z"
ADDRESS = {
    "ship_name": "Ann Lee",
    "ship_line1": "1 High Street",
    "ship_city": "London",
    "ship_postcode": "SW1A 1AA",
    "ship_country": "GB",
    "ship_phone": "07700 900001",
}
TOTALS = {"net_total": "10.00", "tax_total": "2.00", "gross_total": "12.00"}


def _order(ref: str, status: str, source: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "order_ref": ref,
        "source_ref": source,
        "status": status,
        "placed_at": PLACED,
        **TOTALS,
        "shipping_method": "Next Day Delivery",
        **ADDRESS,
        **fields,
    }


def _line(ref: str, sku: str, quantity: int, line_no: int = 1) -> dict[str, Any]:
    return {"order_ref": ref, "line_no": str(line_no), "sku": sku, "quantity": str(quantity)}


FILES: dict[str, list[dict[str, Any]]] = {
    "store/products.csv": [
        {"sku": "MUG1", "name": "Enamel mug", "is_stock_item": "true"},
        {"sku": "GIFT", "name": "Gift wrap", "is_stock_item": "false"},
    ],
    "store/orders.csv": [
        _order("W1", "dispatched"),
        _order("W2", "open"),
        _order("W3", "open", ship_name="<b>Bo</b>"),
    ],
    "store/order_lines.csv": [
        _line("W1", "MUG1", 2),
        _line("W1", "GIFT", 1, 2),
        _line("W2", "MUG1", 1),
        _line("W3", "MUG1", 3),
    ],
    "store/stock.csv": [{"sku": "MUG1", "on_hand": "20", "allocated": "0", "available": "20"}],
    "erp/products.csv": [
        {"sku": "MUG1", "name": "Enamel mug", "unit_cost": "4.00"},
        {"sku": "GIFT", "name": "Gift wrap", "is_stock_item": "false"},
    ],
    "erp/orders.csv": [
        _order("E1", "dispatched", "W1", tax_total="2.50", gross_total="12.50", ship_city="london"),
        _order("E2a", "released", "W2"),
        _order("E2b", "released", "W2", placed_at="2026-11-29T10:05:00Z"),
        _order("E9", "released", "STG-1"),
    ],
    "erp/order_lines.csv": [
        _line("E1", "MUG1", 2),
        _line("E1", "GIFT", 1, 2),
        _line("E2a", "MUG1", 1),
        _line("E2b", "MUG1", 1),
        _line("E9", "MUG1", 1),
    ],
    "erp/shipments.csv": [
        {
            "order_ref": "E1",
            "shipment_ref": "P1",
            "sku": "MUG1",
            "quantity": "2",
            "carrier": "Royal Mail",
            "service_code": "WHNDAY",
            "tracking_number": "RM1",
            "dispatched_at": "2026-11-29T15:00:00Z",
        }
    ],
    "erp/stock.csv": [
        {"sku": "MUG1", "location": "MAIN", "on_hand": "10", "allocated": "2", "available": "8"}
    ],
    "erp/adjustments.csv": [],
    "wms/products.csv": [{"sku": "WMUG1", "name": "Mug"}, {"sku": "GIFT", "name": "Gift wrap"}],
    "wms/orders.csv": [
        _order("X1", "dispatched", "E1", net_total=None, tax_total=None, gross_total=None),
        _order("X2", "in_progress", "E2a", net_total=None, tax_total=None, gross_total=None),
    ],
    "wms/order_lines.csv": [
        _line("X1", "WMUG1", 1),
        _line("X1", "GIFT", 1, 2),
        _line("X2", "WMUG1", 1),
    ],
    "wms/shipments.csv": [
        {
            "order_ref": "X1",
            "shipment_ref": "P1",
            "sku": "WMUG1",
            "quantity": "1",
            "carrier": "",
            "service_code": "WHSTD48",
            "tracking_number": "",
            "dispatched_at": "2026-11-29T15:00:00Z",
        }
    ],
    "wms/stock.csv": [
        {"sku": "WMUG1", "location": "A1", "on_hand": "5", "allocated": "0", "available": "5"},
        {"sku": "WMUG1", "location": "B2", "on_hand": "2", "allocated": "1", "available": "1"},
    ],
    "wms/adjustments.csv": [
        {
            "adjustment_ref": "WA1",
            "sku": "WMUG1",
            "delta": "-1",
            "reason": "Damaged",
            "occurred_at": "2026-11-29T12:00:00Z",
        }
    ],
}
CONFIG = {"shipping_methods": {"Next Day Delivery": "WHNDAY", "Standard Delivery": "WHSTD48"}}


def reconcile_world(tmp_path: Path) -> ReconciliationRun:
    """Write the world as a bundle, reconcile and save it; the run that recorded its exceptions."""
    root = write_bundle_dir(
        tmp_path / "evidence-world",
        systems={"store": "woocommerce", "erp": "prima", "wms": "whistl"},
        files=FILES,
        config=CONFIG,
        sku_map=[{"role": "wms", "sku": "WMUG1", "canonical_sku": "MUG1"}],
    )
    run, _ = reconcile_bundle_object(read_bundle(root), source="bundle", source_name="evidence")
    assert run is not None
    return run
