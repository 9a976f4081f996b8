"""One exception: /exceptions/<id>/ — its fields, details and history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exceptions.models import ExceptionEvent, ExceptionRecord
from exceptions.sync import record_exceptions
from tests.exceptions.conftest import T0, found_frame, found_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def exception(make_run: Any, ops_user: Any) -> ExceptionRecord:
    run = make_run()
    details = {
        "store_available": 12,
        "expected": 0,
        "ok": False,
        "lines": [{"sku": "MUG1", "quantity": 2}, {"sku": "TEA9", "quantity": 1, "note": None}],
        "systems": ["store", "wms"],
        "money": {"erp": "12.50", "store": "12.49"},
    }
    row = found_row("OVERSELL_RISK", "MUG1", priority="P1", details=details, team="ecommerce")
    record_exceptions(run, found_frame(row), None, now=T0)
    exc = ExceptionRecord.objects.get()
    ExceptionEvent.objects.create(
        exception=exc,
        kind="commented",
        actor=ops_user,
        note="Stock count booked for Monday",
        at=T0 + timedelta(hours=1),
    )
    return exc


def test_it_requires_login(client: Client, exception: ExceptionRecord) -> None:
    url = exception.get_absolute_url()

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_it_shows_the_fields_details_and_history(
    client: Client, exception: ExceptionRecord, cx_user: Any
) -> None:
    client.force_login(cx_user)

    response = client.get(exception.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="key">MUG1</span>' in html
    assert "Order MUG1 is not in the ERP" in html  # the summary
    assert '<span class="badge priority-p1">P1</span>\n  OVERSELL_RISK' in html
    assert "<td>P1 · act now <span" in html
    assert "<td>E-commerce</td>" in html
    assert "<td>store, erp</td>" in html
    # details: scalars as key/value rows, a list of records as a table, nested dicts nested
    assert '<th scope="row">store_available</th><td>12</td>' in html
    assert '<th scope="row">ok</th><td>no</td>' in html
    assert '<th scope="col">sku</th><th scope="col">quantity</th><th scope="col">note</th>' in html
    assert '<td>TEA9</td><td>1</td><td><span class="muted">—</span></td>' in html
    assert '<th scope="row">systems</th><td>store, wms</td>' in html
    assert '<th scope="row">erp</th><td>12.50</td>' in html
    # history, oldest first, the system and people named
    events = response.context["events"]
    assert [(e.kind, e.actor_label) for e in events] == [
        ("detected", "system"),
        ("commented", "otto"),
    ]
    assert "Stock count booked for Monday" in html
    assert html.index("Detected") < html.index("Commented")


def test_an_unknown_id_is_404(client: Client, cx_user: Any) -> None:
    client.force_login(cx_user)

    response = client.get(reverse("exceptions:detail", args=[999_999]))

    assert response.status_code == 404


def test_its_query_count_is_fixed(
    client: Client, exception: ExceptionRecord, cx_user: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(cx_user)

    # session, user, the exception (with assignee and runs), its events (with actors and runs).
    with django_assert_num_queries(4):
        client.get(exception.get_absolute_url())
