"""The per-credential token bucket: exact waits on a fake clock, and never over the limit against a
simulator enforcing it, across threads and clients of one credential."""

from __future__ import annotations

import threading

import pytest

from connectors.http import HttpClient, RateLimit, TokenBucket, shared_bucket
from connectors.simulators import Simulator
from tests.connectors.conftest import SHOP_AUTH


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_bucket_allows_its_burst_then_paces_at_the_refill_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(60, 60.0, burst=6), clock=clock)

    waits = [bucket.acquire(clock.sleep) for _ in range(10)]

    # 6 at once, then one every 60 / 54 seconds: 6 + 54 refills = 60 in the first minute.
    assert waits[:6] == [0.0] * 6
    assert waits[6:] == pytest.approx([60 / 54] * 4)
    assert clock.now == pytest.approx(100.0 + 4 * 60 / 54)


def test_no_window_of_a_period_ever_holds_more_than_the_limit() -> None:
    clock = FakeClock()
    limit = RateLimit(60, 60.0)
    bucket = TokenBucket(limit, clock=clock)
    stamps = []
    for _ in range(500):
        bucket.acquire(clock.sleep)
        stamps.append(clock.now)

    most = max(
        sum(1 for other in stamps[i:] if other - start < limit.period)
        for i, start in enumerate(stamps)
    )
    assert most <= 60
    # ... while pacing no slower than the refill rate allows: 494 refills at 54 a minute.
    assert stamps[-1] - stamps[0] == pytest.approx(494 * 60 / 54)


def test_buckets_are_shared_per_key_and_limit() -> None:
    limit = RateLimit(10, 1.0)
    assert shared_bucket("conn-a", limit) is shared_bucket("conn-a", limit)
    assert shared_bucket("conn-a", limit) is not shared_bucket("conn-b", limit)


def test_rate_limit_validation() -> None:
    with pytest.raises(ValueError, match="calls >= 1"):
        RateLimit(0, 60)
    with pytest.raises(ValueError, match="burst"):
        RateLimit(10, 60, burst=10)


@pytest.mark.slow
def test_clients_sharing_a_credential_never_exceed_the_simulated_limit(
    shop: Simulator,
) -> None:
    # The simulator refuses an 11th request in any second; two clients in four threads pull.
    shop.set_faults(rate_limit=10, rate_period=1.0)
    limit = RateLimit(10, 1.0)
    clients = [
        HttpClient(shop.url, auth=SHOP_AUTH, rate_limit=limit, rate_key="shop-test-shared")
        for _ in range(2)
    ]
    errors: list[Exception] = []

    def pull(client: HttpClient) -> None:
        try:
            for _ in range(8):
                client.get("/api/orders", params={"per_page": 1})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pull, args=(clients[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert shop.stats()["statuses"] == {"200": 32}
    assert sum(c.requests for c in clients) == 32
    assert shop.max_in_window(1.0) <= 10
