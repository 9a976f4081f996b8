"""A pull completes into a new snapshot or fails and saves nothing; quarantined records are kept."""

from __future__ import annotations

from connectors.models import Connection, QuarantinedRecord, SyncRun
from connectors.simulators import Simulator
from connectors.sync import run_sync
from reconciliation.models import Snapshot, SnapshotOrder
from reconciliation.store import latest_complete_snapshots

FAST = {"sleep": lambda seconds: None}  # retries without waiting


def test_a_full_pull_becomes_a_complete_snapshot(shop_connection: Connection) -> None:
    run = run_sync(shop_connection.pk, "full")

    assert run is not None
    run.refresh_from_db()
    assert run.state == "complete"
    assert (run.pages_done, run.pages_total, run.records_done, run.records_total) == (3, 3, 52, 52)
    assert run.requests == 3
    assert run.quarantined == 0
    snapshot = run.snapshot
    assert (snapshot.role, snapshot.kind, snapshot.status) == ("store", "testshop", "complete")
    assert (snapshot.source, snapshot.source_name) == ("connector", "Test shop")
    assert snapshot.row_counts == {"orders": 52, "order_lines": 76}
    assert latest_complete_snapshots() == {"store": snapshot}


def test_a_failing_pull_saves_nothing_and_leaves_the_last_snapshot_in_force(
    shop_connection: Connection, shop: Simulator
) -> None:
    first = run_sync(shop_connection.pk, "full").snapshot
    rows_before = SnapshotOrder.objects.count()
    # Pages 1 and 2 answer, then the server fails every request: the pull breaks mid-way.
    shop.set_faults(fail_after=2, error_status=500)
    run = run_sync(shop_connection.pk, "full", client_options=FAST)

    run.refresh_from_db()
    assert run.state == "failed"
    assert run.permanent is False
    assert run.error == (
        f"GET {shop.url}/api/orders: HTTP 500 (simulated server error) after retries"
    )
    assert run.snapshot is None
    assert run.finished_at is not None
    assert Snapshot.objects.count() == 1
    assert SnapshotOrder.objects.count() == rows_before
    assert latest_complete_snapshots() == {"store": first}


def test_bad_credentials_fail_the_run_permanently(
    shop_connection: Connection, shop: Simulator
) -> None:
    shop.set_faults(expired_credentials=True)

    run = run_sync(shop_connection.pk, "full")

    run.refresh_from_db()
    assert (run.state, run.permanent, run.requests) == ("failed", True, 1)
    assert run.error == (
        f"GET {shop.url}/api/orders: HTTP 401, credentials refused (the access token has expired)"
    )
    assert Snapshot.objects.count() == 0


def test_malformed_records_are_quarantined_and_the_rest_saved(
    shop_connection: Connection, shop: Simulator
) -> None:
    bad_ref = shop.app.orders[5]["order_ref"]
    shop.app.orders[5]["status"] = "shiped"

    run = run_sync(shop_connection.pk, "full")

    run.refresh_from_db()
    assert (run.state, run.quarantined) == ("complete", 1)
    assert run.snapshot.row_counts["orders"] == 51
    quarantined = QuarantinedRecord.objects.get()
    assert (quarantined.sync_run, quarantined.file, quarantined.ref) == (run, "orders", bad_ref)
    assert quarantined.reason == "status 'shiped' is not a canonical status"
    assert quarantined.payload["order_ref"] == bad_ref
    assert quarantined.payload["status"] == "shiped"
    assert not SnapshotOrder.objects.filter(order_ref=bad_ref).exists()


def test_a_malformed_page_fails_the_whole_pull(
    shop_connection: Connection, shop: Simulator
) -> None:
    shop.set_faults(malformed_next=1)

    run = run_sync(shop_connection.pk, "full")

    run.refresh_from_db()
    assert (run.state, run.permanent) == ("failed", True)
    assert "malformed JSON in the answer" in run.error
    assert Snapshot.objects.count() == 0


def test_a_disabled_connection_is_not_synced_by_schedule(shop_connection: Connection) -> None:
    shop_connection.enabled = False
    shop_connection.save()

    assert run_sync(shop_connection.pk, "delta") is None
    assert SyncRun.objects.count() == 0
