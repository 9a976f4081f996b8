"""The close checklist: Finance and Admin tick it, with who/when; everyone else changes nothing."""

from __future__ import annotations

from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reconciliation.models import (
    MonthEndCheck,
    MonthEndCheckEvent,
    MonthEndClose,
    ReconciliationRun,
)
from reconciliation.models.month_end import AppendOnlyError
from reconciliation.runs import reconcile_path
from tests.reconciliation.month_end_bundle import write_world

pytestmark = pytest.mark.django_db
URL = "/month-end/2026-11/checklist/"


@pytest.fixture
def run(tmp_path: Path) -> ReconciliationRun:
    found, _ = reconcile_path(write_world(tmp_path / "world"))
    assert found is not None
    return found


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def state() -> list[tuple[Any, ...]]:
    """Everything the checklist has stored, to compare before and after a refused request."""
    return [
        *MonthEndClose.objects.values_list("month", "system_set"),
        *MonthEndCheck.objects.values_list("item", "ticked", "changed_by", "changed_at", "run"),
        *MonthEndCheckEvent.objects.values_list("entry", "ticked", "actor", "at", "run"),
    ]


def test_finance_ticks_an_item_and_the_page_says_who_and_when(
    run: ReconciliationRun, finance_user: Any
) -> None:
    client = client_for(finance_user)

    response = client.post(URL, {"item": "vat_reviewed", "ticked": "1"})

    assert response.status_code == 302
    assert response["Location"].endswith("#checklist")
    check = MonthEndCheck.objects.get()
    assert (check.item, check.ticked, check.changed_by, check.run) == (
        "vat_reviewed",
        True,
        finance_user,
        run,
    )
    assert (check.close.month.isoformat(), check.close.system_set) == (
        "2026-11-01",
        "store=woocommerce erp=prima wms=whistl",
    )
    event = MonthEndCheckEvent.objects.get()
    assert (event.entry, event.ticked, event.actor, event.at, event.run) == (
        check,
        True,
        finance_user,
        check.changed_at,
        run,
    )
    page = unescape(client.get(response["Location"]).text)
    assert f"ticked by Fiona on {check.changed_at:%-d %b %Y}" in page
    assert "“VAT variances reviewed: rounding written off, amounts corrected” ticked at" in page


def test_unticking_is_recorded_too(
    run: ReconciliationRun, finance_user: Any, admin_user: Any
) -> None:
    client_for(finance_user).post(URL, {"item": "stock_reviewed", "ticked": "1"})
    client_for(admin_user).post(URL, {"item": "stock_reviewed", "ticked": "0"})

    check = MonthEndCheck.objects.get()
    assert (check.ticked, check.changed_by) == (False, admin_user)
    assert list(MonthEndCheckEvent.objects.values_list("ticked", "actor")) == [
        (True, finance_user.pk),
        (False, admin_user.pk),
    ]


def test_ticking_a_ticked_item_again_changes_nothing(
    run: ReconciliationRun, finance_user: Any
) -> None:
    client = client_for(finance_user)
    client.post(URL, {"item": "totals_reviewed", "ticked": "1"})
    before = state()
    client.post(URL, {"item": "totals_reviewed", "ticked": "1"})
    assert state() == before


@pytest.mark.parametrize("role", ["ops_user", "cx_user", "warehouse_user"])
def test_others_may_not_tick_and_nothing_changes(
    request: pytest.FixtureRequest, run: ReconciliationRun, finance_user: Any, role: str
) -> None:
    client_for(finance_user).post(URL, {"item": "vat_reviewed", "ticked": "1"})
    before = state()

    client = client_for(request.getfixturevalue(role))
    response = client.post(URL, {"item": "vat_reviewed", "ticked": "0"})

    assert response.status_code == 403
    assert state() == before


def test_ops_sees_the_checklist_without_buttons(run: ReconciliationRun, ops_user: Any) -> None:
    page = client_for(ops_user).get("/month-end/2026-11/").text
    assert "Close checklist" in page
    assert 'action="/month-end/2026-11/checklist/"' not in page
    assert "Finance ticks the checklist; you can see it." in page


def test_an_unknown_item_is_refused_by_name(run: ReconciliationRun, finance_user: Any) -> None:
    response = client_for(finance_user).post(URL, {"item": "books_balanced", "ticked": "1"})
    assert response.status_code == 400
    assert "'books_balanced' is not an item of the close checklist" in unescape(response.text)
    assert state() == []


def test_a_month_without_figures_cannot_be_ticked(
    run: ReconciliationRun, finance_user: Any
) -> None:
    response = client_for(finance_user).post(
        "/month-end/2026-10/checklist/", {"item": "vat_reviewed", "ticked": "1"}
    )
    assert response.status_code == 404
    assert state() == []


def test_it_takes_a_post_with_a_csrf_token(run: ReconciliationRun, finance_user: Any) -> None:
    assert client_for(finance_user).get(URL).status_code == 405
    strict = client_for(finance_user, enforce_csrf_checks=True)
    assert strict.post(URL, {"item": "vat_reviewed", "ticked": "1"}).status_code == 403
    assert state() == []


def test_events_are_append_only(run: ReconciliationRun, finance_user: Any) -> None:
    client_for(finance_user).post(URL, {"item": "vat_reviewed", "ticked": "1"})
    event = MonthEndCheckEvent.objects.get()
    event.ticked = False
    with pytest.raises(AppendOnlyError):
        event.save()


def test_a_tick_against_older_figures_is_flagged(
    run: ReconciliationRun, finance_user: Any, tmp_path: Path
) -> None:
    client = client_for(finance_user)
    client.post(URL, {"item": "vat_reviewed", "ticked": "1"})
    later, _ = reconcile_path(write_world(tmp_path / "later", "2026-11-30T23:59:30Z"))
    assert later is not None

    page = client.get("/month-end/2026-11/").text
    assert f"against run {run.pk}: the figures have changed since" in page
