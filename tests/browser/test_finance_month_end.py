"""Finance's month-end in a real browser: overview, month-end figures, a drill-down, the close
checklist, and the XLSX download opened and checked. Screenshots of the overview and month-end."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from django.contrib.auth.models import AbstractUser

from reconciliation.metrics import set_label
from reconciliation.models import MonthEndCheck, MonthEndItem, ReconciliationRun, RunMetrics


def test_finance_closes_the_month_and_downloads_the_workbook(
    page: Any,
    url: Callable[[str], str],
    demo_world: ReconciliationRun,
    finance_user: AbstractUser,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
    tmp_path: Path,
) -> None:
    metrics = RunMetrics.objects.get(run=demo_world)
    month = f"{metrics.month:%Y-%m}"
    login_as(page, finance_user)

    # The overview is the home page: systems, flows and the four charts drawn by plotly.js.
    page.goto(url("/"))
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator(".flow").count() == 4
    page.wait_for_selector("#chart-top-skus .main-svg")
    assert page.locator(".js-plotly-plot").count() == 4
    screenshot(page, "dashboard")

    # Month-end from the navigation: the demo's month, its systems and its figures.
    page.get_by_role("link", name="Month-end", exact=True).click()
    page.wait_for_url(re.compile(rf"/month-end/{month}/"))
    assert page.locator("h1").inner_text() == f"Month-end · {metrics.month:%B %Y}"
    assert set_label(metrics.systems) in page.locator(".lead").inner_text()
    vat_amount = metrics.finance["tax"]["amount"]
    row = page.locator('tr[data-figure="tax_amount"] td')
    assert row.nth(0).inner_text() == str(vat_amount["count"])
    assert Decimal(row.nth(2).inner_text().replace(",", "")) == Decimal(vat_amount["net"])
    screenshot(page, "month-end")

    # A figure drills down to its records, each linking to the exception's evidence.
    drift = metrics.finance["stock_drift"]
    page.locator('tr[data-figure="drift_unexplained"] a').click()
    page.wait_for_url(re.compile(r"/stock_drift/"))
    assert page.locator("h1").inner_text() == "Stock drift at cost"
    assert page.locator("tbody tr").count() == drift["unexplained_count"]
    assert page.locator("tbody tr a[href^='/exceptions/']").count() == drift["unexplained_count"]
    page.go_back()

    # Finance ticks an item of the close checklist: who and when are shown.
    page.get_by_role("button", name=re.compile(r"^Tick: VAT variances reviewed")).click()
    page.wait_for_selector('li.is-ticked[data-item="vat_reviewed"]')
    who = page.locator('li[data-item="vat_reviewed"] .check-who').inner_text()
    assert who.startswith("ticked by Fiona on ")
    check = MonthEndCheck.objects.get(item="vat_reviewed")
    assert (check.ticked, check.changed_by_id, check.run_id) == (
        True,
        finance_user.pk,
        demo_world.pk,
    )

    # The workbook: downloaded by the browser, opened and checked against the stored figures.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download XLSX").click()
    download = download_info.value
    assert download.suggested_filename == f"month-end-{month}-woocommerce-prima-whistl.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = openpyxl.load_workbook(saved)
    summary = {r[0]: r[1:5] for r in book["Summary"].iter_rows(min_row=9, values_only=True) if r[0]}
    assert summary["VAT variances: amount"] == (
        vat_amount["count"],
        None,
        float(vat_amount["net"]),
        float(vat_amount["absolute"]),
    )
    assert summary["Stock drift at cost: unexplained"][:3] == (
        drift["unexplained_count"],
        drift["unexplained_units"],
        float(drift["unexplained_value"]),
    )
    dispatched = list(book["Dispatched not posted"].iter_rows(min_row=2, values_only=True))
    expected = MonthEndItem.objects.filter(run=demo_world, figure="dispatched_not_posted")
    assert sorted(r[0] for r in dispatched) == sorted(expected.values_list("key", flat=True))
    checklist = {r[0]: r[1:3] for r in book["Checklist"].iter_rows(min_row=2, values_only=True)}
    assert checklist[check.get_item_display()] == ("yes", "Fiona")
    assert not any(
        c.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row
    )
