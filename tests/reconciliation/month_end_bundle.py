"""A small store → ERP → warehouse world where every month-end figure fires with known numbers.

    W1  clean: dispatched everywhere                      (lags only)
    W2  dispatched by the warehouse, ERP still released   DISPATCH_NOT_POSTED, gross 60.00
    W3  dispatched in the ERP, the store still open       STORE_NOT_UPDATED, gross 48.00
    W4  VAT 10.00 in the store, 10.01 in the ERP          TAX_MISMATCH rounding +0.01
    W5  VAT 20.00 in the store, 18.00 in the ERP          TAX_MISMATCH amount −2.00
    W6  gross 50.00 in the store, 45.00 in the ERP        TOTAL_MISMATCH −5.00
    W7  in progress in the warehouse for three days       STUCK_PRE_DISPATCH (an SLA breach)
    MUG (cost 4.00): ERP 100, warehouse 97; W2's mug not posted explains 1 → STOCK_DRIFT,
        1 unit explained (£4.00), 2 unexplained (£8.00)
    TEE (cost 2.50): ERP 50, warehouse 51; adjustment WA1 (+1) not posted explains it all →
        STOCK_DRIFT explained 1 (£2.50), and ADJUSTMENT_NOT_POSTED WA1, £2.50

Every dispatched order takes the same steps: at the warehouse 30 min after it was placed,
dispatched 6 h after, posted in the ERP 7 h after; so every lag percentile is exact.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from tests.bundles import write_bundle_dir

AS_OF = "2026-11-30T23:59:00Z"
SYSTEMS = {"store": "woocommerce", "erp": "prima", "wms": "whistl"}


def _at(as_of: pd.Timestamp, hours_before: float, plus_minutes: float = 0) -> str:
    moment = as_of - timedelta(hours=hours_before) + timedelta(minutes=plus_minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def world_files(as_of: str = AS_OF, *, tee_ref: str = "TEE") -> dict[str, list[dict[str, Any]]]:
    now = pd.Timestamp(as_of)
    # order -> (hours before as_of it was placed, store status, erp status, wms status,
    #           store gross/tax, erp gross/tax)
    orders: dict[str, tuple[float, str, str, str, tuple[str, str], tuple[str, str]]] = {
        "W1": (
            30,
            "dispatched",
            "dispatched",
            "dispatched",
            ("60.00", "10.00"),
            ("60.00", "10.00"),
        ),
        "W2": (20, "open", "released", "dispatched", ("60.00", "10.00"), ("60.00", "10.00")),
        "W3": (20, "open", "dispatched", "dispatched", ("48.00", "8.00"), ("48.00", "8.00")),
        "W4": (
            30,
            "dispatched",
            "dispatched",
            "dispatched",
            ("60.00", "10.00"),
            ("60.01", "10.01"),
        ),
        "W5": (
            30,
            "dispatched",
            "dispatched",
            "dispatched",
            ("120.00", "20.00"),
            ("118.00", "18.00"),
        ),
        "W6": (30, "dispatched", "dispatched", "dispatched", ("50.00", "8.33"), ("45.00", "8.33")),
        "W7": (72, "open", "released", "in_progress", ("30.00", "5.00"), ("30.00", "5.00")),
    }
    sku = {"W2": "MUG", "W7": "MUG"}
    files: dict[str, list[dict[str, Any]]] = {
        "store/orders.csv": [],
        "store/order_lines.csv": [],
        "erp/orders.csv": [],
        "erp/order_lines.csv": [],
        "wms/orders.csv": [],
        "wms/order_lines.csv": [],
        "wms/shipments.csv": [],
    }
    for ref, (hours, s_status, e_status, w_status, store_money, erp_money) in orders.items():
        placed = _at(now, hours)
        line_sku = sku.get(ref, "CAP")
        erp_ref, wms_ref = "E" + ref[1:], "H" + ref[1:]
        files["store/orders.csv"].append(
            {
                "order_ref": ref,
                "status": s_status,
                "placed_at": placed,
                "gross_total": store_money[0],
                "tax_total": store_money[1],
            }
        )
        files["erp/orders.csv"].append(
            {
                "order_ref": erp_ref,
                "source_ref": ref,
                "status": e_status,
                "placed_at": _at(now, hours, 5),
                # The ERP's last change: posting the dispatch, 7 h after the order was placed.
                "updated_at": _at(now, hours, 7 * 60) if e_status == "dispatched" else "",
                "gross_total": erp_money[0],
                "tax_total": erp_money[1],
            }
        )
        files["wms/orders.csv"].append(
            {
                "order_ref": wms_ref,
                "source_ref": erp_ref,
                "status": w_status,
                "placed_at": _at(now, hours, 30),
            }
        )
        for role, order_ref in (("store", ref), ("erp", erp_ref), ("wms", wms_ref)):
            files[f"{role}/order_lines.csv"].append(
                {"order_ref": order_ref, "line_no": "1", "sku": line_sku, "quantity": "1"}
            )
        if w_status == "dispatched":
            files["wms/shipments.csv"].append(
                {
                    "order_ref": wms_ref,
                    "shipment_ref": "P" + ref[1:],
                    "sku": line_sku,
                    "quantity": "1",
                    "carrier": "Royal Mail",
                    "tracking_number": "TRK" + ref[1:],
                    "dispatched_at": _at(now, hours, 6 * 60),
                }
            )
    products = [
        {"sku": "MUG", "name": "Mug", "unit_cost": "4.00"},
        {"sku": tee_ref, "name": "Tee", "unit_cost": "2.50"},
        {"sku": "CAP", "name": "Cap", "unit_cost": "3.00"},
    ]
    files["erp/products.csv"] = products
    files["wms/products.csv"] = products
    files["erp/stock.csv"] = [
        {"sku": "MUG", "on_hand": "100"},
        {"sku": tee_ref, "on_hand": "50"},
        {"sku": "CAP", "on_hand": "20"},
    ]
    files["wms/stock.csv"] = [
        {"sku": "MUG", "on_hand": "97"},
        {"sku": tee_ref, "on_hand": "51"},
        {"sku": "CAP", "on_hand": "20"},
    ]
    files["erp/adjustments.csv"] = []
    files["wms/adjustments.csv"] = [
        {
            "adjustment_ref": "WA1",
            "sku": tee_ref,
            "delta": "1",
            "reason": "Found in returns",
            "occurred_at": _at(now, 36),
        }
    ]
    return files


def write_world(root: Path, as_of: str = AS_OF, **kwargs: Any) -> Path:
    return write_bundle_dir(root, as_of=as_of, systems=SYSTEMS, files=world_files(as_of, **kwargs))
