"""Bulk actions from the queue: choose → confirmation with the count (nothing changed) → done in
one transaction; a selection that changed in between is shown again, not applied."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions.models import ExceptionEvent, ExceptionRecord

pytestmark = pytest.mark.django_db

URL = reverse("exceptions:bulk")


@pytest.fixture
def rows(make_exception: Callable[..., ExceptionRecord]) -> list[ExceptionRecord]:
    """Three open warehouse exceptions, one acknowledged, two office ones, one resolved."""
    made = [
        make_exception(rule="STOCK_DRIFT", key=f"W{n}", owner="warehouse", team="warehouse")
        for n in range(3)
    ]
    made.append(
        make_exception(
            rule="STOCK_DRIFT", key="W3", owner="warehouse", team="warehouse", status="acknowledged"
        )
    )
    made += [make_exception(key=f"O{n}") for n in range(2)]
    made.append(
        make_exception(
            rule="STOCK_DRIFT", key="W9", owner="warehouse", team="warehouse", status="resolved"
        )
    )
    return made


def statuses() -> dict[str, str]:
    return dict(ExceptionRecord.objects.values_list("key", "status"))


def test_step_one_shows_the_count_and_changes_nothing(
    client: Client, ops_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(ops_user)
    before = statuses()

    response = client.post(
        URL, {"action": "acknowledge", "scope": "all", "filter": "team=&owner=warehouse"}
    )

    assert response.status_code == 200
    assert response.context["total"] == 4
    html = response.content.decode()
    assert "All <strong>4</strong> exceptions matching this filter" in html
    assert "Owner: Warehouse" in html
    assert '<input type="hidden" name="expected" value="4">' in html
    assert statuses() == before
    assert not ExceptionEvent.objects.exists()


def test_step_two_applies_it_in_one_go_and_reports(
    client: Client, ops_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(ops_user)
    form = {"action": "acknowledge", "scope": "all", "filter": "team=&owner=warehouse"}

    response = client.post(URL, {**form, "confirm": "on", "expected": "4"}, follow=True)

    assert response.redirect_chain == [
        (f"{reverse('exceptions:queue')}?team=&owner=warehouse", 302)
    ]
    assert "Acknowledge: 3 changed, 1 already so." in response.content.decode()
    assert statuses() == {
        "W0": "acknowledged",
        "W1": "acknowledged",
        "W2": "acknowledged",
        "W3": "acknowledged",
        "O0": "open",
        "O1": "open",
        "W9": "resolved",
    }
    assert ExceptionEvent.objects.filter(kind="acknowledged", actor=ops_user).count() == 3

    # The same confirmation posted again (a double submit) changes nothing more.
    client.post(URL, {**form, "confirm": "on", "expected": "4"})
    assert ExceptionEvent.objects.count() == 3


def test_a_selection_that_changed_is_shown_again_not_applied(
    client: Client,
    ops_user: Any,
    rows: list[ExceptionRecord],
    make_exception: Callable[..., ExceptionRecord],
) -> None:
    client.force_login(ops_user)
    make_exception(rule="STOCK_DRIFT", key="W-new", owner="warehouse", team="warehouse")

    response = client.post(
        URL,
        {
            "action": "acknowledge",
            "scope": "all",
            "filter": "team=&owner=warehouse",
            "confirm": "on",
            "expected": "4",
        },
    )

    assert response.status_code == 409
    assert response.context["total"] == 5
    assert "5 exceptions match now, not 4" in response.content.decode()
    assert not ExceptionEvent.objects.exists()


def test_bulk_assign_the_ticked_rows_to_a_person(
    client: Client, ops_user: Any, warehouse_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(ops_user)
    ticked = [rows[0].pk, rows[2].pk]
    form = {
        "action": "assign",
        "scope": "selected",
        "ids": ticked,
        "filter": "team=&owner=warehouse",
        "team": "warehouse",
        "person": warehouse_user.pk,
    }

    confirm = client.post(URL, form)
    assert confirm.context["total"] == 2
    client.post(URL, {**form, "confirm": "on", "expected": "2"})

    assigned = ExceptionRecord.objects.filter(assignee=warehouse_user)
    assert sorted(assigned.values_list("key", flat=True)) == ["W0", "W2"]
    assert sorted(
        ExceptionEvent.objects.values_list("exception__key", "kind", "from_value", "to_value")
    ) == [("W0", "assigned", "", "warehouse · wren"), ("W2", "assigned", "", "warehouse · wren")]


def test_ticked_rows_outside_the_filter_are_not_touched(
    client: Client, ops_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(ops_user)
    office = rows[4].pk  # not matched by owner=warehouse
    form = {"action": "acknowledge", "scope": "selected", "ids": [office, 999_999]}
    form["filter"] = "team=&owner=warehouse"

    assert client.post(URL, form).context["total"] == 0
    client.post(URL, {**form, "confirm": "on", "expected": "0"})
    assert not ExceptionEvent.objects.exists()


def test_rows_on_the_other_side_are_counted_and_left_alone(
    client: Client, warehouse_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(warehouse_user)
    form = {"action": "resolve", "scope": "all", "filter": "team=", "reason": "fixed_in_wms"}

    confirm = client.post(URL, form)
    assert (confirm.context["total"], confirm.context["yours"], confirm.context["others"]) == (
        6,
        4,
        2,
    )
    assert "2 of them belong to a side you may not resolve" in confirm.content.decode()

    response = client.post(URL, {**form, "confirm": "on", "expected": "6"}, follow=True)
    assert "Resolve: 4 changed, 2 left alone (not yours to change)." in response.content.decode()
    assert statuses()["O0"] == "open"
    assert statuses()["W0"] == "resolved"


def test_a_role_without_the_right_is_refused_whole(
    client: Client, cx_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(cx_user)
    form = {"action": "assign", "scope": "all", "filter": "team=", "team": "cx"}

    assert client.post(URL, form).status_code == 403
    assert client.post(URL, {**form, "confirm": "on", "expected": "6"}).status_code == 403
    assert not ExceptionEvent.objects.exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "acknowledge", "scope": "selected"}, "Tick at least one exception"),
        ({"action": "explode", "scope": "all"}, "Select a valid choice"),
        ({"action": "resolve", "scope": "all", "reason": "other"}, "Say why in the note"),
        ({"action": "snooze", "scope": "all", "until": "2001-01-01"}, "Choose a date after today"),
    ],
)
def test_bad_input_says_why_and_changes_nothing(
    client: Client, ops_user: Any, rows: list[ExceptionRecord], form: dict[str, Any], message: str
) -> None:
    client.force_login(ops_user)
    response = client.post(
        URL, {**form, "filter": "team=", "confirm": "on", "expected": "7"}, follow=True
    )
    assert message in response.content.decode()
    assert not ExceptionEvent.objects.exists()


def test_bulk_snooze_until_a_date(
    client: Client, ops_user: Any, rows: list[ExceptionRecord]
) -> None:
    client.force_login(ops_user)
    until = timezone.localdate() + timedelta(days=3)
    form = {
        "action": "snooze",
        "scope": "all",
        "filter": "team=&owner=office",
        "until": until.isoformat(),
    }

    client.post(URL, {**form, "confirm": "on", "expected": "2"})

    snoozed = ExceptionRecord.objects.filter(status="snoozed")
    assert sorted(snoozed.values_list("key", flat=True)) == ["O0", "O1"]
    assert {timezone.localtime(s.snoozed_until).date() for s in snoozed} == {until}


def test_get_is_not_allowed(client: Client, ops_user: Any) -> None:
    client.force_login(ops_user)
    assert client.get(URL).status_code == 405
