"""Retry-After on 429 and 503, in seconds and as an HTTP-date."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorError
from connectors.http import HttpClient
from connectors.simulators import Simulator
from tests.connectors.conftest import SHOP_AUTH


def test_it_waits_the_seconds_a_429_asks_for(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(throttle_next=1, retry_after=7)
    client = HttpClient(shop.url, auth=SHOP_AUTH, sleep=sleeps.append)

    assert client.get_json("/api/ping") == {"ok": True}
    assert sleeps == [7.0]
    assert client.requests == 2


def test_it_waits_until_the_http_date_a_429_gives(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(throttle_next=1, retry_after=30, retry_after_date=True)
    client = HttpClient(shop.url, auth=SHOP_AUTH, sleep=sleeps.append)

    client.get("/api/ping")

    # The date has one-second resolution and a little time passes before it is read.
    assert len(sleeps) == 1
    assert 28.0 < sleeps[0] <= 30.0


def test_a_503_with_retry_after_is_honoured(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(rate_limit=1, rate_period=60, rate_status=503)
    client = HttpClient(shop.url, auth=SHOP_AUTH, retries=1, sleep=sleeps.append)
    client.get("/api/orders", params={"per_page": 1})

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/orders", params={"per_page": 1})

    assert caught.value.permanent is False
    assert caught.value.status == 503
    assert len(sleeps) == 1
    assert 59.0 < sleeps[0] <= 60.0


def test_a_retry_after_beyond_the_cap_waits_only_the_cap(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(throttle_next=1, retry_after=3600)
    client = HttpClient(shop.url, auth=SHOP_AUTH, max_wait=45, sleep=sleeps.append)

    client.get("/api/ping")

    assert sleeps == [45.0]


def test_429s_that_persist_fail_as_transient(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(throttle_next=5, retry_after=1)
    client = HttpClient(shop.url, auth=SHOP_AUTH, retries=2, sleep=sleeps.append)

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/ping")

    assert (caught.value.permanent, caught.value.status) == (False, 429)
    assert sleeps == [1.0, 1.0]
