"""Reconciliation runs on the latest complete set only when it is new, never on an incomplete
set, and reports failing syncs as SYNC_FAILED."""

from __future__ import annotations

from connectors.models import Connection
from connectors.simulators import Simulator
from connectors.sync import reconcile_latest, run_sync
from exceptions.models import ExceptionRecord
from reconciliation.models import ReconciliationRun

FAST = {"sleep": lambda seconds: None}


def test_it_reconciles_a_new_set_once(shop_connection: Connection) -> None:
    sync = run_sync(shop_connection.pk, "full")

    run = reconcile_latest()

    assert run is not None
    assert run.status == "complete"
    assert list(run.snapshots.all()) == [sync.snapshot]
    assert run.source == "connectors: store Test shop"
    assert reconcile_latest() is None  # nothing new
    assert ReconciliationRun.objects.count() == 1


def test_it_waits_for_every_connected_role(shop_connection: Connection) -> None:
    Connection.objects.create(
        name="ERP", kind="testshop", role="erp", base_url="http://127.0.0.1:1"
    )
    run_sync(shop_connection.pk, "full")

    assert reconcile_latest() is None
    assert ReconciliationRun.objects.count() == 0


def test_a_failed_sync_keeps_the_old_snapshot_and_raises_sync_failed(
    shop_connection: Connection, shop: Simulator
) -> None:
    good = run_sync(shop_connection.pk, "full")
    first = reconcile_latest()
    shop.set_faults(fail_next=100)

    failed = run_sync(shop_connection.pk, "delta", client_options=FAST)
    second = reconcile_latest()

    assert failed.state == "failed"
    assert second is not None
    assert second.pk != first.pk
    assert list(second.snapshots.all()) == [good.snapshot]
    exception = ExceptionRecord.objects.get(rule="SYNC_FAILED")
    assert exception.key == "Test shop"
    assert exception.summary == f"Sync from Test shop failed: {failed.error}"
    assert exception.status == "open"
    # The store's orders did not vanish: no order exception came from the failed pull.
    assert second.counts == first.counts | {"SYNC_FAILED": 1}
