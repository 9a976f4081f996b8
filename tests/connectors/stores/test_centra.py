"""The Centra connector against its simulator over real HTTP on loopback, and its complexity
budget."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import pytest

from connectors.base import ConnectorError, Progress
from connectors.centra import ComplexityBudget
from connectors.http import Timeouts
from connectors.simulators import Simulator
from reconciliation.frames import Bundle
from tests.connectors.stores import assert_same_frames, connect, sorted_frame, without

Start = Callable[..., Simulator]
OPTIONS = {"order_prefix": "WEB-", "non_stock_skus": ["GIFTWRAP"]}


def test_a_full_pull_gives_back_the_store_it_serves(simulator: Start, centra_world: Bundle) -> None:
    sim = simulator("centra", centra_world)

    result = connect(sim, **OPTIONS).pull()

    assert set(result.frames) == {"orders", "order_lines", "shipments", "products", "stock"}
    assert_same_frames(result.frames, centra_world.roles["store"])
    assert (result.complete, result.quarantined) == (True, [])
    # orders 52 (50 a page), product trees, and 279 stock rows in one warehouse (100 a page)
    products = math.ceil(len(sim.app.products) / 50) + (len(sim.app.products) % 50 == 0)
    assert result.requests == sim.requests == 2 + products + 3


def test_check_names_the_stores(simulator: Start, centra_world: Bundle) -> None:
    sim = simulator("centra", centra_world)

    assert connect(sim).check() == "Centra answered: stores 'Retail'"


def test_orders_are_paged_until_a_short_page(simulator: Start, centra_world: Bundle) -> None:
    sim = simulator("centra", centra_world)
    seen: list[tuple[int, int | None, int, int | None]] = []

    def progress(p: Progress) -> None:
        seen.append((p.pages_done, p.pages_total, p.records_done, p.records_total))

    connect(sim, orders_page_size=20, **OPTIONS).pull(progress=progress, files=["orders"])

    # No totals in Centra's answers: the bar counts what has come.
    assert seen == [(1, 1, 20, 20), (2, 2, 40, 40), (3, 3, 52, 52)]
    assert sim.requests == 3


def test_a_delta_reads_orders_updated_since(simulator: Start, centra_world: Bundle) -> None:
    frames = centra_world.roles["store"].frames
    orders = frames["orders"]
    since = orders["updated_at"].sort_values().iloc[20]
    changed = sorted(orders.loc[orders["updated_at"] >= since, "order_ref"])
    sim = simulator("centra", centra_world)

    result = connect(sim, **OPTIONS).pull(since=since.to_pydatetime(), files=["orders"])

    assert result.complete is False
    assert set(result.frames) == {"orders", "order_lines", "shipments"}
    assert sorted(result.frames["orders"]["order_ref"]) == changed
    shipments = frames["shipments"]
    pd.testing.assert_frame_equal(
        sorted_frame(result.frames["shipments"], "shipments"),
        sorted_frame(shipments[shipments["order_ref"].isin(changed)], "shipments"),
    )


def test_a_refused_token_is_a_permanent_error(simulator: Start, centra_world: Bundle) -> None:
    sim = simulator("centra", centra_world)

    with pytest.raises(ConnectorError) as caught:
        connect(sim, credentials={"api_token": "revoked"}).pull()

    assert (caught.value.permanent, caught.value.status) == (True, 401)
    assert str(caught.value) == f"POST {sim.url}/graphql: HTTP 401, credentials refused"


def test_a_429_is_waited_out_for_as_long_as_retry_after_says(
    simulator: Start, centra_world: Bundle
) -> None:
    sim = simulator("centra", centra_world, throttle_next=1, retry_after=9)
    sleeps: list[float] = []

    result = connect(sim, sleeps=sleeps, **OPTIONS).pull(files=["orders"])

    assert sleeps == [9.0]
    assert (result.requests, len(result.frames["orders"])) == (3, 52)


def test_the_request_limit_is_paced_on_our_side(simulator: Start, centra_world: Bundle) -> None:
    # A burst of 2, then 1 request a second (3,600 an hour): the 3rd and 4th requests wait.
    sim = simulator("centra", centra_world)
    sleeps: list[float] = []

    connect(sim, sleeps=sleeps, request_burst=2, orders_page_size=20, **OPTIONS).pull(
        files=["orders", "stock"]
    )

    assert sim.requests == 3 + 3
    assert len(sleeps) == 4
    assert all(0.9 < wait <= 4.0 for wait in sleeps)


def test_timeouts_that_persist_fail_the_pull_as_transient(
    simulator: Start, centra_world: Bundle
) -> None:
    sim = simulator("centra", centra_world, hang_next=10, hang_seconds=3)
    client = {"timeouts": Timeouts(read=0.2), "retries": 1}

    with pytest.raises(ConnectorError) as caught:
        connect(sim, sleeps=[], client=client).pull()

    assert caught.value.permanent is False
    assert str(caught.value) == f"POST {sim.url}/graphql: timed out (ReadTimeout) after retries"


def test_the_complexity_budget_makes_queries_wait(simulator: Start, centra_world: Bundle) -> None:
    # A page of 20 orders costs 501 points: two fit in 1,200, the third waits for the first.
    sim = simulator("centra", centra_world)
    sleeps: list[float] = []
    connector = connect(sim, sleeps=sleeps, orders_page_size=20, complexity_per_10s=1200, **OPTIONS)

    result = connector.pull(files=["orders"])

    assert len(result.frames["orders"]) == 52
    assert len(sleeps) == 1
    assert 9.0 < sleeps[0] <= 10.0


def test_a_page_costing_over_half_the_budget_is_cut_down(
    simulator: Start, centra_world: Bundle
) -> None:
    # 50 orders cost 1,251 points against a budget of 600: later pages take 10 orders (251).
    sim = simulator("centra", centra_world)

    result = connect(sim, sleeps=[], complexity_per_10s=600, **OPTIONS).pull(files=["orders"])

    assert_same_frames(result.frames, centra_world.roles["store"])
    assert sim.requests == 2  # 50, then page 6 of 10 (orders 51 and 52)


def test_a_complexity_limit_error_is_backed_off_and_retried(
    simulator: Start, centra_world: Bundle
) -> None:
    # The environment's budget is smaller than ours (other integrations use it too).
    options = {"complexity_limit": 1100, "complexity_window": 0.5}
    sim = simulator("centra", centra_world, options=options)

    result = connect(sim, orders_page_size=20, **OPTIONS).pull(files=["orders"])

    assert len(result.frames["orders"]) == 52
    assert sim.requests == 4  # the third page was refused once


def test_other_graphql_errors_are_permanent(simulator: Start, centra_world: Bundle) -> None:
    sim = simulator("centra", centra_world)

    with pytest.raises(ConnectorError) as caught:
        connect(sim).query("query Nope { nothing }")

    assert caught.value.permanent is True
    assert str(caught.value) == 'Centra: Unknown operation "Nope"'


def test_malformed_orders_are_quarantined_and_the_rest_is_kept(
    simulator: Start, centra_world: Bundle
) -> None:
    frames = centra_world.roles["store"].frames
    corrupt = {
        "WEB-104210": {"status": "LOST"},
        "WEB-104211": {"lines.0.quantity": -2},
    }
    sim = simulator("centra", centra_world, options={"corrupt": corrupt})

    result = connect(sim, **OPTIONS).pull(files=["orders"])

    assert [(q.ref, q.reason) for q in result.quarantined] == [
        ("104210", "status 'LOST' is not in the Centra status map"),
        ("WEB-104211", "order_lines: quantity -2 is negative"),
    ]
    bad = {"WEB-104210", "WEB-104211"}
    for file in ("orders", "order_lines", "shipments"):
        pd.testing.assert_frame_equal(
            sorted_frame(result.frames[file], file),
            sorted_frame(without(frames[file], "order_ref", bad), file),
        )


def test_duplicated_pages_do_not_count_twice(simulator: Start, centra_world: Bundle) -> None:
    sim = simulator("centra", centra_world, duplicate_pages=True)

    result = connect(sim, orders_page_size=10, stock_page_size=50, **OPTIONS).pull()

    assert_same_frames(result.frames, centra_world.roles["store"])
    assert result.quarantined == []


# -- the budget on its own -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_waits_exactly_until_the_oldest_spending_leaves_the_window() -> None:
    clock, sleeps = Clock(), []
    budget = ComplexityBudget(1000, 10.0, sleep=sleeps.append, clock=clock)

    budget.spend(600)
    clock.now += 3
    budget.spend(300)
    clock.now += 1

    assert budget.wait(100) == 0.0  # 900 + 100 fits
    assert budget.wait(200) == 6.0  # the 600 leaves 10 s after it was spent
    assert budget.wait(200) == 0.0
    assert budget.wait(900) == 9.0  # the 300 too, 10 s after it was spent
    assert sleeps == [6.0, 9.0]
    assert budget.waited == 15.0
