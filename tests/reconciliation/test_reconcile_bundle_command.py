import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from exceptions.models import ExceptionRecord
from reconciliation.bundle import read_bundle
from reconciliation.engine import reconcile, result_json
from reconciliation.models import ReconciliationRun, Snapshot, SnapshotOrder

pytestmark = pytest.mark.django_db

EXCEPTION_FIELDS = ["rule", "key", "owner", "team", "priority", "score", "summary", "details"]
PHASES = ("read", "save_snapshots", "reconcile", "save_exceptions")
BROKEN = [
    "store/orders.csv line 3: status 'shiped' is not a canonical status",
    "erp/order_lines.csv line 2: quantity -1 is negative",
]


def reconcile_bundle(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reconcile_bundle", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_writes_the_json_of_bundle_md_and_saves_the_run(
    small_bundle_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.json"

    out, err = reconcile_bundle(str(small_bundle_dir), "--json", str(target))

    document = json.loads(target.read_text(encoding="utf-8"))
    assert list(document) == ["as_of", "exceptions"]
    assert document["as_of"] == "2026-11-30T23:59:00Z"
    assert [list(e) for e in document["exceptions"]] == [EXCEPTION_FIELDS] * 2
    assert [(e["rule"], e["key"], e["owner"], e["team"]) for e in document["exceptions"]] == [
        ("ORDER_NOT_IN_ERP", "W1", "office", "ecommerce"),
        ("TAX_MISMATCH", "W2", "office", "finance"),
    ]
    scores = [e["score"] for e in document["exceptions"]]
    assert scores == sorted(scores, reverse=True)
    # Exactly what the engine says for this bundle, nothing added or lost on the way.
    assert document == json.loads(json.dumps(result_json(reconcile(read_bundle(small_bundle_dir)))))
    assert target.read_text(encoding="utf-8").startswith('{\n  "as_of"')  # indented

    run = ReconciliationRun.objects.get()
    assert run.status == "complete"
    assert ExceptionRecord.objects.count() == 2
    assert err == ""
    lines = out.splitlines()
    assert lines[0:8:2] == [f"{phase} …" for phase in PHASES]
    assert [line.rsplit(" ", 1)[0] for line in lines[1:8:2]] == [f"{p} done in" for p in PHASES]
    assert lines[8] == f"2 exception(s) as of 2026-11-30 23:59 UTC; run {run.pk} complete"
    assert "  ORDER_NOT_IN_ERP: 1" in lines
    assert "  TAX_MISMATCH: 1" in lines
    assert "  ORDER_HELD: 0" in lines
    assert "  ORDER_NOT_AT_WMS: skipped (no wms role)" in lines
    assert "  found 2, opened 2, seen_again 0, reopened 0, auto_resolved 0, escalated 0" in lines
    assert lines[-1].startswith("timings: read ")


def test_json_to_stdout_keeps_stdout_pure(small_bundle_dir: Path) -> None:
    out, err = reconcile_bundle(str(small_bundle_dir), "--json", "-")

    document = json.loads(out)
    assert [(e["rule"], e["key"]) for e in document["exceptions"]] == [
        ("ORDER_NOT_IN_ERP", "W1"),
        ("TAX_MISMATCH", "W2"),
    ]
    assert err.splitlines()[0] == "read …"
    assert "  TAX_MISMATCH: 1" in err.splitlines()


def test_no_save_writes_nothing_to_the_database(small_bundle_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.json"

    out, _ = reconcile_bundle(str(small_bundle_dir), "--json", str(target), "--no-save")

    assert len(json.loads(target.read_text(encoding="utf-8"))["exceptions"]) == 2
    assert "2 exception(s) as of 2026-11-30 23:59 UTC; not saved (--no-save)" in out.splitlines()
    assert ReconciliationRun.objects.count() == 0
    assert Snapshot.objects.count() == 0
    assert ExceptionRecord.objects.count() == 0


def test_a_broken_bundle_prints_every_problem_and_saves_nothing(broken_bundle_dir: Path) -> None:
    err = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("reconcile_bundle", str(broken_bundle_dir), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == BROKEN
    assert str(caught.value) == f"2 problem(s) in bundle {broken_bundle_dir}; nothing was saved"
    assert ReconciliationRun.objects.count() == 0
    assert Snapshot.objects.count() == 0
    assert SnapshotOrder.objects.count() == 0


def test_a_broken_bundle_exits_non_zero(broken_bundle_dir: Path, tmp_path: Path) -> None:
    # A real process, for the exit status; the bundle fails before any database work.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    completed = subprocess.run(
        [sys.executable, "manage.py", "reconcile_bundle", str(broken_bundle_dir)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 1
    assert completed.stdout == "read …\n"  # the progress line of the phase that failed
    assert completed.stderr.splitlines() == [
        *BROKEN,
        f"CommandError: 2 problem(s) in bundle {broken_bundle_dir}; nothing was saved",
    ]


def test_a_run_in_progress_refuses_a_second(small_bundle_dir: Path) -> None:
    running = ReconciliationRun.begin(source="bundle: elsewhere")

    with pytest.raises(CommandError) as caught:
        reconcile_bundle(str(small_bundle_dir))

    since = f"{running.started_at:%Y-%m-%d %H:%M:%S} UTC"
    assert str(caught.value) == (
        f"reconciliation run {running.pk} is already running (since {since}); nothing was saved"
    )

    assert Snapshot.objects.count() == 0
