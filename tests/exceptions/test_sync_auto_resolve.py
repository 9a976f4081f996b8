"""record_exceptions resolves what a run no longer finds — only for the rules that ran."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from exceptions.models import ExceptionRecord
from exceptions.sync import record_exceptions
from tests.exceptions.conftest import T0, found_frame, found_row

pytestmark = pytest.mark.django_db

Record = Callable[..., dict[str, int]]


def statuses() -> dict[tuple[str, str], str]:
    return {(e.rule, e.key): e.status for e in ExceptionRecord.objects.all()}


def test_it_resolves_only_exceptions_of_the_rules_that_ran(record: Record, make_run: Any) -> None:
    record(
        make_run(),
        [
            found_row("ORDER_NOT_IN_ERP", "W1"),
            found_row("ORDER_NOT_IN_ERP", "W2"),
            found_row("STOCK_DRIFT", "MUG1"),
        ],
    )
    run = make_run()

    # STOCK_DRIFT was skipped this time (a stock file missing): MUG1 is not judged.
    result = record(
        run, [found_row("ORDER_NOT_IN_ERP", "W2")], rules_run=["ORDER_NOT_IN_ERP"], minutes=15
    )

    assert result["auto_resolved"] == 1
    assert statuses() == {
        ("ORDER_NOT_IN_ERP", "W1"): "resolved",
        ("ORDER_NOT_IN_ERP", "W2"): "open",
        ("STOCK_DRIFT", "MUG1"): "open",
    }
    w1 = ExceptionRecord.objects.get(key="W1")
    assert (w1.resolved_at, w1.resolution) == (
        T0 + timedelta(minutes=15),
        "cleared by reconciliation",
    )
    assert w1.last_seen == T0  # not seen: last_seen stays when it was last found
    event = w1.events.order_by("id").last()
    assert (event.kind, event.from_value, event.to_value, event.note, event.run, event.actor) == (
        "auto_resolved",
        "open",
        "resolved",
        "cleared by reconciliation",
        run,
        None,
    )


def test_no_rules_run_means_every_rule(record: Record, make_run: Any) -> None:
    record(make_run(), [found_row("ORDER_NOT_IN_ERP", "W1"), found_row("STOCK_DRIFT", "MUG1")])

    result = record(make_run(), [], rules_run=None, minutes=15)

    assert result["auto_resolved"] == 2
    assert set(statuses().values()) == {"resolved"}


def test_an_empty_frame_without_columns_is_nothing_found(make_run: Any) -> None:
    record_exceptions(make_run(), found_frame(found_row(key="W1")), now=T0)

    result = record_exceptions(make_run(), pd.DataFrame(), ["ORDER_NOT_IN_ERP"], now=T0)

    assert (result["found"], result["auto_resolved"]) == (0, 1)
    assert statuses() == {("ORDER_NOT_IN_ERP", "W1"): "resolved"}


def test_an_empty_list_of_rules_run_resolves_nothing(record: Record, make_run: Any) -> None:
    record(make_run(), [found_row("ORDER_NOT_IN_ERP", "W1")])

    result = record(make_run(), [], rules_run=[], minutes=15)

    assert result == {
        "found": 0,
        "opened": 0,
        "seen_again": 0,
        "reopened": 0,
        "auto_resolved": 0,
        "escalated": 0,
    }
    assert statuses() == {("ORDER_NOT_IN_ERP", "W1"): "open"}


def test_acknowledged_and_snoozed_are_resolved_too_and_the_event_says_from_what(
    record: Record, make_run: Any
) -> None:
    record(make_run(), [found_row(key="ACK"), found_row(key="SNZ")])
    ExceptionRecord.objects.filter(key="ACK").update(status="acknowledged")
    ExceptionRecord.objects.filter(key="SNZ").update(
        status="snoozed", snoozed_until=T0 + timedelta(days=2)
    )

    result = record(make_run(), [], minutes=15)

    assert result["auto_resolved"] == 2
    ack = ExceptionRecord.objects.get(key="ACK")
    snz = ExceptionRecord.objects.get(key="SNZ")
    assert (ack.status, snz.status, snz.snoozed_until) == ("resolved", "resolved", None)
    assert ack.events.order_by("id").last().from_value == "acknowledged"
    assert snz.events.order_by("id").last().from_value == "snoozed"


def test_it_leaves_resolved_exceptions_alone(record: Record, make_run: Any) -> None:
    record(make_run(), [found_row(key="W1")])
    record(make_run(), [], minutes=10)
    resolved = ExceptionRecord.objects.get()

    result = record(make_run(), [], minutes=20)

    assert result["auto_resolved"] == 0
    again = ExceptionRecord.objects.get()
    assert (again.status, again.resolved_at) == ("resolved", resolved.resolved_at)
    assert [e.kind for e in again.events.all()] == ["detected", "auto_resolved"]
