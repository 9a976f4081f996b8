"""The Magento connector against its simulator over real HTTP on loopback."""

from __future__ import annotations

import math
from collections.abc import Callable

import httpx
import pandas as pd
import pytest

from connectors.base import ConnectorError, Progress
from connectors.http import Timeouts
from connectors.simulators import Simulator
from reconciliation.frames import Bundle
from tests.connectors.stores import assert_same_frames, connect, paths, sorted_frame, without

Start = Callable[..., Simulator]
TOKEN = {"Authorization": "Bearer magento-parity-token"}


def full_pull_requests(world: Bundle, size: int = 100) -> int:
    frames = world.roles["store"].frames
    return sum(
        math.ceil(len(frames[file]) / size) for file in ("orders", "products", "stock")
    ) + math.ceil(frames["shipments"]["shipment_ref"].nunique() / size)


def test_a_full_pull_gives_back_the_store_it_serves(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world)

    result = connect(sim).pull()

    assert set(result.frames) == {"orders", "order_lines", "shipments", "products", "stock"}
    assert_same_frames(result.frames, store_world.roles["store"])
    assert (result.complete, result.quarantined) == (True, [])
    assert result.requests == sim.requests == full_pull_requests(store_world) == 8
    statuses = result.frames["orders"]["status"].value_counts().to_dict()
    assert statuses["partially_dispatched"] == 1  # read from qty_shipped under "processing"


def test_check_names_the_store(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world)

    assert connect(sim).check() == "Magento answered: store 'default' (GBP)"


def test_pages_come_from_total_count(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world)
    seen: list[tuple[int, int | None, int, int | None]] = []

    def progress(p: Progress) -> None:
        seen.append((p.pages_done, p.pages_total, p.records_done, p.records_total))

    connect(sim, page_size=20).pull(progress=progress, files=["stock"])

    assert seen == [(1, 14, 20, 279), (2, 14, 40, 279)] + [
        (n, 14, min(20 * n, 279), 279) for n in range(3, 15)
    ]
    assert paths(sim) == ["/rest/V1/inventory/source-items"] * 14


def test_a_page_past_the_last_is_the_last_page_again(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world)
    query = {"searchCriteria[pageSize]": 20}

    with httpx.Client(base_url=sim.url, headers=TOKEN) as client:
        last = client.get("/rest/V1/orders", params={**query, "searchCriteria[currentPage]": 3})
        past = client.get("/rest/V1/orders", params={**query, "searchCriteria[currentPage]": 9})
        bare = client.get("/rest/V1/orders")

    assert [o["increment_id"] for o in past.json()["items"]] == [
        o["increment_id"] for o in last.json()["items"]
    ]
    assert (len(last.json()["items"]), last.json()["total_count"]) == (12, 52)
    assert (bare.status_code, bare.json()) == (
        400,
        {"message": '"searchCriteria" is required. Enter and try again.'},
    )


def test_a_delta_reads_orders_updated_since_and_their_shipments(
    simulator: Start, store_world: Bundle
) -> None:
    frames = store_world.roles["store"].frames
    orders = frames["orders"]
    shipped = orders[orders["order_ref"].isin(frames["shipments"]["order_ref"])]
    since = shipped["updated_at"].sort_values().iloc[-5]  # five shipped orders changed since
    changed = sorted(orders.loc[orders["updated_at"] >= since, "order_ref"])
    sim = simulator("magento", store_world)

    result = connect(sim).pull(since=since.to_pydatetime(), files=["orders", "shipments"])

    assert result.complete is False
    assert set(result.frames) == {"orders", "order_lines", "shipments"}
    assert sorted(result.frames["orders"]["order_ref"]) == changed
    shipments = frames["shipments"]
    expected = shipments[shipments["order_ref"].isin(changed)]
    assert expected["order_ref"].nunique() == 5
    pd.testing.assert_frame_equal(
        sorted_frame(result.frames["shipments"], "shipments"), sorted_frame(expected, "shipments")
    )
    assert paths(sim) == ["/rest/V1/orders", "/rest/V1/shipments"]


