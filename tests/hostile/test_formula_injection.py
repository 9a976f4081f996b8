"""Text a spreadsheet would run as a formula (= + - @, a tab or carriage return first), arriving in
order refs, SKUs, adjustment reasons, usernames and mapping values, leaves every export neutralised:
the queue CSV (PostgreSQL's COPY), month-end summary and records CSV, the month-end workbook and
the mapping CSVs (which take the apostrophe back on import)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from exceptions import actions
from exceptions.models import ExceptionRecord
from integration.models import NonStockSku, ServiceCode, ShippingMethod, SkuAlias
from reconciliation.exports import FORMULA_STARTS
from tests.hostile.world import Text, reconcile_hostile

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'
# What arrives in a bundle -> what Parity stores (the bundle reader trims cells, so a leading
# tab is gone, and what is left still starts a formula).
ARRIVING = {
    HYPERLINK: HYPERLINK,
    "+1+1": "+1+1",
    "-2+3": "-2+3",
    "@SUM(A1)": "@SUM(A1)",
    "\t=1": "=1",
}


def signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def csv_rows(body: bytes | str) -> list[list[str]]:
    text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
    return list(csv.reader(io.StringIO(text, newline="")))


def streamed(response: Any) -> str:
    assert response.status_code == 200
    return b"".join(
        p if isinstance(p, bytes) else p.encode() for p in response.streaming_content
    ).decode()


@pytest.fixture(params=list(ARRIVING), ids=["hyperlink", "plus", "minus", "at", "tab"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The world with the text as a dispatched order's ref, a held order's ref (+ "8"), the
    drifting SKU and the adjustment's reason; returns the text as sent and as stored."""
    text = request.param
    reconcile_hostile(
        tmp_path, Text(dispatched_ref=text, order_ref=text + "8", sku=text, adjustment_reason=text)
    )
    return text, ARRIVING[text]


def test_the_queue_export_neutralises_keys_and_assignees(
    world: tuple[str, str], ops_user: Any, make_user: Any
) -> None:
    _, stored = world
    # Django's username rules allow + - @ first.
    plus = make_user("+1+1", group="Ops")
    actions.assign(ExceptionRecord.objects.get(rule="DISPATCH_NOT_POSTED"), ops_user, "ops", plus)

    rows = csv_rows(streamed(signed_in(ops_user).get("/exceptions/export.csv?team=")))
    header, body = rows[0], rows[1:]
    by_key = {(r[header.index("rule")], r[header.index("key")]): r for r in body}

    for rule, key in (
        ("DISPATCH_NOT_POSTED", stored),
        ("STOCK_DRIFT", stored),
        ("SKU_INVALID_FORMAT", stored),
        ("ORDER_HELD", stored + "8"),
        ("ADDRESS_INVALID", stored + "8"),
    ):
        assert (rule, "'" + key) in by_key, (rule, key)
    dispatch = by_key[("DISPATCH_NOT_POSTED", "'" + stored)]
    assert dispatch[header.index("assignee")] == "'+1+1"
    # No cell of any row starts a formula, except numbers (a score is never negative, but an
    # amount could be).
    for row in body:
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                Decimal(cell)


def test_month_end_csvs_neutralise_refs_skus_and_reasons(
    world: tuple[str, str], finance_user: Any
) -> None:
    sent, stored = world
    client = signed_in(finance_user)

    dispatched = csv_rows(client.get("/month-end/2026-11/dispatched_not_posted.csv").content)
    assert dispatched[1][:5] == ["'" + stored, "H-" + sent, "Prima", "E-" + sent, "released"]

    adjustments = csv_rows(client.get("/month-end/2026-11/adjustments.csv").content)
    assert adjustments[1][:4] == ["WA1", "'" + stored, "1", "'" + stored]

    drift = csv_rows(client.get("/month-end/2026-11/stock_drift.csv").content)
    assert sorted(row[0] for row in drift[1:]) == sorted(["'" + stored, "MUG"])

    summary = csv_rows(client.get("/month-end/2026-11/summary.csv").content)
    for row in summary[1:]:
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                Decimal(cell)  # a negative amount is a number, not text to neutralise


def test_the_month_end_workbook_stores_them_as_quoted_text(
    world: tuple[str, str], finance_user: Any
) -> None:
    _, stored = world
    response = signed_in(finance_user).get("/month-end/2026-11/month-end.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.content))

    cells = {
        "Dispatched not posted": book["Dispatched not posted"]["A2"],
        "Adjustments sku": book["Adjustments not posted"]["B2"],
        "Adjustments reason": book["Adjustments not posted"]["D2"],
        "Stock drift": next(c for c in book["Stock drift"]["A"][1:] if c.value != "MUG"),
    }
    for name, cell in cells.items():
        assert (cell.value, cell.data_type, cell.quotePrefix) == (stored, "s", True), name
    assert not any(
        c.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row
    )


def test_mapping_csv_exports_neutralise_and_import_takes_the_values_back(ops_user: Any) -> None:
    SkuAlias.objects.create(role="wms", sku=HYPERLINK, canonical_sku="-2+3")
    NonStockSku.objects.create(sku="@SUM(A1)", description="\r=1")
    NonStockSku.objects.create(sku="GIFT", description="\t=1")
    ShippingMethod.objects.create(name="+1+1", service=ServiceCode.objects.create(code="=1"))
    client = signed_in(ops_user)

    aliases = client.get("/mappings/csv/sku_aliases.csv").content.decode()
    non_stock = client.get("/mappings/csv/non_stock.csv").content.decode()
    shipping = client.get("/mappings/csv/shipping.csv").content.decode()

    assert csv_rows(aliases) == [
        ["role", "sku", "canonical_sku"],
        ["wms", "'" + HYPERLINK, "'-2+3"],
    ]
    assert csv_rows(non_stock) == [
        ["sku", "description"],
        ["'@SUM(A1)", "'\r=1"],
        ["GIFT", "'\t=1"],
    ]
    assert csv_rows(shipping) == [
        ["shipping_method", "service_code", "express"],
        ["'+1+1", "'=1", "false"],
    ]

    for table, body in (("sku_aliases", aliases), ("non_stock", non_stock)):
        upload = SimpleUploadedFile(f"{table}.csv", body.encode(), content_type="text/csv")
        response = client.post(f"/mappings/csv/{table}/import/", {"file": upload})
        told = [str(m) for m in get_messages(response.wsgi_request)]
        assert any("0 added, 0 changed, 0 removed" in m for m in told), told
    assert list(SkuAlias.objects.values_list("sku", "canonical_sku")) == [(HYPERLINK, "-2+3")]
    assert sorted(NonStockSku.objects.values_list("sku", "description")) == [
        ("@SUM(A1)", "\r=1"),
        ("GIFT", "\t=1"),
    ]
