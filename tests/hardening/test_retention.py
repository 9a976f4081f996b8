"""Personal data retention: snapshots past PARITY_RETENTION_DAYS go with their rows, in batches,
except those still in use; exceptions, their events, runs and run summaries stay as they were."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from connectors.models import Connection, SyncRun
from connectors.schedules import SCHEDULES, sync_schedules
from exceptions.models import ExceptionEvent, ExceptionRecord
from reconciliation.bundle import read_bundle
from reconciliation.models import ROW_MODELS, ReconciliationRun, RunMetrics, Snapshot
from reconciliation.retention import protected_snapshot_ids, purge_snapshots
from reconciliation.runs import reconcile_bundle_object
from tests.bundles import write_bundle_dir

pytestmark = pytest.mark.django_db

PLACED = "2026-11-29T10:00:00Z"


def _files(roles: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Each role: one order with a customer's address, its line, a product and a stock row."""
    files: dict[str, list[dict[str, Any]]] = {}
    for role in roles:
        ref = {"store": "W1", "erp": "E1", "wms": "D1"}[role]
        files[f"{role}/orders.csv"] = [
            {
                "order_ref": ref,
                "source_ref": "" if role == "store" else "W1",
                "status": "open",
                "placed_at": PLACED,
                "ship_name": "Ann Lee",
                "ship_line1": "1 Mill Lane",
                "email": "ann@example.com",
            }
        ]
        files[f"{role}/order_lines.csv"] = [
            {"order_ref": ref, "line_no": "1", "sku": "MUG1", "quantity": "2"}
        ]
        files[f"{role}/products.csv"] = [{"sku": "MUG1", "name": "Mug"}]
        files[f"{role}/stock.csv"] = [{"sku": "MUG1", "on_hand": "3", "allocated": "0"}]
    return files


def _run(tmp_path: Path, roles: tuple[str, ...], days_ago: int, taken_at: str) -> dict[str, int]:
    """A complete reconciliation of the roles, moved `days_ago` into the past; role → snapshot."""
    systems = {role: {"kind": "sim", "taken_at": taken_at} for role in roles}
    root = write_bundle_dir(
        tmp_path / f"run{days_ago}", as_of=taken_at, systems=systems, files=_files(roles)
    )
    run, _ = reconcile_bundle_object(read_bundle(root), source="bundle", source_name=root.name)
    assert run is not None
    then = timezone.now() - timedelta(days=days_ago)
    ReconciliationRun.objects.filter(pk=run.pk).update(created_at=then)
    run.snapshots.update(created_at=then)
    return dict(run.snapshots.values_list("role", "id"))


def _snapshot(role: str, days_ago: int, taken_at: str, status: str) -> int:
    """A snapshot no run used (a connector's), with one order row."""
    snapshot = Snapshot.objects.create(
        role=role,
        kind="sim",
        taken_at=taken_at,
        source=Snapshot.Source.CONNECTOR,
        status=status,
        created_at=timezone.now() - timedelta(days=days_ago),
    )
    ROW_MODELS["orders"].objects.create(
        snapshot=snapshot, order_ref="X1", status="open", placed_at=PLACED, email="x@example.com"
    )
    return snapshot.pk


