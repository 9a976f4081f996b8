"""The simulator framework: routing, auth, faults set over HTTP at run time, paging windows."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.simulators import Simulator, page_window, simulator_class
from tests.connectors.conftest import SHOP_AUTH


def test_routes_dispatch_with_path_arguments_and_auth(shop: Simulator) -> None:
    ref = shop.app.orders[3]["order_ref"]
    with httpx.Client(base_url=shop.url, auth=SHOP_AUTH) as client:
        order = client.get(f"/api/orders/{ref}").json()
        missing = client.get("/api/orders/NOPE")
        wrong_method = client.delete(f"/api/orders/{ref}")
        unknown = client.get("/api/unknown")
    with httpx.Client(base_url=shop.url) as anonymous:
        refused = anonymous.get(f"/api/orders/{ref}")
        public = anonymous.get("/api/ping")

    assert order["order_ref"] == ref
    assert isinstance(order["gross_total"], str)  # money as exact decimal text
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": "not_found", "message": "no order NOPE"},
    )
    assert wrong_method.status_code == 405
    assert unknown.status_code == 404
    assert refused.status_code == 401
    assert public.json() == {"ok": True}
    assert shop.requests == 6


def test_faults_are_set_and_read_over_http(shop: Simulator) -> None:
    with httpx.Client(base_url=shop.url, auth=SHOP_AUTH) as client:
        answer = client.post("/__sim__/faults", json={"fail_next": 2, "error_status": "500"})
        statuses = [client.get("/api/ping").status_code for _ in range(3)]
        bad = client.post("/__sim__/faults", json={"explode": 1})
        stats = client.get("/__sim__/stats").json()
        client.post("/__sim__/reset")
        after_reset = client.get("/__sim__/stats").json()

    assert answer.json()["fail_next"] == 2
    assert answer.json()["error_status"] == 500
    assert statuses == [500, 500, 200]
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("unknown fault 'explode'")
    assert stats["requests"] == 3  # control requests are not counted
    assert stats["statuses"] == {"500": 2, "200": 1}
    assert after_reset["requests"] == 0
    assert after_reset["faults"]["error_status"] == 503


def test_the_rate_limit_is_per_credential(shop: Simulator) -> None:
    shop.set_faults(rate_limit=2, rate_period=60, retry_after=5)
    shop.app.credentials = {"key": "ck_test", "secret": "cs_test"}
    with httpx.Client(base_url=shop.url, auth=SHOP_AUTH) as client:
        answers = [client.get("/api/orders", params={"per_page": 1}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 59 <= int(answers[2].headers["Retry-After"]) <= 60
    assert answers[2].json()["code"] == "rate_limited"


def test_stop_returns_promptly_while_a_request_hangs(shop: Simulator) -> None:
    shop.set_faults(hang_next=1, hang_seconds=30)
    with httpx.Client(base_url=shop.url, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/api/ping")

    started = time.monotonic()
    shop.stop()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("page", "overlap", "expected"),
    [
        (1, False, ([0, 1, 2, 3], 3)),
        (3, False, ([8, 9], 3)),
        (4, False, ([], 3)),
        (1, True, ([0, 1, 2, 3], 3)),
        (2, True, ([3, 4, 5, 6], 3)),
        (3, True, ([6, 7, 8, 9], 3)),
        (4, True, ([], 3)),
        (0, False, ([], 3)),
    ],
)
def test_page_windows(page: int, overlap: bool, expected: tuple) -> None:
    assert page_window(list(range(10)), page, 4, overlap=overlap) == expected


def test_an_unknown_kind_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="no simulator for 'nosuchsystem'"):
        simulator_class("nosuchsystem")
