"""Retries: 5xx and timeouts are retried with backoff, then fail as transient; POST only when
idempotent."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorError
from connectors.http import HttpClient, Timeouts
from connectors.simulators import Simulator
from tests.connectors.conftest import SHOP_AUTH


def test_it_retries_server_errors_and_returns_the_answer(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(fail_next=2, error_status=502)
    client = HttpClient(shop.url, auth=SHOP_AUTH, backoff=0.5, jitter=0.0, sleep=sleeps.append)

    body = client.get_json("/api/ping")

    assert body == {"ok": True}
    assert client.requests == 3
    assert shop.requests == 3
    assert sleeps == [1.0, 2.0]  # exponential: backoff * 2**attempt, no jitter here


def test_jitter_keeps_each_wait_within_its_band(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(fail_next=4)
    client = HttpClient(shop.url, auth=SHOP_AUTH, backoff=0.5, jitter=0.5, sleep=sleeps.append)

    client.get("/api/ping")

    assert len(sleeps) == 4
    for attempt, wait in enumerate(sleeps, start=1):
        full = 0.5 * 2**attempt
        assert full / 2 <= wait <= full


def test_it_gives_up_on_server_errors_as_a_transient_failure(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(fail_next=10, error_status=503)
    client = HttpClient(shop.url, auth=SHOP_AUTH, retries=3, sleep=sleeps.append)

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/ping")

    assert caught.value.permanent is False
    assert caught.value.status == 503
    assert str(caught.value) == (
        f"GET {shop.url}/api/ping: HTTP 503 (simulated server error) after retries"
    )
    assert client.requests == 4
    assert len(sleeps) == 3


def test_it_retries_a_read_timeout(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(hang_next=1, hang_seconds=5)
    client = HttpClient(shop.url, auth=SHOP_AUTH, timeouts=Timeouts(read=0.2), sleep=sleeps.append)

    assert client.get_json("/api/ping") == {"ok": True}
    assert client.requests == 2
    assert len(sleeps) == 1


def test_timeouts_that_persist_fail_as_transient(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(hang_next=3, hang_seconds=5)
    client = HttpClient(
        shop.url, auth=SHOP_AUTH, timeouts=Timeouts(read=0.2), retries=2, sleep=sleeps.append
    )

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/ping")

    assert caught.value.permanent is False
    assert caught.value.status is None
    assert str(caught.value) == f"GET {shop.url}/api/ping: timed out (ReadTimeout) after retries"
    assert client.requests == 3


def test_a_refused_connection_is_transient(sleeps: list) -> None:
    client = HttpClient("http://127.0.0.1:9", retries=1, sleep=sleeps.append)  # discard port

    with pytest.raises(ConnectorError) as caught:
        client.get("/anything")

    assert caught.value.permanent is False
    assert str(caught.value) == "GET http://127.0.0.1:9/anything: ConnectError after retries"
    assert client.requests == 2


def test_a_post_is_not_retried_unless_idempotent(shop: Simulator, sleeps: list) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH, sleep=sleeps.append)
    shop.set_faults(fail_next=1)

    with pytest.raises(ConnectorError):
        client.post_json("/api/push", json={"order": "W1"}, headers={"Idempotency-Key": "k1"})
    assert client.requests == 1
    assert shop.app.pushed == {}

    shop.set_faults(fail_next=1)
    body = client.post_json(
        "/api/push", json={"order": "W1"}, headers={"Idempotency-Key": "k1"}, idempotent=True
    )
    assert body == {"id": 1}
    assert client.requests == 3
    assert shop.app.pushed == {"k1": {"order": "W1"}}
