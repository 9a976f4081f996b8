"""People's states and the reconciliation sync together: auto-resolution keeps working."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from exceptions import actions
from exceptions.models import ExceptionRecord
from tests.exceptions.conftest import T0, found_row

pytestmark = pytest.mark.django_db

Record = Callable[..., dict[str, int]]


def kinds(exception: ExceptionRecord) -> list[tuple[str, str | None, str, str]]:
    return [
        (e.kind, e.actor.username if e.actor else None, e.from_value, e.to_value)
        for e in exception.events.select_related("actor").order_by("id")
    ]


@pytest.mark.parametrize("how", ["acknowledged", "assigned", "snoozed"])
def test_a_worked_exception_no_longer_found_is_auto_resolved(
    record: Record, make_run: Any, ops_user: Any, cx_user: Any, how: str
) -> None:
    record(make_run(), [found_row(key="W1")])
    exception = ExceptionRecord.objects.get()
    if how == "acknowledged":
        actions.acknowledge(exception, cx_user, now=T0)
    elif how == "assigned":
        actions.assign(exception, ops_user, "cx", cx_user, now=T0)
    else:
        actions.snooze(exception, cx_user, T0 + timedelta(days=2), now=T0)

    result = record(make_run(), [], minutes=15)

    exception.refresh_from_db()
    assert result["auto_resolved"] == 1
    assert (exception.status, exception.resolution, exception.snoozed_until) == (
        "resolved",
        "cleared by reconciliation",
        None,
    )
    assert kinds(exception)[-1][:2] == ("auto_resolved", None)


def test_people_states_survive_a_run_that_finds_it_again(
    record: Record, make_run: Any, ops_user: Any, cx_user: Any
) -> None:
    record(make_run(), [found_row(key="W1")])
    exception = ExceptionRecord.objects.get()
    actions.assign(exception, ops_user, "cx", cx_user, now=T0)
    actions.snooze(exception, cx_user, T0 + timedelta(days=2), now=T0)

    record(make_run(), [found_row(key="W1")], minutes=15)

    exception.refresh_from_db()
    assert (
        exception.status,
        exception.assigned_team,
        exception.assignee,
        exception.queue_team,
        exception.snoozed_until,
        exception.times_seen,
    ) == ("snoozed", "cx", cx_user, "cx", T0 + timedelta(days=2), 2)


def test_a_person_resolved_exception_found_again_is_reopened_by_the_run(
    record: Record, make_run: Any, cx_user: Any
) -> None:
    record(make_run(), [found_row(key="W1")])
    exception = ExceptionRecord.objects.get()
    actions.resolve(exception, cx_user, "fixed_in_erp", now=T0)

    record(make_run(), [found_row(key="W1")], minutes=15)

    exception.refresh_from_db()
    assert (exception.status, exception.resolution_reason) == ("open", "fixed_in_erp")
    assert kinds(exception) == [
        ("detected", None, "", "open"),
        ("resolved", "cass", "open", "resolved"),
        ("reopened", None, "resolved", "open"),
    ]


def test_a_dismissed_exception_stays_dismissed_whether_found_or_not(
    record: Record, make_run: Any, cx_user: Any
) -> None:
    record(make_run(), [found_row(key="W1")])
    exception = ExceptionRecord.objects.get()
    actions.resolve(exception, cx_user, "not_an_issue", now=T0)

    found = record(make_run(), [found_row(key="W1")], minutes=15)
    exception.refresh_from_db()
    assert (found["reopened"], exception.status, exception.times_seen) == (0, "dismissed", 2)

    gone = record(make_run(), [], minutes=30)
    exception.refresh_from_db()
    assert (gone["auto_resolved"], exception.status) == (0, "dismissed")
    assert [kind for kind, *_ in kinds(exception)] == ["detected", "resolved"]
