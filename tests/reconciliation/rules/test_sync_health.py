"""Sync health rules of rules.md: stale snapshots, and pulls that connectors report as failed."""

from __future__ import annotations

from .conftest import ago, keys, order, owner_team, run


def test_snapshot_stale_fires_for_each_role_taken_too_long_ago(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W9", "pending")]},
        erp={"orders": [order("E9")]},
        wms={"orders": [order("H9", "in_progress", source="E9")]},
        taken_at={"store": ago(minutes=5), "erp": ago(minutes=361), "wms": ago(minutes=360)},
    )
    assert keys(found, "SNAPSHOT_STALE") == {"erp"}
    assert owner_team(found, "SNAPSHOT_STALE", "erp") == ("office", "ops")


def test_a_present_role_with_no_files_can_still_be_stale(tmp_path):
    found = run(
        tmp_path,
        erp={"orders": [order("E9")]},
        wms={},
        taken_at={"wms": ago(days=2)},
    )
    assert keys(found, "SNAPSHOT_STALE") == {"wms"}


def test_stale_after_minutes_comes_from_config(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W9", "pending")]},
        erp={"orders": [order("E9")]},
        taken_at={"store": ago(minutes=31), "erp": ago(minutes=30)},
        config={"stale_after_minutes": 30},
    )
    assert keys(found, "SNAPSHOT_STALE") == {"store"}


def test_sync_failed_is_keyed_by_the_connections_name(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W9", "pending")]},
        erp={"orders": [order("E9")]},
        sync_failures=[
            {"connection": "Woo live", "role": "store", "error": "HTTP 503 after 3 retries"},
            {"connection": "Prima", "role": "erp", "error": "orders.csv line 4 unreadable"},
        ],
    )
    assert keys(found, "SYNC_FAILED") == {"Woo live", "Prima"}
    assert owner_team(found, "SYNC_FAILED", "Prima") == ("office", "ops")


def test_a_bundle_read_from_disk_never_reports_sync_failed(tmp_path):
    found = run(
        tmp_path,
        store={"orders": [order("W9", "pending")]},
        taken_at={"store": ago(days=30)},
    )
    assert keys(found, "SYNC_FAILED") == set()
    assert keys(found, "SNAPSHOT_STALE") == {"store"}
