"""reconciliation.finance: the month-end figures and their records, from a run's exceptions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from reconciliation.bundle import read_bundle
from reconciliation.engine import reconcile
from reconciliation.finance import finance_figures, finance_items
from tests.reconciliation.month_end_bundle import write_world

AS_OF = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return reconcile(read_bundle(write_world(tmp_path_factory.mktemp("w") / "b"))).exceptions


def test_each_finance_rule_gives_its_records(found: pd.DataFrame) -> None:
    items = finance_items(found, AS_OF)

    assert sorted((i.figure, i.rule, i.key, i.kind, i.amount, i.units) for i in items) == [
        ("adjustments", "ADJUSTMENT_NOT_POSTED", "WA1", "", Decimal("2.50"), 1),
        ("dispatched_not_posted", "DISPATCH_NOT_POSTED", "W2", "", Decimal("60.00"), None),
        ("not_in_store", "STORE_NOT_UPDATED", "W3", "", Decimal("48.00"), None),
        ("stock_drift", "STOCK_DRIFT", "MUG", "mixed", Decimal("12.00"), 3),
        ("stock_drift", "STOCK_DRIFT", "TEE", "explained", Decimal("2.50"), -1),
        ("tax", "TAX_MISMATCH", "W4", "rounding", Decimal("0.01"), None),
        ("tax", "TAX_MISMATCH", "W5", "amount", Decimal("-2.00"), None),
        ("total", "TOTAL_MISMATCH", "W6", "", Decimal("-5.00"), None),
    ]


def test_records_carry_the_columns_finance_reads(found: pd.DataFrame) -> None:
    by_key = {item.key: item for item in finance_items(found, AS_OF)}

    # W2 was dispatched 14 h before as_of (20 h after placing, less 6 h) and is not posted.
    assert by_key["W2"].occurred_at == datetime(2026, 11, 30, 9, 59, tzinfo=UTC)
    assert by_key["W2"].reference == "E2"
    assert by_key["W2"].data == {
        "order": "W2",
        "warehouse_order": "H2",
        "posting_system": "Prima",
        "posting_order": "E2",
        "posting_status": "released",
        "dispatched_at": "2026-11-30T09:59:00Z",
        "gross_total": "60.00",
    }
    assert by_key["W5"].data == {
        "order": "W5",
        "kind": "amount",
        "store_vat": "20.00",
        "erp_vat": "18.00",
        "difference": "-2.00",
    }
    assert by_key["W6"].data["difference"] == "-5.00"  # signed: the ERP has less
    assert by_key["MUG"].data == {
        "sku": "MUG",
        "erp_on_hand": 100,
        "wms_on_hand": 97,
        "diff": 3,
        "explained_units": 1,
        "unexplained_units": 2,
        "unit_cost": "4.00",
        "explained_value": "4.00",
        "unexplained_value": "8.00",
    }
    assert by_key["WA1"].data == {
        "adjustment": "WA1",
        "sku": "TEE",
        "delta": 1,
        "reason": "Found in returns",
        "occurred_at": "2026-11-29T11:59:00Z",
        "value_at_cost": "2.50",
    }


def test_the_figures_are_sums_of_the_records(found: pd.DataFrame) -> None:
    figures = finance_figures(finance_items(found, AS_OF), {"finance": 6, "warehouse": 2})

    assert figures == {
        "dispatched_not_posted": {"count": 1, "gross": "60.00"},
        "not_in_store": {"count": 1, "gross": "48.00"},
        "tax": {
            "count": 2,
            "net": "-1.99",
            "absolute": "2.01",
            "rounding": {"count": 1, "net": "0.01", "absolute": "0.01"},
            "amount": {"count": 1, "net": "-2.00", "absolute": "2.00"},
        },
        "total": {"count": 1, "net": "-5.00", "absolute": "5.00"},
        "stock_drift": {
            "count": 2,
            "explained_count": 2,
            "unexplained_count": 1,
            "explained_units": 2,
            "unexplained_units": 2,
            "explained_value": "6.50",
            "unexplained_value": "8.00",
            "uncosted": 0,
        },
        "adjustments": {"count": 1, "units": 1, "value": "2.50"},
        "unresolved_by_team": {"finance": 6, "warehouse": 2},
        "unresolved": 8,
    }


def test_no_exceptions_is_all_zero(found: pd.DataFrame) -> None:
    figures = finance_figures(finance_items(found.iloc[0:0], AS_OF), {})
    assert figures["tax"] == {
        "count": 0,
        "net": "0.00",
        "absolute": "0.00",
        "rounding": {"count": 0, "net": "0.00", "absolute": "0.00"},
        "amount": {"count": 0, "net": "0.00", "absolute": "0.00"},
    }
    assert figures["stock_drift"]["explained_value"] == "0.00"
    assert figures["unresolved"] == 0
