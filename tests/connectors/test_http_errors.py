"""Failures a retry cannot fix are permanent and not retried; messages never carry secrets."""

from __future__ import annotations

import logging

import pytest

from connectors.base import ConnectorError
from connectors.http import HttpClient
from connectors.simulators import Simulator
from tests.connectors.conftest import SHOP_AUTH


def test_bad_credentials_are_permanent_and_not_retried(shop: Simulator, sleeps: list) -> None:
    client = HttpClient(shop.url, auth=("ck_test", "wrong"), sleep=sleeps.append)

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/orders")

    assert (caught.value.permanent, caught.value.status) == (True, 401)
    assert str(caught.value) == (
        f"GET {shop.url}/api/orders: HTTP 401, credentials refused (invalid credentials)"
    )
    assert client.requests == 1
    assert sleeps == []


def test_expired_credentials_are_permanent(shop: Simulator, sleeps: list) -> None:
    shop.set_faults(expired_credentials=True)
    client = HttpClient(shop.url, auth=SHOP_AUTH, sleep=sleeps.append)

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/orders")

    assert (caught.value.permanent, caught.value.status) == (True, 401)
    assert "the access token has expired" in str(caught.value)
    assert client.requests == 1


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/orders/NOPE", 404), ("/api/orders?page=x", 400), ("/api/nothing", 404)],
)
def test_client_errors_are_permanent(shop: Simulator, path: str, status: int) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH, sleep=lambda s: None)

    with pytest.raises(ConnectorError) as caught:
        client.get(path)

    assert (caught.value.permanent, caught.value.status) == (True, status)
    assert client.requests == 1


def test_malformed_json_is_permanent(shop: Simulator) -> None:
    shop.set_faults(malformed_next=1)
    client = HttpClient(shop.url, auth=SHOP_AUTH)

    with pytest.raises(ConnectorError) as caught:
        client.get_json("/api/orders", params={"per_page": 2})

    assert caught.value.permanent is True
    assert str(caught.value).startswith(f"GET {shop.url}/api/orders: malformed JSON in the answer")
    assert client.requests == 1


def test_malformed_xml_is_permanent(shop: Simulator) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH)
    assert [e.get("ref") for e in client.get_xml("/api/doc.xml")] == [
        o["order_ref"] for o in shop.app.orders[:3]
    ]
    shop.set_faults(malformed_next=1)

    with pytest.raises(ConnectorError) as caught:
        client.get_xml("/api/doc.xml")

    assert caught.value.permanent is True
    assert "malformed XML in the answer" in str(caught.value)


def test_query_strings_stay_out_of_messages_and_logs(
    shop: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH)
    caplog.set_level(logging.DEBUG)
    # Set on the httpx logger itself: a benchmark run in-process may have quietened it.
    caplog.set_level(logging.DEBUG, logger="httpx")

    with pytest.raises(ConnectorError) as caught:
        client.get("/api/orders/NOPE", params={"consumer_secret": "s3cr3t-value"})

    assert "s3cr3t-value" not in str(caught.value)
    assert "s3cr3t-value" not in caplog.text
    assert "cs_test" not in caplog.text
    assert f"{shop.url}/api/orders/NOPE" in caplog.text  # httpx still logs the request


def test_a_redirect_is_not_followed(simulator, world) -> None:  # noqa: ANN001
    from connectors.simulators import SimResponse, SimulatorApp, route

    class Redirecting(SimulatorApp):
        kind = "test-redirect"

        @route("GET", "/go")
        def go(self, request):  # noqa: ANN001, ANN202
            return SimResponse(302, b"", headers={"Location": "http://10.0.0.1/admin"})

    from connectors.simulators.server import Simulator as Server

    handle = Server(Redirecting(world)).start()
    try:
        with pytest.raises(ConnectorError) as caught:
            HttpClient(handle.url).get("/go")
    finally:
        handle.stop()
    assert (caught.value.permanent, caught.value.status) == (True, 302)
    assert str(caught.value) == (
        f"GET {handle.url}/go: HTTP 302 redirect not followed (check the base URL)"
    )
