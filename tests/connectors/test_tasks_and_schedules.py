"""Tasks are queued by id after commit; schedules are data synced by a command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from connectors.models import Connection, SyncAlreadyRunning, SyncRun
from connectors.schedules import SCHEDULES
from connectors.tasks import queue_sync, sync_connection, sync_due


def queued() -> list[tuple]:
    return [(o.task["func"], o.task["args"]) for o in OrmQ.objects.order_by("id")]


def connection(name: str, role: str, **fields: object) -> Connection:
    return Connection.objects.create(
        name=name, kind="testshop", role=role, base_url="http://127.0.0.1:1", **fields
    )


@pytest.mark.django_db
def test_sync_due_queues_only_idle_connections_that_are_due(
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    due = connection("Due", "store")
    recent = connection("Recent", "erp", schedule_minutes=15)
    SyncRun.objects.create(
        connection=recent, kind="delta", state="complete", created_at=timezone.now()
    )
    connection("Manual only", "wms", schedule_minutes=0)
    connection("Off", "store", enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        summary = sync_due("delta")

    assert summary == "delta: queued Due"
    assert queued() == [("connectors.tasks.sync_connection", (due.pk, "delta", None, "schedule"))]


@pytest.mark.django_db
def test_a_busy_connection_is_not_queued_again(django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    busy = connection("Busy", "store")
    SyncRun.objects.create(connection=busy, state="running", started_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_due("full") == "full: queued nothing"
    assert queued() == []


@pytest.mark.django_db
def test_an_abandoned_run_does_not_keep_its_connection_busy(
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    shop = connection("Shop", "store")
    too_old = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 1)
    abandoned = SyncRun.objects.create(connection=shop, state="running", started_at=too_old)

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_due("full") == "full: queued Shop"

    abandoned.refresh_from_db()
    assert abandoned.state == "failed"
    assert queued() == [("connectors.tasks.sync_connection", (shop.pk, "full", None, "schedule"))]


@pytest.mark.django_db
def test_sync_now_makes_a_pending_run_and_queues_its_task_once(
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    shop = connection("Shop", "store")

    with django_capture_on_commit_callbacks(execute=True):
        run = queue_sync(shop, "full")
    with pytest.raises(SyncAlreadyRunning), django_capture_on_commit_callbacks(execute=True):
        queue_sync(shop, "full")

    assert (run.state, run.trigger, run.kind) == ("pending", "manual", "full")
    assert queued() == [("connectors.tasks.sync_connection", (shop.pk, "full", run.pk, "manual"))]


def test_the_sync_task_summarises_its_run(shop_connection: Connection) -> None:
    summary = sync_connection(shop_connection.pk, "full")

    run = SyncRun.objects.get()
    assert summary == (
        f"sync {run.pk} complete: snapshot {run.snapshot_id}, 52 records, 0 quarantined, 3 requests"
    )
    assert sync_connection(shop_connection.pk, "full", run.pk) == (
        f"connection {shop_connection.pk}: nothing to do (disabled, already syncing or done)"
    )


@pytest.mark.django_db
def test_schedules_are_synced_by_the_command_and_keep_their_next_run() -> None:
    Schedule.objects.create(name="connectors: retired", func="connectors.tasks.sync_due")
    Schedule.objects.create(name="someone else's", func="x.y")
    out = StringIO()

    call_command("sync_schedules", stdout=out)
    first = {s.name: s.next_run for s in Schedule.objects.filter(name__startswith="connectors")}
    call_command("sync_schedules", stdout=StringIO())

    assert out.getvalue().splitlines() == [
        "created  connectors: delta pulls",
        "created  connectors: dispatch polling",
        "created  connectors: nightly full refresh",
        "created  connectors: reconcile latest",
        "created  connectors: alert sweep",
        "created  connectors: alert digests",
        "created  connectors: purge old snapshots",
        "removed  connectors: retired",
    ]
    rows = {s.name: s for s in Schedule.objects.filter(name__startswith="connectors")}
    assert {name: (s.func, s.args, s.schedule_type, s.minutes) for name, s in rows.items()} == {
        "connectors: delta pulls": ("connectors.tasks.sync_due", "('delta',)", "I", 1),
        "connectors: dispatch polling": ("connectors.tasks.sync_due", "('dispatch',)", "I", 10),
        "connectors: nightly full refresh": ("connectors.tasks.sync_due", "('full',)", "D", None),
        "connectors: reconcile latest": ("connectors.tasks.reconcile_latest_task", None, "I", 15),
        "connectors: alert sweep": ("exceptions.tasks.alert_sweep", None, "I", 1),
        "connectors: alert digests": ("exceptions.tasks.send_digests", None, "D", None),
        "connectors: purge old snapshots": (
            "reconciliation.retention.purge_snapshots_task",
            None,
            "D",
            None,
        ),
    }
    assert {name: s.next_run for name, s in rows.items()} == first  # re-sync moved nothing
    nightly = timezone.localtime(rows["connectors: nightly full refresh"].next_run)
    assert (nightly.hour, nightly.minute) == (2, 30)
    assert nightly - timezone.now() <= timedelta(days=1)
    assert Schedule.objects.filter(name="someone else's").exists()
    assert len(SCHEDULES) == 7


def test_the_cluster_settings_follow_django_q2s_rules() -> None:
    conf = settings.Q_CLUSTER
    assert conf["timeout"] < conf["retry"]
    assert conf["max_attempts"] >= 1
    assert conf["catch_up"] is False
