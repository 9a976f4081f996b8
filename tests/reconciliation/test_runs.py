from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from exceptions.models import ExceptionRecord
from integration.models import SettingsProfile
from reconciliation import runs
from reconciliation.bundle import BundleError, read_bundle
from reconciliation.models import (
    InvalidTransition,
    ReconciliationRun,
    RunAlreadyRunning,
    Snapshot,
    SnapshotOrder,
)
from reconciliation.runs import effective_settings, reconcile_bundle_object, reconcile_path
from reconciliation.settings import ReconSettings
from tests.bundles import write_bundle_dir
from tests.reconciliation.conftest import AS_OF, small_bundle_files

pytestmark = pytest.mark.django_db

PHASES = ["read", "save_snapshots", "reconcile", "save_exceptions"]
FOUND = {("ORDER_NOT_IN_ERP", "W1"), ("TAX_MISMATCH", "W2")}


def found(result: runs.Result) -> set[tuple[str, str]]:
    return set(zip(result.exceptions["rule"], result.exceptions["key"], strict=True))


def test_a_run_saves_snapshots_reconciles_and_records(small_bundle_dir: Path) -> None:
    lines: list[str] = []

    run, result = reconcile_path(small_bundle_dir, progress=lines.append)

    run.refresh_from_db()
    assert run.status == "complete"
    assert run.started_at <= run.finished_at
    assert run.as_of.isoformat() == "2026-11-30T23:59:00+00:00"
    assert run.currency == "GBP"
    assert run.source == f"bundle: {small_bundle_dir}"
    assert run.error == ""
    assert found(result) == FOUND
    assert run.counts == result.counts
    assert run.counts["ORDER_NOT_IN_ERP"] == 1
    assert run.counts["TAX_MISMATCH"] == 1
    assert run.totals == {
        "found": 2,
        "opened": 2,
        "seen_again": 0,
        "reopened": 0,
        "auto_resolved": 0,
        "escalated": 0,
    }
    assert set(PHASES) <= set(run.timings)  # jsonb does not keep key order
    assert sorted(s.role for s in run.snapshots.all()) == ["erp", "store"]
    assert SnapshotOrder.objects.count() == 3
    assert set(ExceptionRecord.objects.values_list("rule", "key")) == FOUND
    assert [line.split(" ")[0] for line in lines] == [p for p in PHASES for _ in (1, 2)]


def test_the_same_bundle_again_sees_the_same_exceptions(small_bundle_dir: Path) -> None:
    reconcile_path(small_bundle_dir)

    second, _ = reconcile_path(small_bundle_dir)

    assert second.totals["seen_again"] == 2
    assert second.totals["opened"] == 0
    assert ExceptionRecord.objects.count() == 2
    assert Snapshot.objects.count() == 4  # every run keeps its own snapshots


def test_without_save_nothing_is_written(
    small_bundle_dir: Path, django_assert_num_queries: object
) -> None:
    # Reads only: the settings profile and the four mapping tables (integration/mappings.py).
    with django_assert_num_queries(5):
        run, result = reconcile_path(small_bundle_dir, save=False)

    assert run is None
    assert found(result) == FOUND
    assert list(result.timings)[:2] == ["read", "reconcile"]
    assert ReconciliationRun.objects.count() == 0
    assert Snapshot.objects.count() == 0
    assert ExceptionRecord.objects.count() == 0


def test_a_bad_bundle_creates_no_run_and_saves_nothing(broken_bundle_dir: Path) -> None:
    with pytest.raises(BundleError):
        reconcile_path(broken_bundle_dir)

    assert ReconciliationRun.objects.count() == 0
    assert Snapshot.objects.count() == 0
    assert SnapshotOrder.objects.count() == 0


def test_only_one_run_runs_at_a_time() -> None:
    first = ReconciliationRun.begin(source="bundle: a")

    with pytest.raises(RunAlreadyRunning):
        ReconciliationRun.begin(source="bundle: b")

    assert list(ReconciliationRun.objects.values_list("pk", "status")) == [(first.pk, "running")]


