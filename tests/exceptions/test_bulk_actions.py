"""Bulk actions over a server-side selection: one transaction, set-based, sides respected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from exceptions import actions
from exceptions.models import ExceptionEvent, ExceptionRecord
from integration.permissions import role_names
from tests.exceptions.conftest import T0

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(hours=1)


@pytest.fixture
def mixed(make_exception: Callable[..., ExceptionRecord]) -> QuerySet[ExceptionRecord]:
    """Four office exceptions (one already acknowledged, one resolved) and two warehouse ones."""
    make_exception(key="SO-1")
    make_exception(key="SO-2", status="acknowledged")
    make_exception(key="SO-3")
    make_exception(key="SO-4", status="resolved")
    make_exception(rule="STOCK_DRIFT", key="MUG", owner="warehouse", team="warehouse")
    make_exception(rule="STOCK_DRIFT", key="CUP", owner="warehouse", team="warehouse")
    return ExceptionRecord.objects.all()


def statuses() -> dict[str, str]:
    return dict(ExceptionRecord.objects.values_list("key", "status"))


def test_bulk_acknowledge_changes_what_it_may_and_counts_the_rest(
    mixed: QuerySet[ExceptionRecord], cx_user: Any
) -> None:
    outcome = actions.bulk_acknowledge(mixed, cx_user, expected=6, now=NOW)

    assert (outcome.changed, outcome.already, outcome.skipped, outcome.refused) == (2, 1, 1, 2)
    assert statuses() == {
        "SO-1": "acknowledged",
        "SO-2": "acknowledged",
        "SO-3": "acknowledged",
        "SO-4": "resolved",
        "MUG": "open",
        "CUP": "open",
    }
    events = ExceptionEvent.objects.order_by("exception__key")
    assert [(e.exception.key, e.kind, e.from_value, e.to_value, e.actor, e.at) for e in events] == [
        ("SO-1", "acknowledged", "open", "acknowledged", cx_user, NOW),
        ("SO-3", "acknowledged", "open", "acknowledged", cx_user, NOW),
    ]


def test_a_second_bulk_submit_writes_nothing(
    mixed: QuerySet[ExceptionRecord], ops_user: Any
) -> None:
    first = actions.bulk_acknowledge(mixed, ops_user, now=NOW)
    second = actions.bulk_acknowledge(mixed, ops_user, now=NOW)

    assert (first.changed, second.changed, second.already) == (4, 0, 5)
    assert ExceptionEvent.objects.count() == 4


def test_bulk_assign_writes_each_rows_own_from_value(
    mixed: QuerySet[ExceptionRecord], ops_user: Any, warehouse_user: Any
) -> None:
    ExceptionRecord.objects.filter(key="SO-1").update(assigned_team="cx")
    outcome = actions.bulk_assign(
        mixed.filter(owner="office"), ops_user, "warehouse", warehouse_user, now=NOW
    )

    assert outcome.changed == 4
    assert set(
        ExceptionRecord.objects.filter(owner="office").values_list("queue_team", flat=True)
    ) == {"warehouse"}
    assert sorted(
        ExceptionEvent.objects.values_list("exception__key", "from_value", "to_value")
    ) == [
        ("SO-1", "cx", "warehouse · wren"),
        ("SO-2", "", "warehouse · wren"),
        ("SO-3", "", "warehouse · wren"),
        ("SO-4", "", "warehouse · wren"),
    ]


def test_bulk_resolve_and_reopen(mixed: QuerySet[ExceptionRecord], admin_user: Any) -> None:
    resolved = actions.bulk_resolve(mixed, admin_user, "fixed_in_wms", now=NOW)
    assert (resolved.changed, resolved.already) == (5, 1)
    assert set(statuses().values()) == {"resolved"}

    reopened = actions.bulk_reopen(mixed.filter(key__startswith="SO"), admin_user, now=NOW)
    assert reopened.changed == 4
    assert statuses()["SO-4"] == "open"


def test_bulk_snooze_skips_closed_ones_and_says_why(
    mixed: QuerySet[ExceptionRecord], ops_user: Any
) -> None:
    outcome = actions.bulk_snooze(mixed, ops_user, NOW + timedelta(days=1), now=NOW)
    assert (outcome.changed, outcome.skipped) == (5, 1)
    assert outcome.reasons == ["ORDER_NOT_IN_ERP SO-4 is resolved: reopen it before you snooze it."]


def test_a_changed_selection_is_refused_whole(
    mixed: QuerySet[ExceptionRecord], ops_user: Any
) -> None:
    before = statuses()
    with pytest.raises(actions.SelectionChanged, match="6 exceptions match now, not 5"):
        actions.bulk_acknowledge(mixed, ops_user, expected=5, now=NOW)
    assert statuses() == before
    assert not ExceptionEvent.objects.exists()


def test_a_selection_over_the_limit_is_refused(
    mixed: QuerySet[ExceptionRecord], ops_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions, "BULK_LIMIT", 5)
    with pytest.raises(actions.ActionError, match="More than 5 exceptions match"):
        actions.bulk_acknowledge(mixed, ops_user, now=NOW)
    assert not ExceptionEvent.objects.exists()


def test_a_user_without_the_right_is_refused_before_anything(
    mixed: QuerySet[ExceptionRecord], cx_user: Any
) -> None:
    with pytest.raises(PermissionDenied):
        actions.bulk_assign(mixed, cx_user, "cx", now=NOW)
    assert not ExceptionEvent.objects.exists()


def test_a_failure_midway_rolls_the_whole_bulk_back(
    mixed: QuerySet[ExceptionRecord], ops_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions, "CHUNK", 1)  # one UPDATE + INSERT per row, so it can fail late
    calls = {"n": 0}
    original = ExceptionEvent.objects.bulk_create

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(ExceptionEvent.objects, "bulk_create", failing)
    with pytest.raises(RuntimeError):
        actions.bulk_acknowledge(mixed, ops_user, now=NOW)
    assert statuses()["SO-1"] == "open"
    assert not ExceptionEvent.objects.exists()


def test_the_query_count_does_not_grow_with_the_selection(
    make_exception: Callable[..., ExceptionRecord],
    ops_user: Any,
    django_assert_num_queries: Any,
) -> None:
    for n in range(40):
        make_exception(key=f"SO-{n}")
    ops_user.has_perm("exceptions.act_on_exception")  # the permission cache, loaded once
    role_names(ops_user)
    # savepoint, SELECT … FOR UPDATE, UPDATE, INSERT events, release
    with django_assert_num_queries(5):
        outcome = actions.bulk_acknowledge(ExceptionRecord.objects.all(), ops_user, now=NOW)
    assert outcome.changed == 40