@pytest.fixture(scope="module")
def built_world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The world, committed once for the module (four reconciliations: seconds); each test's
    own transaction rolls its purge back. Flushed afterwards, as a transactional test does."""
    with django_db_blocker.unblock():
        try:
            yield _build_world(tmp_path_factory.mktemp("retention"))
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def world(built_world: dict[str, Any], db: None) -> dict[str, Any]:
    return dict(built_world)


def _build_world(tmp_path: Path) -> dict[str, Any]:
    """Snapshots of every kind a purge must tell apart (ages in days; retention is 90)."""
    w: dict[str, Any] = {}
    w["run1"] = _run(tmp_path, ("store", "erp", "wms"), 200, "2026-06-01T00:00:00Z")
    w["run2"] = _run(tmp_path, ("store", "erp"), 150, "2026-07-01T00:00:00Z")
    # The latest run with the warehouse: in force for it, however old.
    w["run3"] = _run(tmp_path, ("store", "erp", "wms"), 100, "2026-08-01T00:00:00Z")
    w["run4"] = _run(tmp_path, ("store", "erp"), 1, "2026-11-30T00:00:00Z")  # the latest run
    failed = ReconciliationRun.objects.create(
        status=ReconciliationRun.Status.FAILED, error="boom", created_at=timezone.now()
    )
    w["failed_store"] = _snapshot("store", 120, "2026-07-15T00:00:00Z", "complete")
    failed.snapshots.add(w["failed_store"])
    # A connector's erp snapshot taken after every other: the base of the next delta sync.
    w["latest_erp"] = _snapshot("erp", 120, "2026-12-01T00:00:00Z", "complete")
    w["abandoned"] = _snapshot("wms", 300, "2026-05-01T00:00:00Z", "loading")
    w["recent"] = _snapshot("store", 10, "2026-01-01T00:00:00Z", "complete")
    connection = Connection(name="Shop", kind="testshop", role="store", base_url="http://x")
    connection.set_credentials({"key": "k", "secret": "s"})
    connection.save()
    w["sync"] = SyncRun.objects.create(
        connection=connection, state="complete", snapshot_id=w["run1"]["store"]
    )
    return w


def _rows() -> dict[int, int]:
    """snapshot id → rows it holds across every row table."""
    counts: dict[int, int] = {}
    for model in ROW_MODELS.values():
        for snapshot_id in model.objects.values_list("snapshot_id", flat=True):
            counts[snapshot_id] = counts.get(snapshot_id, 0) + 1
    return counts


def _untouched() -> dict[str, Any]:
    """What a purge must leave exactly as it was."""
    return {
        "runs": sorted(ReconciliationRun.objects.values_list("id", "status", "created_at")),
        "metrics": sorted(RunMetrics.objects.values_list("run_id", "unresolved", "by_rule")),
        "exceptions": sorted(
            ExceptionRecord.objects.values_list("id", "rule", "key", "status", "details")
        ),
        "events": sorted(
            ExceptionEvent.objects.values_list("id", "kind", "to_value", "note", "run_id")
        ),
    }


def test_only_old_snapshots_no_one_uses_are_purged(world: dict[str, Any]) -> None:
    before_rows, before = _rows(), _untouched()
    assert ExceptionRecord.objects.exists()  # the runs found something to keep
    gone = {*world["run1"].values(), *world["run2"].values()}
    gone |= {world["failed_store"], world["abandoned"]}
    kept = {*world["run3"].values(), *world["run4"].values()}
    kept |= {world["latest_erp"], world["recent"]}

    report = purge_snapshots(90)

    assert set(Snapshot.objects.values_list("id", flat=True)) == kept
    assert _rows() == {pk: before_rows[pk] for pk in kept}
    assert report.snapshots == 7
    assert sum(report.rows.values()) == sum(before_rows[pk] for pk in gone) == 22
    assert report.rows["orders"] == 7
    assert report.kept == 4  # run3's three (100 days) and the latest erp (120 days)
    assert _untouched() == before
    world["sync"].refresh_from_db()
    assert world["sync"].snapshot_id is None  # the sync run stays, without its snapshot
    run1 = ReconciliationRun.objects.get(created_at__lt=timezone.now() - timedelta(days=199))
    assert list(run1.snapshots.all()) == []


def test_the_protected_set(world: dict[str, Any]) -> None:
    assert protected_snapshot_ids() == {
        *world["run3"].values(),
        *world["run4"].values(),
        world["latest_erp"],
    }


def test_small_batches_delete_the_same(world: dict[str, Any]) -> None:
    report = purge_snapshots(90, batch_rows=1, batch_snapshots=2)
    assert (report.snapshots, sum(report.rows.values())) == (7, 22)
    assert Snapshot.objects.count() == 7


def test_a_dry_run_deletes_nothing(world: dict[str, Any]) -> None:
    before = _rows()
    report = purge_snapshots(90, dry_run=True)
    assert (report.snapshots, report.kept, report.rows["orders"]) == (7, 4, 7)
    assert _rows() == before
    assert Snapshot.objects.count() == 14


def test_a_second_purge_finds_nothing(world: dict[str, Any]) -> None:
    purge_snapshots(90)
    report = purge_snapshots(90)
    assert (report.snapshots, sum(report.rows.values()), report.kept) == (0, 0, 4)


@override_settings(PARITY_RETENTION_DAYS=365)
def test_the_setting_is_the_default(world: dict[str, Any]) -> None:
    assert purge_snapshots().snapshots == 0
    assert Snapshot.objects.count() == 14


def test_the_command(world: dict[str, Any]) -> None:
    out = StringIO()
    call_command("purge_snapshots", "--days", "90", "--dry-run", stdout=out)
    assert out.getvalue().startswith("would delete 7 snapshot(s) and ")
    assert Snapshot.objects.count() == 14
    out = StringIO()
    call_command("purge_snapshots", "--days", "90", stdout=out)
    assert out.getvalue().startswith("deleted 7 snapshot(s) and ")
    assert out.getvalue().rstrip().endswith("kept 4 older snapshot(s) still in use")
    assert Snapshot.objects.count() == 7


def test_the_scheduled_job(world: dict[str, Any]) -> None:
    (spec,) = [s for s in SCHEDULES if s.name == "purge old snapshots"]
    sync_schedules()
    schedule = Schedule.objects.get(name=spec.full_name)
    assert (schedule.func, schedule.schedule_type) == (
        "reconciliation.retention.purge_snapshots_task",
        Schedule.DAILY,
    )
    summary = import_string(schedule.func)()  # what the cluster calls
    assert summary.startswith("deleted 7 snapshot(s) and ")
    assert Snapshot.objects.count() == 7


def test_every_exception_page_still_opens_after_a_purge(
    world: dict[str, Any], client: Client, make_user: Callable[..., AbstractUser]
) -> None:
    """An exception last seen by a purged run says its evidence is gone; the others keep it."""
    client.force_login(make_user("otto", group="Ops"))
    # One exception last seen 200 days ago, by the first run (its snapshots are not in use).
    oldest = ReconciliationRun.objects.order_by("created_at").first()
    first = ExceptionRecord.objects.order_by("id").first()
    ExceptionRecord.objects.filter(pk=first.pk).update(last_run=oldest)
    links = ReconciliationRun.snapshots.through.objects
    before = set(links.values_list("reconciliationrun_id", flat=True))
    purge_snapshots(90)
    still = set(links.values_list("reconciliationrun_id", flat=True))
    purged_runs = before - still
    records = list(ExceptionRecord.objects.select_related("last_run"))
    gone = [r for r in records if r.last_run_id in purged_runs]
    kept = [r for r in records if r.last_run_id in still]
    assert [r.pk for r in gone] == [first.pk]
    assert len(kept) == len(records) - 1
    for record in records:
        page = client.get(f"/exceptions/{record.pk}/")
        assert page.status_code == 200, record
        missing = f"The snapshots of run {record.last_run_id} are no longer stored."
        assert (missing in page.content.decode()) == (record in gone), record
