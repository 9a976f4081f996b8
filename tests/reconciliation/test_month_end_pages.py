"""The month-end pages: who may see them, the figures, the records behind each, bad input."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exceptions.models import ExceptionRecord
from reconciliation.models import ReconciliationRun
from reconciliation.runs import reconcile_path
from tests.reconciliation.month_end_bundle import write_world

pytestmark = pytest.mark.django_db
SET = "store=woocommerce erp=prima wms=whistl"


@pytest.fixture
def run(tmp_path: Path) -> ReconciliationRun:
    found, _ = reconcile_path(write_world(tmp_path / "world"))
    assert found is not None
    return found


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cells(html: str, figure: str) -> list[str]:
    """The text of a figure row's cells, stripped of tags."""
    row = re.search(rf'<tr data-figure="{figure}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {figure}"
    return [
        re.sub(r"<[^>]+>|\s+", " ", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row[1], re.S)
    ]


@pytest.mark.parametrize("role", ["finance_user", "ops_user", "admin_user"])
def test_finance_ops_and_admin_see_month_end(
    request: pytest.FixtureRequest, run: ReconciliationRun, role: str
) -> None:
    response = client_for(request.getfixturevalue(role)).get("/month-end/2026-11/")
    assert response.status_code == 200
    assert "Month-end · November 2026" in response.text


@pytest.mark.parametrize("role", ["cx_user", "warehouse_user"])
def test_cx_and_warehouse_may_not(
    request: pytest.FixtureRequest, run: ReconciliationRun, role: str
) -> None:
    client = client_for(request.getfixturevalue(role))
    for url in (
        "/month-end/",
        "/month-end/2026-11/",
        "/month-end/2026-11/tax/",
        "/month-end/2026-11/tax.csv",
        "/month-end/2026-11/summary.csv",
        "/month-end/2026-11/month-end.xlsx",
    ):
        assert client.get(url).status_code == 403, url
    assert 'href="/month-end/"' not in client.get("/").text  # nor is it in their menu


def test_signing_in_is_required(run: ReconciliationRun) -> None:
    response = Client().get("/month-end/2026-11/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_index_opens_the_latest_month(run: ReconciliationRun, finance_user: Any) -> None:
    response = client_for(finance_user).get("/month-end/")
    assert response.status_code == 302
    assert response["Location"] == "/month-end/2026-11/"


def test_the_month_picker_goes_to_the_month_chosen(
    run: ReconciliationRun, finance_user: Any
) -> None:
    client = client_for(finance_user)
    response = client.get("/month-end/", {"month": "2026-10", "systems": SET})
    assert (
        response["Location"]
        == "/month-end/2026-10/?systems=store%3Dwoocommerce+erp%3Dprima+wms%3Dwhistl"
    )
    bad = client.get("/month-end/", {"month": "October"})
    assert bad.status_code == 400
    assert "'October' is not a month: use YYYY-MM" in unescape(bad.text)


def test_with_no_runs_it_says_so(finance_user: Any) -> None:
    response = client_for(finance_user).get("/month-end/")
    assert response.status_code == 200
    assert "No reconciliation run has completed yet" in response.text


def test_the_page_shows_each_figure_with_its_records(
    run: ReconciliationRun, finance_user: Any
) -> None:
    html = client_for(finance_user).get("/month-end/2026-11/").text

    assert "WooCommerce → Prima → Whistl" in html
    assert f"Figures from run {run.pk}, data as of 30 Nov 2026 23:59" in html
    assert cells(html, "dispatched_not_posted")[:6] == [
        "Orders dispatched but not posted in the ERP",
        "1",
        "",
        "60.00",
        "",
        "gross value of the orders",
    ]
    assert cells(html, "tax_rounding")[1:5] == ["1", "", "0.01", "0.01"]
    assert cells(html, "tax_amount")[1:5] == ["1", "", "-2.00", "2.00"]
    assert cells(html, "total")[1:5] == ["1", "", "-5.00", "5.00"]
    assert cells(html, "drift_explained")[1:4] == ["2", "2", "6.50"]
    assert cells(html, "drift_unexplained")[1:4] == ["1", "2", "8.00"]
    assert cells(html, "adjustments")[1:4] == ["1", "1", "2.50"]
    assert cells(html, "unresolved_finance")[1] == "5"
    # Drill-downs: the records of a figure (with its kinds), or the queue for a team.
    assert (
        "/month-end/2026-11/tax/?systems=store%3Dwoocommerce%20erp%3Dprima%20wms%3Dwhistl&amp;kind=amount"
        in html
    )
    assert (
        "/exceptions/?status=open&amp;status=acknowledged&amp;status=snoozed&amp;team=finance"
        in html
    )


def test_a_month_without_runs_or_an_unknown_set_is_404_naming_it(
    run: ReconciliationRun, finance_user: Any
) -> None:
    client = client_for(finance_user)
    response = client.get("/month-end/2026-10/")
    assert response.status_code == 404
    assert "No completed run in October 2026." in response.text
    response = client.get("/month-end/2026-11/", {"systems": "store=magento"})
    assert response.status_code == 404
    assert "No completed run in November 2026 for the systems 'store=magento'." in unescape(
        response.text
    )
    response = client.get("/month-end/2026-13/")
    assert response.status_code == 404
    assert "'2026-13' is not a month" in unescape(response.text)
    response = client.get("/month-end/2026-11/refunds/")
    assert response.status_code == 404
    assert "'refunds' is not a month-end figure." in unescape(response.text)


def test_records_list_each_figures_rows_with_their_evidence(
    run: ReconciliationRun, finance_user: Any
) -> None:
    client = client_for(finance_user)
    response = client.get("/month-end/2026-11/dispatched_not_posted/", {"systems": SET})
    assert response.status_code == 200
    w2 = ExceptionRecord.objects.get(rule="DISPATCH_NOT_POSTED", key="W2")
    html = response.text
    assert "Dispatched but not posted" in html
    assert f'<a href="/exceptions/{w2.pk}/">DISPATCH_NOT_POSTED W2</a>' in html
    for text in ("H2", "Prima", "E2", "released", "2026-11-30 09:59", "60.00"):
        assert f">{text}<" in html, text


def test_records_filter_by_kind_and_reference(run: ReconciliationRun, finance_user: Any) -> None:
    client = client_for(finance_user)
    amount = client.get("/month-end/2026-11/tax/", {"kind": "amount"}).text
    assert "TAX_MISMATCH W5" in amount
    assert "TAX_MISMATCH W4" not in amount
    both = client.get("/month-end/2026-11/tax/").text
    assert "TAX_MISMATCH W5" in both
    assert "TAX_MISMATCH W4" in both
    mixed = client.get("/month-end/2026-11/stock_drift/", {"kind": "mixed"}).text
    assert "STOCK_DRIFT MUG" in mixed
    assert "STOCK_DRIFT TEE" not in mixed
    search = client.get("/month-end/2026-11/stock_drift/", {"q": "te"}).text
    assert "STOCK_DRIFT TEE" in search
    assert "STOCK_DRIFT MUG" not in search
    wrong = client.get("/month-end/2026-11/tax/", {"kind": "unexplained"})
    assert wrong.status_code == 200
    assert "Select a valid choice. unexplained is not one of the available choices." in wrong.text
    assert "TAX_MISMATCH" not in wrong.text


def test_the_month_page_takes_a_fixed_number_of_queries(
    run: ReconciliationRun, finance_user: Any, django_assert_num_queries: Any
) -> None:
    client = client_for(finance_user)
    client.get("/month-end/2026-11/")  # warm: content types, permissions cache
    # session, user, permissions (user's, groups'), close run, checklist, months, sets
    with django_assert_num_queries(8):
        assert client.get("/month-end/2026-11/").status_code == 200


def test_the_records_page_takes_a_fixed_number_of_queries(
    run: ReconciliationRun, finance_user: Any, django_assert_num_queries: Any
) -> None:
    client = client_for(finance_user)
    # session, user, permissions (2), close run, count, rows, evidence links
    with django_assert_num_queries(8):
        assert client.get("/month-end/2026-11/stock_drift/").status_code == 200
