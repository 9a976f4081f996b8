"""The database connection of a running reconciliation dropped (pg_terminate_backend from another
connection, as a failover or a DBA would) in its save phase and in its record phase: the run is
recorded failed with the reason, nothing of it is half-saved (its snapshots are whole or absent,
its exceptions absent), and the next run works.

The run goes in a thread with its own connection; its progress callback (called as each phase
starts) holds the run there until the test has terminated that connection, so the drop lands in
the named phase every time.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from connectors.models import SyncRun
from connectors.simulators import Simulator
from connectors.sync import run_sync
from exceptions.models import ExceptionEvent
from reconciliation.demo import build_demo_bundle
from reconciliation.frames import Bundle
from reconciliation.models import ReconciliationRun, RunMetrics, Snapshot
from reconciliation.runs import reconcile_bundle_object
from reconciliation.store import latest_complete_snapshots
from tests.connectors.test_cluster import make_connection, wait_for
from tests.faults.conftest import POSTGRES_ONLY, exception_state, in_thread

pytestmark = [POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]
WORLD = build_demo_bundle(seed=5, orders=300, as_of="2026-11-01T12:00:00Z")


def run_with_drop(phase: str) -> dict[str, Any]:
    """Reconcile WORLD in a thread whose connection is terminated as `phase` starts."""
    pid: dict[str, int] = {}
    reached = threading.Event()
    dropped = threading.Event()

    def progress(message: str) -> None:
        if message == f"{phase} …":
            reached.set()
            assert dropped.wait(10), "the test never dropped the connection"

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid["pid"] = cursor.fetchone()[0]
        reconcile_bundle_object(WORLD, source="bundle", source_name="drop", progress=progress)

    thread, outcome = in_thread(run)
    assert reached.wait(30), f"the run never reached {phase}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid["pid"]])
        assert cursor.fetchone() == (True,)
    dropped.set()
    thread.join(30)
    assert not thread.is_alive()
    return outcome


@pytest.mark.parametrize("phase", ["save_snapshots", "save_exceptions"])
def test_a_dropped_connection_fails_the_run_cleanly_and_the_next_run_works(phase: str) -> None:
    first, _ = reconcile_bundle_object(WORLD, source="bundle", source_name="before")
    before = exception_state()
    snapshots_before = set(Snapshot.objects.values_list("pk", "status"))

    outcome = run_with_drop(phase)

    assert type(outcome["error"]).__name__ == "OperationalError"
    failed = ReconciliationRun.objects.exclude(pk=first.pk).get()
    assert failed.status == "failed"
    assert failed.error.startswith("OperationalError: ")
    assert "terminating connection due to administrator command" in failed.error
    assert failed.finished_at is not None
    saved = Snapshot.objects.exclude(pk__in=[pk for pk, _ in snapshots_before])
    if phase == "save_snapshots":
        assert not saved.exists()
    else:
        # Saved whole before the drop (one transaction): complete, every row there, and the
        # failed run's own; no later run reads them.
        assert set(saved) == set(failed.snapshots.all())
        assert {s.role: s.row_counts for s in saved} == {
            s.role: s.row_counts for s in first.snapshots.all()
        }
        assert {s.status for s in saved} == {"complete"}
    assert exception_state() == before
    assert not ExceptionEvent.objects.filter(run=failed).exists()
    assert not RunMetrics.objects.filter(run=failed).exists()

    after, _ = reconcile_bundle_object(WORLD, source="bundle", source_name="after")

    assert after.status == "complete"
    assert after.totals["found"] == first.totals["found"]
    assert after.totals["opened"] == 0


def test_a_sync_whose_connection_drops_mid_pull_fails_with_the_reason(
    shop: Simulator, world: Bundle
) -> None:
    reconcile_bundle_object(world, source="bundle", source_name="the rest of the world")
    connection_row = make_connection(shop, per_page=10)
    first = run_sync(connection_row.pk, "full")
    before = exception_state()
    latest = latest_complete_snapshots()
    shop.set_faults(latency=0.3)  # six pages: time to drop the connection in the middle
    pid: dict[str, int] = {}
    finished: dict[str, Any] = {}

    def work() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid["sync"] = cursor.fetchone()[0]
            finished["run"] = run_sync(connection_row.pk, "full")
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    wait_for(lambda: SyncRun.objects.filter(state="running", pages_done__gte=1).first())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid["sync"]])
    thread.join(30)

    run = SyncRun.objects.exclude(pk=first.pk).get()
    assert (run.state, run.snapshot) == ("failed", None)
    assert run.error.startswith("OperationalError: ")
    assert "terminating connection due to administrator command" in run.error
    assert latest_complete_snapshots() == latest
    assert exception_state() == before

    shop.set_faults(latency=0)
    again = run_sync(connection_row.pk, "full")

    assert again.state == "complete"
    assert again.snapshot.row_counts == first.snapshot.row_counts