def test_a_refused_token_is_a_permanent_error(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world)

    with pytest.raises(ConnectorError) as caught:
        connect(sim, credentials={"access_token": "stale"}).pull()

    assert (caught.value.permanent, caught.value.status) == (True, 401)
    assert str(caught.value) == (
        f"GET {sim.url}/rest/V1/orders: HTTP 401, credentials refused "
        "(The consumer isn't authorized to access %resources.)"
    )


def test_a_429_is_waited_out_for_as_long_as_retry_after_says(
    simulator: Start, store_world: Bundle
) -> None:
    sim = simulator("magento", store_world, throttle_next=1, retry_after=12)
    sleeps: list[float] = []

    result = connect(sim, sleeps=sleeps).pull()

    assert sleeps == [12.0]
    assert result.requests == full_pull_requests(store_world) + 1
    assert_same_frames(result.frames, store_world.roles["store"])


def test_timeouts_that_persist_fail_the_pull_as_transient(
    simulator: Start, store_world: Bundle
) -> None:
    sim = simulator("magento", store_world, hang_next=10, hang_seconds=3)
    client = {"timeouts": Timeouts(read=0.2), "retries": 1}

    with pytest.raises(ConnectorError) as caught:
        connect(sim, sleeps=[], client=client).pull()

    assert caught.value.permanent is False
    assert str(caught.value) == (
        f"GET {sim.url}/rest/V1/orders: timed out (ReadTimeout) after retries"
    )


def test_server_errors_are_retried(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world, fail_next=2, error_status=502)
    sleeps: list[float] = []

    result = connect(sim, sleeps=sleeps).pull()

    assert len(sleeps) == 2
    assert_same_frames(result.frames, store_world.roles["store"])


def test_malformed_records_are_quarantined_with_what_depends_on_them(
    simulator: Start, store_world: Bundle
) -> None:
    frames = store_world.roles["store"].frames
    shipped = frames["shipments"]["order_ref"].iloc[0]
    corrupt = {
        shipped: {"items.0.qty_ordered": 1.5},
        "WEB-104210": {"status": "weird", "state": "weird"},
        "AC8001BLKOS@default": {"quantity": "lots"},
    }
    sim = simulator("magento", store_world, options={"corrupt": corrupt})

    result = connect(sim).pull()

    shipments = frames["shipments"]
    parcels = shipments[shipments["order_ref"].isin([shipped, "WEB-104210"])]
    parcels = parcels.drop_duplicates("shipment_ref").sort_values("shipment_ref")
    assert [(q.file, q.ref, q.reason) for q in result.quarantined] == [
        ("orders", shipped, "line 1 qty_ordered 1.5 is not a whole number"),
        ("orders", "WEB-104210", "status 'weird' (state 'weird') is not in the Magento status map"),
        ("stock", "AC8001BLKOS", "quantity 'lots' is not a number"),
    ] + [
        ("shipments", ref, f"shipments: order_ref '{order}' is not in magento orders")
        for order, ref in zip(parcels["order_ref"], parcels["shipment_ref"], strict=True)
    ]
    bad = {shipped, "WEB-104210"}
    expected = {
        "orders": without(frames["orders"], "order_ref", bad),
        "shipments": without(frames["shipments"], "order_ref", bad),
        "stock": without(frames["stock"], "sku", {"AC8001BLKOS"}),
    }
    for file, frame in expected.items():
        pd.testing.assert_frame_equal(
            sorted_frame(result.frames[file], file), sorted_frame(frame, file)
        )


def test_duplicated_pages_do_not_count_twice(simulator: Start, store_world: Bundle) -> None:
    sim = simulator("magento", store_world, duplicate_pages=True)

    result = connect(sim, page_size=10).pull()

    assert_same_frames(result.frames, store_world.roles["store"])
    assert result.quarantined == []
    assert result.requests > full_pull_requests(store_world, size=10)