def test_a_pending_run_cannot_start_while_another_runs() -> None:
    ReconciliationRun.begin(source="bundle: a")
    queued = ReconciliationRun.objects.create(source="bundle: b")

    with pytest.raises(RunAlreadyRunning):
        queued.start()

    queued.refresh_from_db()
    assert (queued.status, queued.started_at) == ("pending", None)


def test_a_reconciliation_is_refused_while_another_runs(small_bundle_dir: Path) -> None:
    ReconciliationRun.begin(source="bundle: elsewhere")

    with pytest.raises(RunAlreadyRunning):
        reconcile_path(small_bundle_dir)

    assert ReconciliationRun.objects.count() == 1
    assert Snapshot.objects.count() == 0


def test_a_run_abandoned_by_a_dead_process_is_failed_and_frees_the_slot(
    small_bundle_dir: Path,
) -> None:
    stale = ReconciliationRun.begin(source="bundle: killed")
    ReconciliationRun.objects.filter(pk=stale.pk).update(
        started_at=timezone.now() - runs.ABANDONED_AFTER - timedelta(minutes=1)
    )

    run, _ = reconcile_path(small_bundle_dir)

    stale.refresh_from_db()
    assert stale.status == "failed"
    assert stale.error == "abandoned: still running after 2:00:00 (its process has gone)"
    assert run.status == "complete"


def test_a_recent_run_is_not_taken_for_abandoned() -> None:
    ReconciliationRun.begin(source="bundle: busy")

    assert ReconciliationRun.fail_abandoned(runs.ABANDONED_AFTER) == 0
    assert ReconciliationRun.objects.get().status == "running"


def test_the_slot_is_free_again_once_a_run_finishes(small_bundle_dir: Path) -> None:
    first, _ = reconcile_path(small_bundle_dir)

    second = ReconciliationRun.begin(source="bundle: next")

    assert (first.status, second.status) == ("complete", "running")


