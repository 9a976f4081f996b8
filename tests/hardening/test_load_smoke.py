"""bench/load.py at a small scale: 5 people for 5 seconds, while the three simulated systems are
synced and the latest snapshots reconciled, get every page and action through with no error."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ("acknowledge", "comment", "assign")
QUEUES = ("mine", "all", "P1", "P2 acknowledged", "next page")
KINDS = {"sign-in", "queue", "detail", *ACTIONS, "work", "work after the start", "all"}
KINDS |= {f"queue: {variant}" for variant in QUEUES}


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench seeds with PostgreSQL")
@pytest.mark.skipif(
    not any(importlib.util.find_spec(server) for server in ("gunicorn", "waitress")),
    reason="the bench serves with gunicorn or waitress",
)
def test_five_people_for_five_seconds_meet_no_error(tmp_path: Path) -> None:
    # The bench makes (and drops) its own throwaway database, test_<name>: a name of its own,
    # so it never meets this test session's database.
    url = urlsplit(os.environ["DATABASE_URL"])
    own = urlunsplit(url._replace(path=url.path + "_load"))
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--tiny", "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": own},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())

    assert (report["users"], report["errors"], report["error_samples"]) == (5, 0, [])
    assert report["seconds"] >= 5
    kinds = report["kinds"]
    assert kinds["sign-in"]["count"] == 10  # the login page and its POST, per person
    assert kinds["queue"]["count"] > 0
    assert kinds["detail"]["count"] > 0
    assert set(kinds) <= KINDS
    posted = {action: kinds.get(action, {"count": 0})["count"] for action in ACTIONS}
    assert sum(posted.values()) > 0
    # Every comment is an event; an acknowledgement or assignment someone else made first is not.
    events = report["events"]
    assert set(events) <= {"commented", "acknowledged", "assigned"}
    assert events.get("commented", 0) == posted["comment"]
    assert events.get("acknowledged", 0) <= posted["acknowledge"]
    assert events.get("assigned", 0) <= posted["assign"]
    assert sum(events.values()) > 0
    assert kinds["all"]["count"] == report["requests"]
    jobs = [(job["job"], job["state"]) for job in report["jobs"]]
    assert jobs[:4] == [
        ("sync woocommerce", "complete"),
        ("sync prima", "complete"),
        ("sync whistl", "complete"),
        ("reconcile", "complete"),
    ]
    assert all(state == "complete" for _, state in jobs)
