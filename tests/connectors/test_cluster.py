"""Real qcluster workers (a subprocess) against PostgreSQL: a queued sync runs end to end, a
worker killed mid-run leaves the run failed and the redelivered task retries it with nothing
half-saved, and the Redis broker variant."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection as db

from connectors.models import Connection, SyncRun
from connectors.simulators import Simulator
from connectors.tasks import SYNC_TASK, queue_sync
from reconciliation.models import ReconciliationRun, Snapshot
from tests.connectors.simapp import KEY, SECRET

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the cluster tests run against PostgreSQL (set DATABASE_URL)",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("qcluster_runner.py")
REDIS_URL = "redis://127.0.0.1:6379/11"


def database_url() -> str:
    params = db.settings_dict
    user = params.get("USER") or "postgres"
    auth = f"{user}:{params['PASSWORD']}" if params.get("PASSWORD") else user
    return f"postgres://{auth}@{params['HOST']}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture
def cluster(transactional_db: None) -> Iterator[Callable[..., subprocess.Popen]]:
    """start(**env) runs a qcluster on the test database; every one is stopped afterwards."""
    started: list[subprocess.Popen] = []

    def start(**env: str) -> subprocess.Popen:
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "Q_WORKERS": "2",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, str(RUNNER)],
            cwd=ROOT,
            env=environment,
            start_new_session=True,  # its own process group: workers are stopped with it
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process, signal.SIGTERM)


def stop(process: subprocess.Popen, sig: int) -> None:
    """SIGTERM to the cluster's main process (it stops its workers); SIGKILL to the whole
    process group at once, as when a machine dies."""
    if sig == signal.SIGKILL:
        os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # any worker the main process left behind


def wait_for(condition: Callable[[], object], timeout: float = 40.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {condition}")


def make_connection(shop: Simulator, **options: object) -> Connection:
    connection = Connection(
        name="Test shop", kind="testshop", role="store", base_url=shop.url, options=options
    )
    connection.set_credentials({"key": KEY, "secret": SECRET})
    connection.save()
    return connection


def finished(run_id: int) -> SyncRun | None:
    run = SyncRun.objects.get(pk=run_id)
    return run if run.state in ("complete", "failed") else None


def test_a_queued_sync_runs_on_real_workers_and_queues_a_reconcile(
    cluster: Callable[..., subprocess.Popen], shop: Simulator
) -> None:
    connection = make_connection(shop)
    cluster()

    run = queue_sync(connection, "full")

    assert run.state == "pending"
    done = wait_for(lambda: finished(run.pk))
    assert done.state == "complete"
    assert done.trigger == "manual"
    assert done.snapshot.row_counts == {"orders": 52, "order_lines": 76}
    assert (done.pages_done, done.requests) == (3, 3)
    reconciled = wait_for(lambda: ReconciliationRun.objects.filter(status="complete").first())
    assert list(reconciled.snapshots.all()) == [done.snapshot]


def test_a_worker_killed_mid_run_leaves_it_failed_and_the_task_retries(
    cluster: Callable[..., subprocess.Popen], shop: Simulator
) -> None:
    # Six pages at half a second each: time enough to kill the worker in the middle.
    connection = make_connection(shop, per_page=10)
    shop.set_faults(latency=0.5)
    timings = {"Q_TIMEOUT": "8", "Q_RETRY": "10"}
    first = cluster(**timings)
    run = queue_sync(connection, "full")
    wait_for(lambda: SyncRun.objects.filter(pk=run.pk, state="running", pages_done__gte=1).first())

    stop(first, signal.SIGKILL)  # the whole cluster, workers too, mid-pull

    killed = SyncRun.objects.get(pk=run.pk)
    assert killed.state == "running"
    assert Snapshot.objects.count() == 0  # nothing half-saved
    shop.set_faults(latency=0)
    cluster(**timings)
    # The ORM broker hands the unacknowledged task out again after `retry` seconds; the task
    # fails its abandoned run and runs again as a new one.
    retry = wait_for(
        lambda: (
            SyncRun.objects.filter(connection=connection, trigger="retry", state="complete")
            .exclude(pk=run.pk)
            .first()
        )
    )
    killed.refresh_from_db()
    assert killed.state == "failed"
    assert killed.error == "abandoned: no result after 0:00:08 (the worker died or timed out)"
    assert killed.snapshot is None
    assert retry.kind == "full"
    assert Snapshot.objects.filter(status="complete").count() == 1
    assert Snapshot.objects.exclude(status="complete").count() == 0
    assert retry.snapshot.row_counts == {"orders": 52, "order_lines": 76}


def test_the_redis_broker_runs_a_sync_end_to_end(
    cluster: Callable[..., subprocess.Popen], shop: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    from django_q.brokers.redis_broker import Redis
    from django_q.conf import Conf
    from django_q.tasks import async_task

    name = f"parity-test-{os.getpid()}"
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    broker = Redis(list_key=name)
    broker.delete_queue()
    connection = make_connection(shop)
    cluster(REDIS_URL=REDIS_URL, PARITY_TEST_Q_NAME=name)

    async_task(SYNC_TASK, connection.pk, "full", broker=broker)

    done = wait_for(lambda: SyncRun.objects.filter(state__in=["complete", "failed"]).first())
    assert done.state == "complete"
    assert done.snapshot.row_counts == {"orders": 52, "order_lines": 76}
    assert broker.queue_size() == 0
    broker.delete_queue()
