"""A small simulator for the framework's and the HTTP client's own tests (not a real system).

It serves the world's store orders with WooCommerce-style paging and key/secret basic auth, a
cursor listing, an XML document and a POST that records idempotency keys.
"""

from __future__ import annotations

from typing import Any

from connectors.simulators import (
    HttpError,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    register,
    route,
    xml_response,
)
from reconciliation.frames import Bundle

KEY, SECRET = "ck_test", "cs_test"


@register
class ShopSimulator(SimulatorApp):
    kind = "testshop"
    role = "store"
    default_credentials = {"key": KEY, "secret": SECRET}

    def load(self, world: Bundle) -> None:
        super().load(world)
        self.orders = self.rows("orders")
        self.pushed: dict[str, dict[str, Any]] = {}

    def authenticate(self, request: SimRequest) -> str | None:
        pair = request.basic_auth()
        if pair == (self.credentials["key"], self.credentials["secret"]):
            return pair[0]
        return None

    @route("GET", "/api/orders")
    def list_orders(self, request: SimRequest) -> SimResponse:
        page, pages = self.paginate(
            self.orders, request.int("page", 1), request.int("per_page", 10)
        )
        headers = {"X-WP-TotalPages": str(pages), "X-WP-Total": str(len(self.orders))}
        return json_response(page, headers=headers)

    @route("GET", "/api/orders/{ref}")
    def get_order(self, request: SimRequest, ref: str) -> SimResponse:
        for order in self.orders:
            if order["order_ref"] == ref:
                return json_response(order)
        raise HttpError(404, f"no order {ref}")

    @route("GET", "/api/feed")
    def feed(self, request: SimRequest) -> SimResponse:
        start = int(request.arg("after") or 0)
        size = request.int("limit", 10)
        chunk = self.orders[start : start + size]
        following = start + size if start + size < len(self.orders) else None
        return json_response({"items": chunk, "next": following and str(following)})

    @route("GET", "/api/doc.xml")
    def document(self, request: SimRequest) -> SimResponse:
        refs = "".join(f"<order ref='{o['order_ref']}'/>" for o in self.orders[:3])
        return xml_response(f"<orders>{refs}</orders>")

    @route("POST", "/api/push")
    def push(self, request: SimRequest) -> SimResponse:
        key = request.header("Idempotency-Key") or ""
        if key not in self.pushed:
            self.pushed[key] = request.json()
        return json_response({"id": list(self.pushed).index(key) + 1}, status=201)

    @route("GET", "/api/ping", public=True)
    def ping(self, request: SimRequest) -> SimResponse:
        return json_response({"ok": True})
