"""`manage.py simulate` and `manage.py devstack` as a user runs them: real child processes, real
ports, stopped together by Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connectors.models import Connection, SyncRun
from tests.connectors.test_cluster import database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for base in range(20_000 + os.getpid() % 20_000, 60_000, 10):
        if not any(listening(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free ports")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def start(args: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", **env},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def interrupt(process: subprocess.Popen, timeout: float = 30) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, output


def test_simulate_serves_until_interrupted(tmp_path: Path) -> None:
    port = free_ports(1)
    process = start(
        ["simulate", "woocommerce", "--port", str(port), "--orders", "40", "--fault", "latency=0"]
    )
    wait_for(lambda: listening(port), timeout=60)

    answer = httpx.post(f"http://127.0.0.1:{port}/__sim__/faults", json={"fail_next": 1})
    failing = httpx.get(f"http://127.0.0.1:{port}/__sim__/stats")
    code, output = interrupt(process)

    assert answer.json()["fail_next"] == 1
    assert failing.json()["kind"] == "woocommerce"
    assert code == 0
    assert f"woocommerce  http://127.0.0.1:{port}" in output
    assert "Stopped 1 simulator(s)." in output
    assert not listening(port)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="devstack's processes share the test database: PostgreSQL only (set DATABASE_URL)",
)
def test_devstack_starts_everything_syncs_and_stops_everything_on_ctrl_c(
    transactional_db: None, settings
) -> None:  # noqa: ANN001
    base = free_ports(4)
    web = base + 3
    process = start(
        ["devstack", "--port-base", str(base), "--addr", f"127.0.0.1:{web}"],
        DATABASE_URL=database_url(),
    )
    try:
        wait_for(lambda: all(listening(p) for p in (base, base + 1, base + 2, web)), timeout=90)
        login = httpx.get(f"http://127.0.0.1:{web}/login/")

        def synced() -> bool:
            return SyncRun.objects.filter(state__in=["complete", "failed"]).count() >= 3

        wait_for(synced, timeout=120)
    finally:
        code, output = interrupt(process)

    assert login.status_code == 200
    assert dict(Connection.objects.values_list("kind", "base_url")) == {
        "woocommerce": f"http://127.0.0.1:{base}",
        "prima": f"http://127.0.0.1:{base + 1}",
        "whistl": f"http://127.0.0.1:{base + 2}",
    }
    assert all(
        name.startswith("Demo ") for name in Connection.objects.values_list("name", flat=True)
    )
    runs = {run.connection.kind: run for run in SyncRun.objects.select_related("connection")}
    assert {kind: (run.kind, run.state) for kind, run in runs.items()} == {
        "woocommerce": ("full", "complete"),
        "prima": ("full", "complete"),
        "whistl": ("full", "complete"),
    }, {kind: run.error for kind, run in runs.items()}
    assert code == 0, output
    assert "stopped 3 process(es)" in output
    assert not any(listening(p) for p in (base, base + 1, base + 2, web))
