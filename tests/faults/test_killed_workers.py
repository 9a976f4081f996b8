"""A qcluster killed with SIGKILL (the whole process group, as when a machine dies) in the middle
of a sync and in the middle of a reconciliation, on real workers against PostgreSQL.

What a user expects afterwards: nothing half-saved (no snapshot beyond the complete ones, no
exception or audit event of the dead run), the dead run marked failed as abandoned as soon as the
work is picked up again (the ORM broker redelivers the unacknowledged task after Q_RETRY), and
the redelivered task completing the work.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection as db
from django_q.tasks import async_task

from bench.synthetic import generate
from connectors.models import SyncRun
from connectors.simulators import Simulator
from connectors.sync import reconcile_latest, run_sync
from connectors.tasks import RECONCILE_TASK, queue_sync
from exceptions.models import ExceptionEvent, ExceptionRecord
from exceptions.sync import ADVISORY_LOCK_ID
from reconciliation.bundle import read_bundle
from reconciliation.frames import Bundle
from reconciliation.models import ReconciliationRun, RunMetrics, Snapshot
from reconciliation.runs import reconcile_bundle_object
from reconciliation.store import latest_complete_snapshots, save_snapshots
from tests.connectors.test_cluster import make_connection, stop, wait_for
from tests.faults.conftest import POSTGRES_ONLY, exception_state

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]
# The cluster gives up a task after Q_TIMEOUT and hands an unacknowledged one out again after
# Q_RETRY: short here so the redelivery comes within the test.
TIMINGS = {"Q_TIMEOUT": "8", "Q_RETRY": "10"}
# Orders in the reconciliation test's world: enough for the run to take a few seconds on a worker
# (about 4 s on a quiet machine: reconcile 2 s, record 1.3 s), within a Q_TIMEOUT with room.
ORDERS = 10_000
RECONCILE_TIMINGS = {"Q_TIMEOUT": "15", "Q_RETRY": "16"}


def poll_fast(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {condition}"
        time.sleep(0.01)


def recording() -> bool:
    """A run is in its record phase: some connection holds the advisory lock record_exceptions
    takes for its transaction (which now lasts until the run completes)."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = %s)",
            [ADVISORY_LOCK_ID],
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_mid_sync_changes_nothing_and_the_retry_completes(
    cluster: Callable[..., subprocess.Popen], shop: Simulator, world: Bundle
) -> None:
    # The ERP and warehouse from a bundle, the store synced: a set with exceptions to protect.
    reconcile_bundle_object(world, source="bundle", source_name="the rest of the world")
    connection = make_connection(shop, per_page=10)
    first = run_sync(connection.pk, "full")
    rest = {role: s for role, s in latest_complete_snapshots().items() if role != "store"}
    baseline = reconcile_latest()
    before = exception_state()
    assert before["records"], "the baseline run finds exceptions to protect"
    snapshots = set(Snapshot.objects.values_list("pk", "status"))
    # Six pages at half a second each: time enough to kill the workers in the middle.
    shop.set_faults(latency=0.5)
    killed_cluster = cluster(**TIMINGS)
    run = queue_sync(connection, "full")
    wait_for(lambda: SyncRun.objects.filter(pk=run.pk, state="running", pages_done__gte=1).first())

    stop(killed_cluster, signal.SIGKILL)

    assert SyncRun.objects.get(pk=run.pk).state == "running"  # killed mid-pull, not after
    assert latest_complete_snapshots() == {**rest, "store": first.snapshot}
    assert set(Snapshot.objects.values_list("pk", "status")) == snapshots
    assert exception_state() == before
    assert ReconciliationRun.objects.filter(status="complete").first() == baseline
    assert ReconciliationRun.objects.exclude(status="complete").count() == 0

    shop.set_faults(latency=0)
    cluster(**TIMINGS)
    retry = wait_for(
        lambda: SyncRun.objects.filter(trigger="retry", state="complete").exclude(pk=run.pk).first()
    )
    # The completed sync queues a reconciliation of the new snapshot.
    after = wait_for(
        lambda: ReconciliationRun.objects.filter(
            status="complete", snapshots=retry.snapshot
        ).first()
    )
    killed = SyncRun.objects.get(pk=run.pk)
    assert (killed.state, killed.snapshot) == ("failed", None)
    assert killed.error == "abandoned: no result after 0:00:08 (the worker died or timed out)"
    assert latest_complete_snapshots() == {**rest, "store": retry.snapshot}
    assert retry.snapshot.row_counts == first.snapshot.row_counts
    assert set(after.snapshots.all()) == {retry.snapshot, *rest.values()}
    assert Snapshot.objects.exclude(status="complete").count() == 0
    # The same records reconciled again: the same exceptions, seen by the new run.
    assert [r[:4] for r in exception_state()["records"]] == [r[:4] for r in before["records"]]
    assert not ExceptionRecord.objects.filter(last_run=baseline).exists()


def test_a_worker_killed_mid_reconciliation_changes_nothing_and_the_retry_completes(
    cluster: Callable[..., subprocess.Popen], tmp_path: Path
) -> None:
    # A real input big enough to take a few seconds, from the benchmark's fast generator.
    world = read_bundle(generate(orders=ORDERS, skus=ORDERS // 10, seed=3, out=tmp_path))
    baseline, _ = reconcile_bundle_object(world, source="bundle", source_name="baseline")
    before = exception_state()
    assert len(before["records"]) > 100
    # A newer store snapshot: the latest set differs from the last run's, so the task has work.
    save_snapshots(
        Bundle(as_of=world.as_of, currency=world.currency, roles={"store": world.roles["store"]}),
        source="bundle",
        source_name="newer store",
    )
    killed_cluster = cluster(**RECONCILE_TIMINGS)
    async_task(RECONCILE_TASK, task_name="reconcile latest snapshots")
    running = wait_for(lambda: ReconciliationRun.objects.filter(status="running").first())
    poll_fast(recording, timeout=60)

    stop(killed_cluster, signal.SIGKILL)  # while it records its exceptions, before its commit

    assert ReconciliationRun.objects.get(pk=running.pk).status == "running"
    assert exception_state() == before
    assert not ExceptionEvent.objects.filter(run=running).exists()
    assert not RunMetrics.objects.filter(run=running).exists()

    cluster(**RECONCILE_TIMINGS)
    retried = wait_for(
        lambda: ReconciliationRun.objects.filter(status="complete").exclude(pk=baseline.pk).first(),
        timeout=60,
    )
    dead = ReconciliationRun.objects.get(pk=running.pk)
    assert (dead.status, dead.error) == (
        "failed",
        "abandoned: its process or database connection has gone",
    )
    assert not ExceptionEvent.objects.filter(run=dead).exists()
    assert set(retried.snapshots.all()) == set(latest_complete_snapshots().values())
    assert retried.totals["found"] == ExceptionRecord.objects.filter(last_run=retried).count()
    assert ReconciliationRun.objects.filter(status="running").count() == 0
