"""Two reconciliations started at once: the second is refused with a message naming the running
one, never both writing, and the exceptions end exactly as after one run. A run whose process
went away (its connection closed without finishing) frees the slot at once on PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from exceptions.models import EventKind, ExceptionEvent, ExceptionRecord
from reconciliation.bundle import write_bundle
from reconciliation.demo import build_demo_bundle
from reconciliation.models import ReconciliationRun, RunAlreadyRunning, Snapshot
from reconciliation.runs import reconcile_path
from tests.faults.conftest import POSTGRES_ONLY, in_thread

pytestmark = [POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle")
    write_bundle(build_demo_bundle(seed=9, orders=300, as_of="2026-11-01T12:00:00Z"), path)
    return path


def test_a_second_run_started_during_a_run_is_refused_and_writes_nothing(
    bundle_dir: Path,
) -> None:
    first_running = threading.Event()
    second_done = threading.Event()

    def hold(message: str) -> None:
        # The first run waits in its save phase until the second has tried to start.
        if message == "save_snapshots …":
            first_running.set()
            assert second_done.wait(30)

    first, first_outcome = in_thread(lambda: reconcile_path(bundle_dir, progress=hold))
    assert first_running.wait(30)
    second, second_outcome = in_thread(lambda: reconcile_path(bundle_dir))
    second.join(30)
    second_done.set()
    first.join(60)

    refused = second_outcome["error"]
    assert isinstance(refused, RunAlreadyRunning)
    run, result = first_outcome["result"]
    assert str(refused) == (
        f"reconciliation run {run.pk} is already running "
        f"(since {run.started_at:%Y-%m-%d %H:%M:%S %Z})"
    )
    assert list(ReconciliationRun.objects.values_list("pk", "status")) == [(run.pk, "complete")]
    # Exactly one run's writing: its snapshots, one detection per exception.
    assert set(Snapshot.objects.values_list("pk", flat=True)) == set(
        run.snapshots.values_list("pk", flat=True)
    )
    assert ExceptionRecord.objects.count() == len(result.exceptions) == run.totals["found"]
    assert ExceptionEvent.objects.filter(kind=EventKind.DETECTED).count() == len(result.exceptions)
    assert ExceptionEvent.objects.exclude(run=run).count() == 0


def test_of_many_runs_begun_at_the_same_instant_exactly_one_holds_the_slot() -> None:
    for attempt in range(10):
        barrier = threading.Barrier(4)

        def begin(n: int = attempt, barrier: threading.Barrier = barrier) -> ReconciliationRun:
            barrier.wait(10)
            return ReconciliationRun.begin(source=f"race {n}")

        started = [in_thread(begin) for _ in range(4)]
        for thread, _ in started:
            thread.join(30)
        winners = [outcome["result"] for _, outcome in started if "result" in outcome]
        refused = [outcome["error"] for _, outcome in started if "error" in outcome]
        assert len(winners) == 1, f"attempt {attempt}: {winners} {refused}"
        assert all(isinstance(error, RunAlreadyRunning) for error in refused)
        assert len(refused) == 3
        ReconciliationRun.objects.filter(status="running").update(status="complete")


def test_a_run_whose_process_went_away_frees_the_slot_at_once(bundle_dir: Path) -> None:
    # A run begun in a thread whose connection then closes: what a killed process leaves.
    thread, outcome = in_thread(lambda: ReconciliationRun.begin(source="bundle: killed"))
    thread.join(30)
    stale = outcome["result"]
    assert ReconciliationRun.objects.get(pk=stale.pk).status == "running"

    run, _ = reconcile_path(bundle_dir)

    stale.refresh_from_db()
    assert (stale.status, stale.error) == (
        "failed",
        "abandoned: its process or database connection has gone",
    )
    assert run.status == "complete"


def test_a_live_run_is_not_taken_for_abandoned(bundle_dir: Path) -> None:
    # This connection holds a run: another connection must see it as alive and be refused.
    live = ReconciliationRun.begin(source="bundle: live")
    thread, outcome = in_thread(lambda: reconcile_path(bundle_dir))
    thread.join(60)

    assert isinstance(outcome["error"], RunAlreadyRunning)
    assert ReconciliationRun.objects.get(pk=live.pk).status == "running"
    assert Snapshot.objects.count() == 0
    live.complete()
