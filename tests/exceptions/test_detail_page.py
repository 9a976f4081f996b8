"""One exception: /exceptions/<id>/ — its fields, details and history."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exceptions import actions, views
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


@pytest.mark.parametrize(("role", "queries"), [("cx", 7), ("ops", 8)])
def test_its_query_count_is_fixed(
    client: Client,
    exception: ExceptionRecord,
    cx_user: Any,
    ops_user: Any,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    queries: int,
) -> None:
    # The evidence panel pins its own queries (tests/exceptions/test_evidence*.py).
    monkeypatch.setattr(views, "_evidence", lambda record: None)
    client.force_login({"cx": cx_user, "ops": ops_user}[role])
    for number in range(5):  # more events: the same number of queries
        ExceptionEvent.objects.create(exception=exception, kind="commented", note=f"n{number}")

    # session, user, the exception (with assignee and runs), the user's permissions (user,
    # groups), their groups, its events (with actors and runs); for ops, the people to assign to.
    with django_assert_num_queries(queries):
        client.get(exception.get_absolute_url())


def buttons(html: str) -> set[str]:
    return set(re.findall(r'action="/exceptions/\d+/([a-z]+)/"', html))


@pytest.mark.parametrize(
    ("role", "owner", "status", "expected"),
    [
        ("warehouse", "office", "open", set()),
        ("warehouse", "warehouse", "open", {"acknowledge", "snooze", "resolve", "comment"}),
        ("cx", "office", "open", {"acknowledge", "snooze", "resolve", "comment"}),
        ("ops", "warehouse", "open", {"acknowledge", "snooze", "comment", "assign"}),
        ("ops", "office", "acknowledged", {"snooze", "resolve", "comment", "assign"}),
        (
            "ops",
            "office",
            "snoozed",
            {"acknowledge", "unsnooze", "snooze", "resolve", "comment", "assign"},
        ),
        ("ops", "office", "resolved", {"reopen", "comment", "assign"}),
        ("finance", "office", "dismissed", {"reopen", "comment"}),
    ],
)
def test_the_actions_panel_offers_only_what_the_user_may_do(
    client: Client,
    make_exception: Any,
    warehouse_user: Any,
    cx_user: Any,
    ops_user: Any,
    finance_user: Any,
    role: str,
    owner: str,
    status: str,
    expected: set[str],
) -> None:
    user = {"warehouse": warehouse_user, "cx": cx_user, "ops": ops_user, "finance": finance_user}
    exception = make_exception(owner=owner, status=status)
    client.force_login(user[role])

    html = client.get(exception.get_absolute_url()).content.decode()

    assert buttons(html) == expected
    if not expected:
        assert "its office side works it" in html


def test_the_timeline_tells_the_story(
    client: Client, make_exception: Any, ops_user: Any, cx_user: Any
) -> None:
    exception = make_exception(
        key="SO-1", times_seen=4, first_seen=T0, last_seen=T0 + timedelta(hours=3)
    )
    actions.acknowledge(exception, cx_user, now=T0 + timedelta(hours=1))
    actions.assign(exception, ops_user, "cx", cx_user, now=T0 + timedelta(hours=2))
    actions.comment(exception, cx_user, "Customer phoned", now=T0 + timedelta(hours=3))
    client.force_login(cx_user)

    html = client.get(exception.get_absolute_url()).content.decode()

    assert "Detected 2026-11-30 09:00, seen again 3 times since (last 2026-11-30 12:00)." in html
    story = [html.index(text) for text in ("Acknowledged", "Assigned", "Commented")]
    assert story == sorted(story)
    assert '<span class="change">— → cx · cass</span>' in html
    assert '<span class="actor">by otto</span>' in html
    assert "Customer phoned" in html


def test_the_evidence_panel_is_included_when_it_exists(
    client: Client, exception: ExceptionRecord, cx_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(cx_user)
    monkeypatch.setattr(views, "_evidence", lambda record: None)
    assert 'id="evidence"' not in client.get(exception.get_absolute_url()).content.decode()

    monkeypatch.undo()
    response = client.get(exception.get_absolute_url())
    assert response.context["evidence"] is not None
    assert 'id="evidence"' in response.content.decode()
