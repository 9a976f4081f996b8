"""Base URLs (and every request URL) are checked against the deployer's allow-list."""

from __future__ import annotations

import pytest
from django.test import override_settings

from connectors.base import ConnectorError
from connectors.http import HttpClient, check_url
from connectors.simulators import Simulator
from tests.connectors.conftest import SHOP_AUTH


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8101", "https://localhost/shop", "http://[::1]:9000/"],
)
def test_loopback_is_allowed_by_default(url: str) -> None:
    assert str(check_url(url)) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data", "host '169.254.169.254' is not in"),
        ("http://10.0.0.5:5432", "host '10.0.0.5' is not in"),
        ("https://shop.example.com", "host 'shop.example.com' is not in"),
        ("ftp://127.0.0.1/x", "scheme 'ftp' is not allowed"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("http://user:pw@127.0.0.1/", "must not contain a user name or password"),
        ("not a url", "scheme '(none)' is not allowed"),
    ],
)
def test_other_urls_are_refused_permanently(url: str, message: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        HttpClient(url)

    assert caught.value.permanent is True
    assert message in str(caught.value)


@override_settings(
    PARITY_CONNECTOR_ALLOWED_HOSTS=["shop.example.com", "*.cin7.com"],
    PARITY_CONNECTOR_ALLOWED_SCHEMES=["https"],
)
def test_the_deployer_lists_hosts_and_schemes() -> None:
    assert check_url("https://shop.example.com/wp-json").host == "shop.example.com"
    assert check_url("https://inventory.cin7.com/api").host == "inventory.cin7.com"
    for refused in ("https://cin7.com/", "http://shop.example.com/", "https://127.0.0.1/"):
        with pytest.raises(ConnectorError):
            check_url(refused)


def test_a_request_to_another_host_is_refused_before_it_is_sent(shop: Simulator) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH)

    with pytest.raises(ConnectorError) as caught:
        client.get("http://10.1.2.3/internal")  # e.g. a "next" link pointing elsewhere

    assert caught.value.permanent is True
    assert client.requests == 0
    assert shop.requests == 0
