"""Two runs of one connection never overlap (the database refuses), and a run whose worker died
is failed and retried with nothing half-saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.models import Connection, SyncAlreadyRunning, SyncRun
from connectors.sync import begin_sync, run_sync
from reconciliation.models import Snapshot


def test_the_database_refuses_a_second_active_run(shop_connection: Connection) -> None:
    SyncRun.objects.create(connection=shop_connection, state="running", started_at=timezone.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(connection=shop_connection, state="pending")
    with pytest.raises(SyncAlreadyRunning, match="Test shop: sync \\d+ is already running"):
        begin_sync(shop_connection, "full")
    assert SyncRun.objects.count() == 1


def test_a_scheduled_sync_skips_while_another_runs(shop_connection: Connection) -> None:
    running = SyncRun.objects.create(
        connection=shop_connection, state="running", started_at=timezone.now()
    )

    assert run_sync(shop_connection.pk, "delta") is None
    assert list(SyncRun.objects.values_list("pk", "state")) == [(running.pk, "running")]


def test_a_finished_run_lets_the_next_start(shop_connection: Connection) -> None:
    first = run_sync(shop_connection.pk, "full")
    second = run_sync(shop_connection.pk, "full")

    assert (first.state, second.state) == ("complete", "complete")
    assert SyncRun.objects.count() == 2


def test_a_redelivered_task_does_not_run_a_finished_run_again(
    shop_connection: Connection,
) -> None:
    pending = begin_sync(shop_connection, "full", trigger="manual")
    done = run_sync(shop_connection.pk, "full", run_id=pending.pk)

    again = run_sync(shop_connection.pk, "full", run_id=pending.pk)

    assert done.pk == pending.pk
    assert done.state == "complete"
    assert again is None
    assert SyncRun.objects.count() == 1
    assert Snapshot.objects.count() == 1


def test_a_stale_running_run_is_failed_before_a_new_one_starts(
    shop_connection: Connection, settings
) -> None:  # noqa: ANN001
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60, "retry": 90}
    stale = SyncRun.objects.create(
        connection=shop_connection,
        kind="full",
        state="running",
        started_at=timezone.now() - timedelta(seconds=61),
    )

    fresh = run_sync(shop_connection.pk, "full")

    stale.refresh_from_db()
    assert stale.state == "failed"
    assert stale.error == "abandoned: no result after 0:01:00 (the worker died or timed out)"
    assert stale.snapshot is None
    assert fresh.state == "complete"
    assert Snapshot.objects.count() == 1


def test_the_task_of_a_run_whose_worker_died_retries_it_as_a_new_run(
    shop_connection: Connection, settings
) -> None:  # noqa: ANN001
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60, "retry": 90}
    # The worker took the run, started pulling and was killed: the broker redelivers the task.
    died = SyncRun.objects.create(
        connection=shop_connection,
        kind="full",
        state="running",
        trigger="manual",
        started_at=timezone.now() - timedelta(seconds=120),
        pages_done=2,
    )

    retried = run_sync(shop_connection.pk, "full", run_id=died.pk)

    died.refresh_from_db()
    assert died.state == "failed"
    assert (retried.pk != died.pk, retried.trigger, retried.kind) == (True, "retry", "full")
    assert retried.state == "complete"
    assert Snapshot.objects.filter(status="complete").count() == 1
    assert Snapshot.objects.exclude(status="complete").count() == 0


def test_a_running_run_that_is_not_stale_is_left_alone(shop_connection: Connection) -> None:
    running = SyncRun.objects.create(
        connection=shop_connection, state="running", started_at=timezone.now()
    )

    assert run_sync(shop_connection.pk, "full", run_id=running.pk) is None
    running.refresh_from_db()
    assert running.state == "running"
