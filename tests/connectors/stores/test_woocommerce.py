"""The WooCommerce connector against its simulator over real HTTP on loopback."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import pytest

from connectors.base import ConnectorError, Progress
from connectors.http import Timeouts
from connectors.simulators import Simulator
from reconciliation.frames import Bundle
from tests.connectors.stores import assert_same_frames, connect, paths, sorted_frame, without

Start = Callable[..., Simulator]


def full_pull_requests(sim: Simulator, per_page: int = 100) -> int:
    app = sim.app
    return (
        math.ceil(len(app.store.orders) / per_page)
        + math.ceil(len(app.catalogue) / per_page)
        + sum(math.ceil(len(children) / per_page) for children in app.variations.values())
    )


def test_a_full_pull_gives_back_the_store_it_serves(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world)

    result = connect(sim).pull()

    assert set(result.frames) == {"orders", "order_lines", "products", "stock"}
    assert_same_frames(result.frames, world.roles["store"])
    assert result.complete is True
    assert result.quarantined == []
    assert result.requests == sim.requests == full_pull_requests(sim)
    assert len(sim.app.variations) > 0  # variable products were read through their variations


def test_check_names_the_order_count(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world)

    assert connect(sim).check() == "WooCommerce answered: 52 orders"


def test_orders_are_paged_by_the_total_pages_header(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world)
    seen: list[tuple[int, int | None, int, int | None]] = []

    def progress(p: Progress) -> None:
        seen.append((p.pages_done, p.pages_total, p.records_done, p.records_total))

    result = connect(sim, per_page=20).pull(progress=progress, files=["orders"])

    assert seen == [(1, 3, 20, 52), (2, 3, 40, 52), (3, 3, 52, 52)]
    assert paths(sim) == ["/wp-json/wc/v3/orders"] * 3
    assert len(result.frames["orders"]) == 52


def test_a_delta_reads_only_orders_modified_after_since(simulator: Start, world: Bundle) -> None:
    orders = world.roles["store"].frames["orders"]
    since = orders["updated_at"].sort_values().iloc[30]
    changed = set(orders.loc[orders["updated_at"] > since, "order_ref"])
    sim = simulator("woocommerce", world)

    result = connect(sim).pull(since=since.to_pydatetime(), files=["orders"])

    assert result.complete is False
    assert set(result.frames) == {"orders", "order_lines"}
    assert sorted(result.frames["orders"]["order_ref"]) == sorted(changed)
    assert len(changed) == 21
    lines = world.roles["store"].frames["order_lines"]
    pd.testing.assert_frame_equal(
        sorted_frame(result.frames["order_lines"], "order_lines"),
        sorted_frame(lines[lines["order_ref"].isin(sorted(changed))], "order_lines"),
    )


def test_a_stock_poll_reads_products_only(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world)

    result = connect(sim).pull(files=["stock"])

    assert set(result.frames) == {"stock"}
    assert "/wp-json/wc/v3/orders" not in paths(sim)
    assert_same_frames(result.frames, world.roles["store"])


def test_keys_in_the_query_string_work_too(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world)

    result = connect(sim, auth="query").pull(files=["orders"])

    assert len(result.frames["orders"]) == 52


@pytest.mark.parametrize("auth", ["basic", "query"])
def test_refused_keys_are_a_permanent_error_that_never_shows_them(
    simulator: Start, world: Bundle, auth: str
) -> None:
    sim = simulator("woocommerce", world)
    wrong = {"consumer_key": "ck_parity", "consumer_secret": "cs_wrong"}

    with pytest.raises(ConnectorError) as caught:
        connect(sim, credentials=wrong, auth=auth).pull()

    assert caught.value.permanent is True
    assert caught.value.status == 401
    assert str(caught.value) == (
        f"GET {sim.url}/wp-json/wc/v3/orders: HTTP 401, credentials refused "
        "(Consumer key is invalid.)"
    )
    assert sim.requests == 1  # a refusal is not retried


def test_expired_credentials_are_a_permanent_error(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world, expired_credentials=True)

    with pytest.raises(ConnectorError) as caught:
        connect(sim).pull()

    assert (caught.value.permanent, caught.value.status) == (True, 401)


def test_a_429_is_waited_out_for_as_long_as_retry_after_says(
    simulator: Start, world: Bundle
) -> None:
    sim = simulator("woocommerce", world, throttle_next=2, retry_after=7)
    sleeps: list[float] = []

    result = connect(sim, sleeps=sleeps).pull()

    assert sleeps == [7.0, 7.0]
    assert result.requests == full_pull_requests(sim) + 2
    assert_same_frames(result.frames, world.roles["store"])


def test_a_timeout_is_retried(simulator: Start, world: Bundle) -> None:
    # The first request hangs far longer than the read timeout; the timeout is long enough that
    # an answered request is never taken for a hang on a busy machine (0.2 s was, now and then).
    sim = simulator("woocommerce", world, hang_next=1, hang_seconds=60)
    sleeps: list[float] = []

    result = connect(sim, sleeps=sleeps, client={"timeouts": Timeouts(read=2.0)}).pull()

    assert len(sleeps) == 1
    assert result.requests == full_pull_requests(sim) + 1
    assert_same_frames(result.frames, world.roles["store"])


def test_timeouts_that_persist_fail_the_pull_as_transient(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world, hang_next=10, hang_seconds=3)
    sleeps: list[float] = []
    client = {"timeouts": Timeouts(read=0.2), "retries": 2}

    with pytest.raises(ConnectorError) as caught:
        connect(sim, sleeps=sleeps, client=client).pull()

    assert caught.value.permanent is False
    assert str(caught.value) == (
        f"GET {sim.url}/wp-json/wc/v3/orders: timed out (ReadTimeout) after retries"
    )
    assert (len(sleeps), sim.requests) == (2, 3)


def test_a_malformed_answer_fails_the_pull(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world, malformed_next=1)

    with pytest.raises(ConnectorError, match="malformed JSON") as caught:
        connect(sim).pull()

    assert caught.value.permanent is True


def test_malformed_records_are_quarantined_and_the_rest_is_kept(
    simulator: Start, world: Bundle
) -> None:
    store = world.roles["store"]
    sku = store.frames["stock"]["sku"].iloc[0]
    corrupt = {
        "WEB-104203": {"line_items.0.quantity": "two"},
        "WEB-104210": {"status": "shiped"},
        "WEB-104220": {"date_created_gmt": "yesterday"},
        sku: {"stock_quantity": 2.5},
    }
    sim = simulator("woocommerce", world, options={"corrupt": corrupt})

    result = connect(sim).pull()

    assert [(q.file, q.ref, q.reason) for q in result.quarantined] == [
        ("orders", "WEB-104203", "line 1 quantity 'two' is not a number"),
        ("orders", "WEB-104210", "status 'shiped' is not in the WooCommerce status map"),
        ("products", sku, "stock_quantity 2.5 is not a whole number"),
        ("orders", "WEB-104220", "orders: placed_at 'yesterday' is not an ISO 8601 timestamp"),
    ]
    assert result.quarantined[1].payload["status"] == "shiped"  # the record as it came
    bad = {"WEB-104203", "WEB-104210", "WEB-104220"}
    frames = {
        "orders": without(store.frames["orders"], "order_ref", bad),
        "order_lines": without(store.frames["order_lines"], "order_ref", bad),
        "products": without(store.frames["products"], "sku", {sku}),
        "stock": without(store.frames["stock"], "sku", {sku}),
    }
    for file, expected in frames.items():
        pd.testing.assert_frame_equal(
            sorted_frame(result.frames[file], file), sorted_frame(expected, file)
        )


def test_duplicated_pages_do_not_count_twice(simulator: Start, world: Bundle) -> None:
    sim = simulator("woocommerce", world, duplicate_pages=True)

    result = connect(sim, per_page=10).pull()

    assert_same_frames(result.frames, world.roles["store"])
    assert result.quarantined == []
    assert result.requests > full_pull_requests(sim, per_page=10)
