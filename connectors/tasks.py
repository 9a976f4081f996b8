"""django-q2 tasks: thin, idempotent, taking ids. Enqueued by dotted path, after commit.

- `sync_connection(connection_id, kind, run_id)`: one sync; a redelivered task (the ORM broker
  delivers again when a worker died) finds its run complete and does nothing, or finds it
  abandoned and retries it as a new run.
- `sync_due(kind)`: what the schedules call: queues a sync for each enabled connection that is
  due and not already syncing.
- `reconcile_latest_task()`: reconciles the latest complete set when it is new (a no-op otherwise).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.models import Connection, SyncRun
from connectors.sync import begin_sync, reconcile_latest, run_sync, stale_after

SYNC_TASK = "connectors.tasks.sync_connection"
RECONCILE_TASK = "connectors.tasks.reconcile_latest_task"


def sync_connection(
    connection_id: int,
    kind: str = SyncRun.Kind.DELTA,
    run_id: int | None = None,
    trigger: str = SyncRun.Trigger.SCHEDULE,
) -> str:
    run = run_sync(
        connection_id,
        kind,
        run_id=run_id,
        trigger=trigger,
        on_complete=lambda run: queue_reconcile(),
    )
    if run is None:
        return f"connection {connection_id}: nothing to do (disabled, already syncing or done)"
    if run.state == SyncRun.State.FAILED:
        # The failure is recorded on the run; reconciling now reports it (SYNC_FAILED).
        transaction.on_commit(queue_reconcile)
        return f"sync {run.pk} failed: {run.error}"
    return (
        f"sync {run.pk} complete: snapshot {run.snapshot_id}, {run.records_done} records, "
        f"{run.quarantined} quarantined, {run.requests} requests"
    )


def sync_due(kind: str = SyncRun.Kind.DELTA) -> str:
    """Queue a sync of `kind` for each enabled connection that is due and idle."""
    queued = []
    now = timezone.now()
    # A run abandoned by a dead worker would otherwise keep its connection "busy" for ever.
    SyncRun.fail_stale(None, stale_after())
    for connection in Connection.objects.filter(enabled=True):
        if kind == SyncRun.Kind.DELTA:
            if connection.schedule_minutes == 0:
                continue
            recent = connection.sync_runs.filter(
                created_at__gt=now
                - timedelta(minutes=connection.schedule_minutes)
                + timedelta(seconds=30),  # a tick early rather than one interval late
                kind__in=[SyncRun.Kind.DELTA, SyncRun.Kind.FULL],
            )
            if recent.exists():
                continue
        if connection.active_run() is not None:
            continue
        queue_sync_task(connection.pk, kind)
        queued.append(connection.name)
    return f"{kind}: queued {', '.join(queued) or 'nothing'}"


def reconcile_latest_task() -> str:
    run = reconcile_latest()
    if run is None:
        return "nothing new to reconcile"
    return f"reconciliation run {run.pk} {run.status}"


# -- enqueueing ----------------------------------------------------------------------------------


def queue_sync_task(
    connection_id: int,
    kind: str,
    run_id: int | None = None,
    trigger: str = SyncRun.Trigger.SCHEDULE,
) -> None:
    transaction.on_commit(
        lambda: async_task(
            SYNC_TASK,
            connection_id,
            kind,
            run_id,
            trigger,
            task_name=f"sync {connection_id} {kind}" + (f" run {run_id}" if run_id else ""),
        )
    )


def queue_sync(connection: Connection, kind: str = SyncRun.Kind.DELTA) -> SyncRun:
    """ "Sync now": a pending run, and its task once the run is committed. Raises
    SyncAlreadyRunning when the connection is syncing already."""
    with transaction.atomic():
        run = begin_sync(connection, kind, trigger=SyncRun.Trigger.MANUAL)
        queue_sync_task(connection.pk, kind, run.pk, SyncRun.Trigger.MANUAL)
    return run


def queue_reconcile() -> None:
    async_task(RECONCILE_TASK, task_name="reconcile latest snapshots")
