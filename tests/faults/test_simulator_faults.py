"""A sync against a simulator that answers garbage, a truncated transfer, a 50 MB page, or
nothing at all (tests/connectors/test_http_*.py cover the client's own retry rules; here each
fault goes through a whole sync). In each case the sync fails with a message naming the system's
endpoint (or, for a transfer cut once, retries and completes), the last complete snapshot stays
the current one, and the exceptions are unchanged.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from connectors.http import Timeouts
from connectors.models import Connection, SyncRun
from connectors.simulators import Simulator
from connectors.sync import reconcile_latest, run_sync
from reconciliation.frames import Bundle
from reconciliation.models import Snapshot, SnapshotOrder
from reconciliation.runs import reconcile_bundle_object
from reconciliation.store import latest_complete_snapshots
from tests.faults.conftest import POSTGRES_ONLY, exception_state

pytestmark = [POSTGRES_ONLY, pytest.mark.django_db]
FAST: dict[str, Any] = {"sleep": lambda seconds: None}  # retries without waiting
MB = 1024 * 1024


@pytest.fixture
def baseline(shop_connection: Connection, world: Bundle) -> dict[str, Any]:
    """What a failed sync must leave in force: the world's ERP and warehouse from a bundle, the
    store synced from the simulator, reconciled (so there are exceptions to keep)."""
    reconcile_bundle_object(world, source="bundle", source_name="the rest of the world")
    run_sync(shop_connection.pk, "full")
    assert reconcile_latest() is not None
    state = exception_state()
    assert len(state["records"]) > 5
    return {
        "latest": latest_complete_snapshots(),
        "snapshots": Snapshot.objects.count(),
        "rows": SnapshotOrder.objects.count(),
        "exceptions": state,
    }


def failed_sync(connection: Connection, **client_options: Any) -> SyncRun:
    run = run_sync(connection.pk, "full", client_options=client_options)
    assert run is not None
    run.refresh_from_db()
    assert (run.state, run.snapshot) == ("failed", None)
    return run


def assert_nothing_changed(baseline: dict[str, Any]) -> None:
    assert latest_complete_snapshots() == baseline["latest"]
    assert Snapshot.objects.count() == baseline["snapshots"]
    assert SnapshotOrder.objects.count() == baseline["rows"]
    assert exception_state() == baseline["exceptions"]


def test_a_garbage_page_fails_the_sync_and_keeps_the_last_snapshot(
    shop_connection: Connection, shop: Simulator, baseline: dict[str, Any]
) -> None:
    shop.set_faults(spare_next=1, garbage_next=1)  # page 1 fine, page 2 garbage

    run = failed_sync(shop_connection)

    assert run.permanent is True
    assert run.error == f"GET {shop.url}/api/orders: malformed JSON in the answer (46 bytes)"
    assert run.pages_done == 1
    assert_nothing_changed(baseline)


def test_a_transfer_cut_once_is_retried_and_the_sync_completes_whole(
    shop_connection: Connection, shop: Simulator, baseline: dict[str, Any]
) -> None:
    shop.set_faults(spare_next=1, truncate_next=1)

    run = run_sync(shop_connection.pk, "full", client_options=FAST)

    run.refresh_from_db()
    assert (run.state, run.requests, run.pages_done) == ("complete", 4, 3)  # 3 pages, 1 retry
    assert run.snapshot.row_counts == baseline["latest"]["store"].row_counts


def test_transfers_cut_every_time_fail_the_sync_as_transient(
    shop_connection: Connection, shop: Simulator, baseline: dict[str, Any]
) -> None:
    shop.set_faults(spare_next=1, truncate_next=1_000)

    run = failed_sync(shop_connection, **FAST)

    assert run.permanent is False  # the next scheduled sync tries again
    assert run.error == f"GET {shop.url}/api/orders: RemoteProtocolError after retries"
    assert run.requests == 1 + 5  # page 1, then page 2 and its four retries
    assert_nothing_changed(baseline)


@pytest.mark.parametrize("announced", [False, True], ids=["read-until-close", "content-length"])
def test_a_50_mb_page_is_refused_without_reading_it_into_memory(
    shop_connection: Connection, shop: Simulator, baseline: dict[str, Any], announced: bool
) -> None:
    shop.set_faults(spare_next=1, oversize_next=1, oversize_mb=50, oversize_length=announced)
    tracemalloc.start()
    try:
        run = failed_sync(shop_connection, **FAST)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert run.permanent is True
    detail = "52,428,800 bytes announced" if announced else "more than 20,971,520 bytes sent"
    assert run.error == (
        f"GET {shop.url}/api/orders: the answer is larger than the 20 MB limit ({detail}); "
        "refused (PARITY_CONNECTOR_MAX_RESPONSE_MB)"
    )
    assert run.requests == 2  # refused at once, never retried
    # At most the 20 MB cap was held, never the 50 MB page (nor its copies).
    assert peak < (2 if announced else 30) * MB
    assert_nothing_changed(baseline)


def test_the_size_limit_is_a_setting(
    shop_connection: Connection, shop: Simulator, baseline: dict[str, Any], settings: Any
) -> None:
    settings.PARITY_CONNECTOR_MAX_RESPONSE_MB = 1
    shop.set_faults(oversize_next=1, oversize_mb=1.5, oversize_length=True)

    run = failed_sync(shop_connection, **FAST)

    assert run.error == (
        f"GET {shop.url}/api/orders: the answer is larger than the 1 MB limit "
        "(1,572,864 bytes announced); refused (PARITY_CONNECTOR_MAX_RESPONSE_MB)"
    )


def test_a_server_that_never_answers_fails_the_sync_within_a_bounded_time(
    shop_connection: Connection, shop: Simulator, baseline: dict[str, Any]
) -> None:
    shop.set_faults(hang_next=1_000, hang_seconds=60)
    started = time.monotonic()

    # Real waits: a 0.5 s read timeout, two retries with a short backoff.
    run = failed_sync(
        shop_connection, timeouts=Timeouts(connect=1, read=0.5), retries=2, backoff=0.1
    )

    elapsed = time.monotonic() - started
    assert run.permanent is False
    assert run.error == f"GET {shop.url}/api/orders: timed out (ReadTimeout) after retries"
    assert run.requests == 3  # the first try and two retries
    assert 1.5 <= elapsed < 10
    assert_nothing_changed(baseline)
