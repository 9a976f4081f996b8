"""Month-end exports: the summary and records as CSV, everything as XLSX, formulas neutralised."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.test import Client

from reconciliation.exports import neutralise
from reconciliation.models import ReconciliationRun
from reconciliation.runs import reconcile_path
from tests.reconciliation.month_end_bundle import write_world

pytestmark = pytest.mark.django_db
EVIL = '=HYPERLINK("http://evil.example","x")'


def reconciled(tmp_path: Path, **kwargs: str) -> ReconciliationRun:
    run, _ = reconcile_path(write_world(tmp_path / "world", **kwargs))
    assert run is not None
    return run


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def test_the_summary_csv_has_a_line_per_figure(tmp_path: Path, finance_user: Any) -> None:
    reconciled(tmp_path)

    response = client_for(finance_user).get("/month-end/2026-11/summary.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="month-end-2026-11-woocommerce-prima-whistl.csv"'
    )
    lead = ["2026-11", "WooCommerce → Prima → Whistl"]
    assert rows(response.content) == [
        ["Month", "Systems", "Figure", "Count", "Units", "Amount (GBP)", "Absolute (GBP)", "Note"],
        [*lead, "Orders dispatched but not posted in the ERP", "1", "", "60.00", "", "gross value of the orders"],
        [*lead, "Dispatches not yet visible in the store", "1", "", "48.00", "", "gross value of the orders"],
        [*lead, "VAT variances: rounding", "1", "", "0.01", "0.01", "ERP − store; a penny or so per line"],
        [*lead, "VAT variances: amount", "1", "", "-2.00", "2.00", "ERP − store; more than rounding explains"],
        [*lead, "Total variances (net, shipping or discount)", "1", "", "-5.00", "5.00", "ERP − store, VAT excluded"],
        [*lead, "Stock drift at cost: explained by postings not yet made", "2", "2", "6.50", "", "SKUs; units and value at unit cost"],
        [*lead, "Stock drift at cost: unexplained", "1", "2", "8.00", "", "SKUs; units and value at unit cost"],
        [*lead, "Stock adjustments not posted in the ERP", "1", "1", "2.50", "", "units (net delta) and value at unit cost"],
        [*lead, "Unresolved exceptions at close: CX", "1", "", "", "", "links to the queue as it is now"],
        [*lead, "Unresolved exceptions at close: Finance", "5", "", "", "", "links to the queue as it is now"],
        [*lead, "Unresolved exceptions at close: Ops", "1", "", "", "", "links to the queue as it is now"],
        [*lead, "Unresolved exceptions at close: Warehouse", "2", "", "", "", "links to the queue as it is now"],
    ]  # fmt: skip


def test_a_figures_records_csv(tmp_path: Path, finance_user: Any) -> None:
    reconciled(tmp_path)

    response = client_for(finance_user).get("/month-end/2026-11/stock_drift.csv")

    assert rows(response.content) == [
        [
            "SKU",
            "ERP on hand",
            "Warehouse on hand",
            "Difference",
            "Explained units",
            "Unexplained units",
            "Unit cost",
            "Explained value",
            "Unexplained value",
        ],
        ["MUG", "100", "97", "3", "1", "2", "4.00", "4.00", "8.00"],
        ["TEE", "50", "51", "-1", "-1", "0", "2.50", "2.50", "0.00"],
    ]


def test_the_xlsx_has_the_summary_the_records_and_the_checklist(
    tmp_path: Path, finance_user: Any
) -> None:
    run = reconciled(tmp_path)
    client = client_for(finance_user)
    client.post("/month-end/2026-11/checklist/", {"item": "vat_reviewed", "ticked": "1"})

    response = client.get("/month-end/2026-11/month-end.xlsx")

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Summary",
        "Dispatched not posted",
        "Not in store",
        "VAT variances",
        "Total variances",
        "Stock drift",
        "Adjustments not posted",
        "Checklist",
    ]
    summary = [list(r) for r in book["Summary"].iter_rows(values_only=True)]
    assert summary[0][0] == "Month-end 2026-11"
    assert summary[1][:2] == ["Systems", "WooCommerce → Prima → Whistl"]
    assert summary[2][:2] == ["Close run", f"run {run.pk}"]
    assert summary[3][:2] == ["Figures as of", datetime(2026, 11, 30, 23, 59)]
    assert summary[5][:2] == ["Exported by", "fiona"]
    assert summary[7] == ["Figure", "Count", "Units", "Amount (GBP)", "Absolute (GBP)", "Note"]
    assert summary[11][:5] == ["VAT variances: amount", 1, None, -2, 2]
    vat = [list(r) for r in book["VAT variances"].iter_rows(values_only=True)]
    assert vat == [
        ["Store order", "Kind", "Store VAT", "ERP VAT", "Difference (ERP − store)"],
        ["W5", "amount", 20, 18, -2],
        ["W4", "rounding", 10, 10.01, 0.01],
    ]
    dispatched = [list(r) for r in book["Dispatched not posted"].iter_rows(values_only=True)]
    assert dispatched[1] == [
        "W2",
        "H2",
        "Prima",
        "E2",
        "released",
        datetime(2026, 11, 30, 9, 59),
        60,
    ]
    assert book["VAT variances"]["E2"].number_format == "#,##0.00;-#,##0.00"
    checklist = [list(r) for r in book["Checklist"].iter_rows(values_only=True)]
    assert checklist[0] == ["Item", "Ticked", "Changed by", "Changed at", "Against run"]
    assert checklist[3][:3] == [
        "VAT variances reviewed: rounding written off, amounts corrected",
        "yes",
        "Fiona",
    ]
    assert checklist[3][4] == run.pk
    assert checklist[1][1:] == ["no", None, None, None]


def test_text_a_spreadsheet_would_run_is_neutralised(tmp_path: Path, finance_user: Any) -> None:
    reconciled(tmp_path, tee_ref=EVIL)
    client = client_for(finance_user)

    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/month-end/2026-11/month-end.xlsx").content)
    )
    cell = next(c for c in book["Stock drift"]["A"] if c.value == EVIL)
    assert cell.data_type == "s"  # text, not a formula
    assert cell.quotePrefix is True
    assert not any(
        c.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row
    )

    records = rows(client.get("/month-end/2026-11/stock_drift.csv").content)
    assert [r[0] for r in records if "HYPERLINK" in r[0]] == ["'" + EVIL]
    adjustments = rows(client.get("/month-end/2026-11/adjustments.csv").content)
    assert adjustments[1][1] == "'" + EVIL


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("WEB-1001", "WEB-1001"),
        ("", ""),
    ],
)
def test_neutralise(text: str, safe: str) -> None:
    assert neutralise(text) == safe


def test_numbers_stay_numbers_in_csv(tmp_path: Path, finance_user: Any) -> None:
    reconciled(tmp_path)
    tax = rows(client_for(finance_user).get("/month-end/2026-11/tax.csv").content)
    assert tax[1] == ["W5", "amount", "20.00", "18.00", "-2.00"]  # a negative amount, no apostrophe
    assert Decimal(tax[1][4]) == Decimal("-2.00")
