"""record_exceptions: open, seen again, reopen, escalate — each through both implementations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.forms.models import model_to_dict

from exceptions.models import ExceptionEvent, ExceptionRecord
from tests.exceptions.conftest import T0, found_row

pytestmark = pytest.mark.django_db

Record = Callable[..., dict[str, int]]


def counts(**values: int) -> dict[str, int]:
    base = dict.fromkeys(
        ("found", "opened", "seen_again", "reopened", "auto_resolved", "escalated"), 0
    )
    return {**base, **values}


def events(record: ExceptionRecord) -> list[tuple[str, str, str, str, int | None]]:
    return [
        (event.kind, event.from_value, event.to_value, event.note, event.run_id)
        for event in record.events.order_by("id")
    ]


def test_a_new_pair_is_opened_with_a_detected_event(record: Record, make_run: Any) -> None:
    run = make_run()

    result = record(run, [found_row("ORDER_NOT_IN_ERP", "W1", priority="P1", score=90.5)])

    assert result == counts(found=1, opened=1)
    exc = ExceptionRecord.objects.get()
    assert model_to_dict(exc, exclude=["id"]) == {
        "rule": "ORDER_NOT_IN_ERP",
        "key": "W1",
        "owner": "office",
        "team": "ecommerce",
        "priority": "P1",
        "score": 90.5,
        "summary": "Order W1 is not in the ERP",
        "details": {"order_ref": "W1", "gross_total": "12.50"},
        "roles": ["store", "erp"],
        "status": "open",
        "assignee": None,
        "assigned_team": None,
        "snoozed_until": None,
        "first_seen": T0,
        "last_seen": T0,
        "times_seen": 1,
        "resolved_at": None,
        "resolution": "",
        "resolution_reason": "",
        "first_run": run.pk,
        "last_run": run.pk,
    }
    assert exc.queue_team == "ecommerce"
    assert events(exc) == [("detected", "", "open", "", run.pk)]
    event = exc.events.get()
    assert (event.at, event.actor) == (T0, None)


def test_the_same_data_again_changes_only_last_seen_times_seen_and_last_run(
    record: Record, make_run: Any
) -> None:
    first, second = make_run(), make_run()
    rows = [found_row("ORDER_NOT_IN_ERP", "W1"), found_row("TAX_MISMATCH", "W2", team="finance")]
    record(first, rows)
    before = {exc.pk: model_to_dict(exc) for exc in ExceptionRecord.objects.all()}

    result = record(second, rows, minutes=15)

    assert result == counts(found=2, seen_again=2)
    for exc in ExceptionRecord.objects.all():
        assert model_to_dict(exc) == {
            **before[exc.pk],
            "last_seen": T0 + timedelta(minutes=15),
            "times_seen": 2,
            "last_run": second.pk,
        }
    assert ExceptionEvent.objects.count() == 2  # the two `detected`, nothing more


def test_a_rerun_refreshes_what_the_engine_says(record: Record, make_run: Any) -> None:
    record(make_run(), [found_row("STOCK_DRIFT", "MUG1", owner="warehouse", team="warehouse")])

    result = record(
        make_run(),
        [
            found_row(
                "STOCK_DRIFT",
                "MUG1",
                owner="office",
                team="finance",
                priority="P4",  # falling priority: not an event
                score=3.0,
                summary="late postings explain the drift",
                details={"diff": 2, "unexplained": 0},
                roles=["erp", "wms"],
            )
        ],
        minutes=5,
    )

    assert result == counts(found=1, seen_again=1)
    exc = ExceptionRecord.objects.get()
    assert (exc.owner, exc.team, exc.priority, exc.score) == ("office", "finance", "P4", 3.0)
    assert exc.summary == "late postings explain the drift"
    assert (exc.details, exc.roles) == ({"diff": 2, "unexplained": 0}, ["erp", "wms"])
    assert [event.kind for event in exc.events.all()] == ["detected"]


def test_what_people_set_survives_a_rerun_that_finds_it_again(
    record: Record, make_run: Any, ops_user: Any
) -> None:
    record(make_run(), [found_row(key="W1"), found_row(key="W2")])
    until = T0 + timedelta(days=1)
    ExceptionRecord.objects.filter(key="W1").update(
        status="acknowledged", assignee=ops_user, assigned_team="ops"
    )
    ExceptionRecord.objects.filter(key="W2").update(status="snoozed", snoozed_until=until)

    result = record(make_run(), [found_row(key="W1"), found_row(key="W2")], minutes=10)

    assert result == counts(found=2, seen_again=2)
    w1 = ExceptionRecord.objects.get(key="W1")
    w2 = ExceptionRecord.objects.get(key="W2")
    assert (w1.status, w1.assignee, w1.assigned_team) == ("acknowledged", ops_user, "ops")
    assert (w2.status, w2.snoozed_until) == ("snoozed", until)


def test_a_resolved_pair_that_comes_back_is_reopened(
    record: Record, make_run: Any, cx_user: Any
) -> None:
    first, second, third = make_run(), make_run(), make_run()
    record(first, [found_row(key="W1", priority="P3")])
    ExceptionRecord.objects.update(assignee=cx_user)
    record(second, [], minutes=10)  # cleared
    assert ExceptionRecord.objects.get().status == "resolved"

    result = record(third, [found_row(key="W1", priority="P1")], minutes=20)

    assert result == counts(found=1, reopened=1)
    exc = ExceptionRecord.objects.get()
    assert (exc.status, exc.resolved_at, exc.resolution) == ("open", None, "")
    assert (exc.times_seen, exc.first_seen, exc.last_seen) == (2, T0, T0 + timedelta(minutes=20))
    assert (exc.first_run_id, exc.last_run_id, exc.priority) == (first.pk, third.pk, "P1")
    assert exc.assignee == cx_user  # whoever had it before still has it
    # Reopening is its own event: a priority that rose while resolved is not also "escalated".
    assert events(exc) == [
        ("detected", "", "open", "", first.pk),
        ("auto_resolved", "open", "resolved", "cleared by reconciliation", second.pk),
        ("reopened", "resolved", "open", "", third.pk),
    ]


def test_a_pair_people_resolved_is_reopened_too(record: Record, make_run: Any) -> None:
    record(make_run(), [found_row(key="W1")])
    ExceptionRecord.objects.update(status="resolved", resolved_at=T0, resolution="fixed in ERP")

    result = record(make_run(), [found_row(key="W1")], minutes=30)

    assert result == counts(found=1, reopened=1)
    exc = ExceptionRecord.objects.get()
    assert (exc.status, exc.resolved_at, exc.resolution) == ("open", None, "")


def test_a_priority_that_rises_is_an_escalated_event(record: Record, make_run: Any) -> None:
    record(
        make_run(),
        [found_row(key="W1", priority="P3"), found_row(key="W2", priority="P1")],
    )
    ExceptionRecord.objects.filter(key="W1").update(status="snoozed")
    run = make_run()

    result = record(
        run,
        [found_row(key="W1", priority="P1"), found_row(key="W2", priority="P2")],
        minutes=5,
    )

    assert result == counts(found=2, seen_again=2, escalated=1)
    w1 = ExceptionRecord.objects.get(key="W1")
    assert (w1.priority, w1.status) == ("P1", "snoozed")
    assert events(w1)[-1] == ("escalated", "P3", "P1", "", run.pk)
    assert [event.kind for event in ExceptionRecord.objects.get(key="W2").events.all()] == [
        "detected"
    ]


def test_every_count_in_one_run(record: Record, make_run: Any) -> None:
    record(
        make_run(),
        [
            found_row(key="SEEN"),
            found_row(key="RISES", priority="P4"),
            found_row(key="GONE"),
            found_row(key="BACK"),
        ],
    )
    ExceptionRecord.objects.filter(key="BACK").update(status="resolved", resolved_at=T0)

    result = record(
        make_run(),
        [
            found_row(key="SEEN"),
            found_row(key="RISES", priority="P2"),
            found_row(key="BACK"),
            found_row(key="NEW"),
        ],
        minutes=1,
    )

    assert result == counts(
        found=4, opened=1, seen_again=2, reopened=1, auto_resolved=1, escalated=1
    )
    assert dict(ExceptionRecord.objects.values_list("key", "status")) == {
        "SEEN": "open",
        "RISES": "open",
        "GONE": "resolved",
        "BACK": "open",
        "NEW": "open",
    }


def test_it_works_without_a_run(record: Record) -> None:
    assert record(None, [found_row()]) == counts(found=1, opened=1)
    exc = ExceptionRecord.objects.get()
    assert (exc.first_run, exc.last_run, exc.events.get().run) == (None, None, None)