def test_a_failure_marks_the_run_failed_and_reraises(
    small_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_sync(*args: object) -> dict[str, int]:
        raise RuntimeError("exceptions table is locked")

    monkeypatch.setattr(runs, "record_exceptions", broken_sync)

    with pytest.raises(RuntimeError, match="locked"):
        reconcile_path(small_bundle_dir)

    run = ReconciliationRun.objects.get()
    assert run.status == "failed"
    assert run.error == "RuntimeError: exceptions table is locked"
    assert run.finished_at is not None
    assert run.counts == {}
    assert ExceptionRecord.objects.count() == 0
    # The failed run no longer holds the slot.
    assert ReconciliationRun.begin(source="bundle: retry").status == "running"


def test_a_finished_run_cannot_change_state() -> None:
    run = ReconciliationRun.begin(source="bundle: a")
    run.complete(counts={"ORDER_HELD": 0})

    with pytest.raises(InvalidTransition):
        run.fail("too late")

    run.refresh_from_db()
    assert (run.status, run.error, run.counts) == ("complete", "", {"ORDER_HELD": 0})


def test_an_in_memory_bundle_runs_with_its_source(small_bundle_dir: Path) -> None:
    bundle = read_bundle(small_bundle_dir)

    run, result = reconcile_bundle_object(bundle, source="connector", source_name="Woo EU")

    assert run.source == "connector: Woo EU"
    assert {s.source_name for s in run.snapshots.all()} == {"Woo EU"}
    assert {s.source for s in run.snapshots.all()} == {"connector"}
    assert found(result) == FOUND
    assert set(PHASES[1:]) <= set(run.timings)
    assert "read" not in run.timings


def test_a_queued_run_is_started_and_completed(small_bundle_dir: Path) -> None:
    queued = ReconciliationRun.objects.create(source="queued")

    run, _ = reconcile_bundle_object(
        read_bundle(small_bundle_dir), source="bundle", source_name="upload.zip", run=queued
    )

    queued.refresh_from_db()
    assert run.pk == queued.pk
    assert (queued.status, queued.source) == ("complete", "bundle: upload.zip")


# -- settings: the profile under the bundle's config.json ------------------------------------


def test_bundle_config_is_laid_over_the_settings_profile(tmp_path: Path) -> None:
    SettingsProfile.objects.create(values={"dispatch_sla_hours": 36, "grace_to_wms_minutes": 90})
    path = write_bundle_dir(
        tmp_path / "b",
        as_of=AS_OF,
        systems={"store": "woocommerce", "erp": "prima"},
        files=small_bundle_files(),
        config={"grace_to_wms_minutes": 15, "require_phone": False, "another_tool": "x"},
    )

    run, _ = reconcile_path(path)

    expected = ReconSettings(dispatch_sla_hours=36, grace_to_wms_minutes=15, require_phone=False)
    assert run.settings == expected.to_json()
    assert run.config == {"grace_to_wms_minutes": 15, "require_phone": False, "another_tool": "x"}


def test_the_effective_grace_decides_what_fires(tmp_path: Path) -> None:
    # W1 is 37 hours old: a three-day grace in the profile hides it, the bundle's 30 minutes not.
    SettingsProfile.objects.create(values={"grace_store_to_erp_minutes": 3 * 24 * 60})
    systems = {"store": "woocommerce", "erp": "prima"}
    quiet = write_bundle_dir(tmp_path / "q", systems=systems, files=small_bundle_files())
    loud = write_bundle_dir(
        tmp_path / "l",
        systems=systems,
        files=small_bundle_files(),
        config={"grace_store_to_erp_minutes": 30},
    )

    _, without = reconcile_path(quiet, save=False)
    _, with_config = reconcile_path(loud, save=False)

    assert found(without) == {("TAX_MISMATCH", "W2")}
    assert found(with_config) == FOUND


def test_without_a_profile_the_defaults_apply() -> None:
    assert SettingsProfile.current() == ReconSettings()
    assert effective_settings({"stale_after_minutes": 5}) == ReconSettings(stale_after_minutes=5)


def test_the_profile_is_a_single_row() -> None:
    SettingsProfile(values={"dispatch_sla_hours": 12}).save()
    SettingsProfile(values={"dispatch_sla_hours": 24}).save()

    assert list(SettingsProfile.objects.values_list("pk", "values")) == [
        (1, {"dispatch_sla_hours": 24})
    ]
    assert SettingsProfile.current().dispatch_sla_hours == 24
    assert SettingsProfile.load().values == {"dispatch_sla_hours": 24}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dispatch_sla_hours": -1}, "dispatch_sla_hours: expected a whole number of 0 or more"),
        ({"sku_pattern": "["}, "sku_pattern: not a valid regular expression"),
        ({"dispach_sla_hours": 12}, "Unknown setting(s): dispach_sla_hours"),
        (["dispatch_sla_hours"], "Expected an object of setting → value."),
    ],
)
def test_the_profile_refuses_values_that_cannot_be_used(values: object, message: str) -> None:
    profile = SettingsProfile(values=values)

    with pytest.raises(ValidationError) as caught:
        profile.full_clean()

    assert caught.value.message_dict["values"][0].startswith(message)


def test_the_profile_is_editable_in_the_admin(admin_client: object, admin_user: object) -> None:
    SettingsProfile.load()

    refused = admin_client.post(
        "/admin/integration/settingsprofile/1/change/", {"values": '{"dispatch_sla_hours": -4}'}
    )
    saved = admin_client.post(
        "/admin/integration/settingsprofile/1/change/", {"values": '{"dispatch_sla_hours": 30}'}
    )

    assert refused.status_code == 200
    assert "dispatch_sla_hours: expected a whole number of 0 or more" in refused.content.decode()
    assert saved.status_code == 302
    profile = SettingsProfile.objects.get()
    assert profile.values == {"dispatch_sla_hours": 30}
    assert profile.updated_by == admin_user
