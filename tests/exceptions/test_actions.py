"""exceptions.actions on one exception: state, exact events, double submits, refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.forms.models import model_to_dict

from exceptions import actions
from exceptions.models import ExceptionRecord
from tests.exceptions.conftest import T0

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(hours=2)


def trail(exception: ExceptionRecord) -> list[tuple[str, str | None, str, str, str]]:
    return [
        (e.kind, e.actor.username if e.actor else None, e.from_value, e.to_value, e.note)
        for e in exception.events.select_related("actor").order_by("id")
    ]


def state(exception: ExceptionRecord) -> dict[str, Any]:
    return model_to_dict(ExceptionRecord.objects.get(pk=exception.pk))


@pytest.fixture
def office(make_exception: Callable[..., ExceptionRecord]) -> ExceptionRecord:
    return make_exception(rule="ORDER_NOT_IN_ERP", key="SO-1", owner="office", team="ecommerce")


@pytest.fixture
def depot(make_exception: Callable[..., ExceptionRecord]) -> ExceptionRecord:
    return make_exception(rule="STOCK_DRIFT", key="MUG", owner="warehouse", team="warehouse")


def test_acknowledge_writes_one_event_and_a_double_submit_writes_nothing(
    office: ExceptionRecord, cx_user: Any
) -> None:
    assert actions.acknowledge(office, cx_user, now=NOW) is True
    assert actions.acknowledge(office, cx_user, now=NOW) is False

    assert office.status == "acknowledged"
    assert trail(office) == [("acknowledged", "cass", "open", "acknowledged", "")]
    assert office.events.get().at == NOW


def test_acknowledging_a_snoozed_exception_ends_the_snooze(
    office: ExceptionRecord, cx_user: Any
) -> None:
    actions.snooze(office, cx_user, NOW + timedelta(days=2), now=NOW)
    actions.acknowledge(office, cx_user, now=NOW)

    assert (office.status, office.snoozed_until) == ("acknowledged", None)
    assert trail(office)[-1] == ("acknowledged", "cass", "snoozed", "acknowledged", "")


def test_acknowledging_a_resolved_exception_says_so_and_changes_nothing(
    office: ExceptionRecord, cx_user: Any
) -> None:
    actions.resolve(office, cx_user, "fixed_in_erp", now=NOW)
    before = state(office)

    with pytest.raises(actions.ActionError, match="ORDER_NOT_IN_ERP SO-1 is resolved"):
        actions.acknowledge(office, cx_user, now=NOW)

    assert state(office) == before
    assert [kind for kind, *_ in trail(office)] == ["resolved"]


def test_assign_to_a_team_and_a_person_then_unassign(
    depot: ExceptionRecord, ops_user: Any, warehouse_user: Any
) -> None:
    assert actions.assign(depot, ops_user, "warehouse", warehouse_user, now=NOW) is True
    assert actions.assign(depot, ops_user, "warehouse", warehouse_user, now=NOW) is False
    assert (depot.assigned_team, depot.assignee, depot.queue_team) == (
        "warehouse",
        warehouse_user,
        "warehouse",
    )

    actions.assign(depot, ops_user, "ops", now=NOW)
    assert (depot.assigned_team, depot.assignee, depot.queue_team) == ("ops", None, "ops")

    actions.assign(depot, ops_user, None, now=NOW)
    assert (depot.assigned_team, depot.assignee, depot.queue_team) == (None, None, "warehouse")
    assert trail(depot) == [
        ("assigned", "otto", "", "warehouse · wren", ""),
        ("assigned", "otto", "warehouse · wren", "ops", ""),
        ("assigned", "otto", "ops", "", ""),
    ]


@pytest.mark.parametrize(
    ("team", "person", "message"),
    [
        ("nowhere", None, "'nowhere' is not a team"),
        (None, "wren", "Choose the team as well as the person"),
        ("ops", "loner", "loner cannot work exceptions"),
        ("ops", "gone", "gone cannot work exceptions"),
    ],
)
def test_assign_refuses_bad_input_and_changes_nothing(
    depot: ExceptionRecord,
    ops_user: Any,
    warehouse_user: Any,
    make_user: Any,
    team: str | None,
    person: str | None,
    message: str,
) -> None:
    people = {
        "wren": warehouse_user,
        "loner": make_user("loner"),
        "gone": make_user("gone", group="Ops", is_active=False),
    }
    before = state(depot)
    with pytest.raises(actions.ActionError, match=message):
        actions.assign(depot, ops_user, team, people.get(person or ""), now=NOW)
    assert state(depot) == before
    assert trail(depot) == []


def test_comment_is_added_once_however_often_it_is_submitted(
    office: ExceptionRecord, finance_user: Any, cx_user: Any
) -> None:
    assert actions.comment(office, finance_user, "  Chased the ERP team ", now=NOW) is True
    assert actions.comment(office, finance_user, "Chased the ERP team", now=NOW) is False
    # Someone else saying the same is not a double submit.
    assert actions.comment(office, cx_user, "Chased the ERP team", now=NOW) is True

    assert trail(office) == [
        ("commented", "fiona", "", "", "Chased the ERP team"),
        ("commented", "cass", "", "", "Chased the ERP team"),
    ]
    assert office.status == "open"


@pytest.mark.parametrize(("text", "message"), [("   ", "Write something"), ("x" * 5001, "longer")])
def test_comment_refuses_empty_or_huge_text(
    office: ExceptionRecord, cx_user: Any, text: str, message: str
) -> None:
    with pytest.raises(actions.ActionError, match=message):
        actions.comment(office, cx_user, text, now=NOW)
    assert trail(office) == []


def test_snooze_until_a_date_then_end_it(office: ExceptionRecord, cx_user: Any) -> None:
    until = NOW + timedelta(days=3)
    assert actions.snooze(office, cx_user, until, now=NOW) is True
    assert actions.snooze(office, cx_user, until, now=NOW) is False
    assert (office.status, office.snoozed_until) == ("snoozed", until)

    assert actions.snooze(office, cx_user, None, now=NOW) is True
    assert actions.snooze(office, cx_user, None, now=NOW) is False
    assert (office.status, office.snoozed_until) == ("acknowledged", None)
    assert trail(office) == [
        ("snoozed", "cass", "open", "snoozed", "until 2026-12-03 11:00"),
        ("unsnoozed", "cass", "snoozed", "acknowledged", ""),
    ]


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (timedelta(0), "in the future"),
        (timedelta(days=-1), "in the future"),
        (timedelta(days=91), "at most 90 days"),
    ],
)
def test_snooze_refuses_a_bad_date(
    office: ExceptionRecord, cx_user: Any, delta: timedelta, message: str
) -> None:
    with pytest.raises(actions.ActionError, match=message):
        actions.snooze(office, cx_user, NOW + delta, now=NOW)
    assert (ExceptionRecord.objects.get().status, trail(office)) == ("open", [])


def test_resolve_records_the_reason_and_a_second_submit_is_harmless(
    office: ExceptionRecord, cx_user: Any
) -> None:
    assert actions.resolve(office, cx_user, "fixed_in_erp", "re-sent", now=NOW) is True
    assert actions.resolve(office, cx_user, "duplicate", now=NOW) is False

    assert (
        office.status,
        office.resolved_at,
        office.resolution,
        office.resolution_reason,
    ) == ("resolved", NOW, "Fixed in ERP: re-sent", "fixed_in_erp")
    assert trail(office) == [("resolved", "cass", "open", "resolved", "Fixed in ERP: re-sent")]


@pytest.mark.parametrize("reason", ["not_an_issue", "duplicate"])
def test_not_an_issue_and_duplicate_dismiss(
    office: ExceptionRecord, cx_user: Any, reason: str
) -> None:
    actions.resolve(office, cx_user, reason, now=NOW)
    assert (office.status, office.resolution_reason) == ("dismissed", reason)
    assert trail(office)[0][:4] == ("resolved", "cass", "open", "dismissed")


@pytest.mark.parametrize(
    ("reason", "note", "message"),
    [
        ("other", " ", "Say why in the note"),
        ("fixed_somewhere", "", "'fixed_somewhere' is not a resolution reason"),
    ],
)
def test_resolve_refuses_a_bad_reason(
    office: ExceptionRecord, cx_user: Any, reason: str, note: str, message: str
) -> None:
    before = state(office)
    with pytest.raises(actions.ActionError, match=message):
        actions.resolve(office, cx_user, reason, note, now=NOW)
    assert (state(office), trail(office)) == (before, [])


def test_reopen_clears_the_resolution(office: ExceptionRecord, cx_user: Any) -> None:
    actions.resolve(office, cx_user, "other", "phoned the customer", now=NOW)
    assert actions.reopen(office, cx_user, "they called back", now=NOW) is True
    assert actions.reopen(office, cx_user, now=NOW) is False

    assert (
        office.status,
        office.resolved_at,
        office.resolution,
        office.resolution_reason,
    ) == ("open", None, "", "")
    assert trail(office)[-1] == ("reopened", "cass", "resolved", "open", "they called back")


ATTEMPTS: dict[str, Callable[[ExceptionRecord, Any], Any]] = {
    "acknowledge": lambda e, u: actions.acknowledge(e, u, now=NOW),
    "comment": lambda e, u: actions.comment(e, u, "mine now", now=NOW),
    "snooze": lambda e, u: actions.snooze(e, u, NOW + timedelta(days=1), now=NOW),
    "resolve": lambda e, u: actions.resolve(e, u, "fixed_in_wms", now=NOW),
    "assign": lambda e, u: actions.assign(e, u, "cx", now=NOW),
}


@pytest.mark.parametrize("action", sorted(ATTEMPTS))
def test_a_refused_action_raises_and_changes_nothing(
    office: ExceptionRecord, warehouse_user: Any, action: str
) -> None:
    before = state(office)
    with pytest.raises(PermissionDenied, match="ORDER_NOT_IN_ERP SO-1"):
        ATTEMPTS[action](office, warehouse_user)
    assert (state(office), trail(office)) == (before, [])


def test_ops_may_acknowledge_but_not_resolve_a_warehouse_exception(
    depot: ExceptionRecord, ops_user: Any
) -> None:
    actions.acknowledge(depot, ops_user, now=NOW)
    with pytest.raises(PermissionDenied):
        actions.resolve(depot, ops_user, "fixed_in_wms", now=NOW)
    assert ExceptionRecord.objects.get().status == "acknowledged"


def test_reopening_needs_the_right_to_resolve(
    depot: ExceptionRecord, warehouse_user: Any, ops_user: Any
) -> None:
    actions.resolve(depot, warehouse_user, "fixed_in_wms", now=NOW)
    with pytest.raises(PermissionDenied):
        actions.reopen(depot, ops_user, now=NOW)
    assert ExceptionRecord.objects.get().status == "resolved"
