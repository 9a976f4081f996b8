"""A small simulator and its connector, for the framework's, the HTTP client's and the sync
service's own tests (not a real system).

The simulator serves the world's store orders (each with its lines) with WooCommerce-style paging,
`modified_after` deltas and key/secret basic auth, a cursor listing, an XML document and a POST
that records idempotency keys. The connector pulls them into canonical frames through
parse_table and quarantines the records that do not validate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from connectors.base import (
    ConnectionSettings,
    Connector,
    Progress,
    ProgressCallback,
    PullResult,
    Quarantined,
)
from connectors.base import (
    register as register_connector,
)
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
from reconciliation.bundle import Problems, parse_table
from reconciliation.frames import SCHEMAS, Bundle

KEY, SECRET = "ck_test", "cs_test"


@register
class ShopSimulator(SimulatorApp):
    kind = "testshop"
    role = "store"
    default_credentials = {"key": KEY, "secret": SECRET}

    def load(self, world: Bundle) -> None:
        super().load(world)
        self.orders = self.rows("orders")
        lines = defaultdict(list)
        for line in self.rows("order_lines"):
            lines[line["order_ref"]].append(line)
        for order in self.orders:
            order["lines"] = lines[order["order_ref"]]
        self.pushed: dict[str, dict[str, Any]] = {}

    def authenticate(self, request: SimRequest) -> str | None:
        pair = request.basic_auth()
        if pair == (self.credentials["key"], self.credentials["secret"]):
            return pair[0]
        return None

    def touch(self, ref: str, **changes: Any) -> dict[str, Any]:
        """Change an order as the system would: its updated_at moves to now."""
        order = next(o for o in self.orders if o["order_ref"] == ref)
        order.update(changes, updated_at=datetime.now(UTC))
        return order

    @route("GET", "/api/orders")
    def list_orders(self, request: SimRequest) -> SimResponse:
        orders = self.orders
        if after := request.arg("modified_after"):
            since = datetime.fromisoformat(after)
            orders = [o for o in orders if o["updated_at"] and o["updated_at"] > since]
        page, pages = self.paginate(orders, request.int("page", 1), request.int("per_page", 10))
        headers = {"X-WP-TotalPages": str(pages), "X-WP-Total": str(len(orders))}
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


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _table(file: str, records: Iterable[dict[str, Any]]) -> pa.Table:
    rows = list(records)
    return pa.table(
        {col: pa.array([_text(r.get(col)) for r in rows], pa.string()) for col in SCHEMAS[file]}
    )


@register_connector
class ShopConnector(Connector):
    kind = "testshop"
    label = "Test shop"
    roles = ("store",)
    credential_fields = ("key", "secret")

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        return {"auth": (settings.credentials["key"], settings.credentials["secret"])}

    def check(self) -> str:
        total = self.client.get("/api/orders", params={"per_page": 1}).headers["X-WP-Total"]
        return f"{total} orders"

    def pull(
        self, *, since: datetime | None = None, progress: ProgressCallback | None = None
    ) -> PullResult:
        params = {"modified_after": since.isoformat()} if since else {}
        size = int(self.settings.options.get("per_page", 20))
        orders: list[dict[str, Any]] = []
        done = Progress()
        for page in self.client.pages(
            "/api/orders", params=params, size=size, unique_by=lambda o: o["order_ref"]
        ):
            orders.extend(page.items)
            done.pages_done, done.pages_total = page.number, page.total_pages
            done.records_done, done.records_total = len(orders), page.total_records
            done.requests = self.client.requests
            if progress:
                progress(done)

        quarantined: list[Quarantined] = []
        order_frame, problems = parse_table(
            "orders", _table("orders", orders), label="orders", problems=Problems(10**6)
        )
        bad = {p.line - 2: p.message for p in problems if p.line}
        for index, reason in bad.items():
            record = orders[index]
            quarantined.append(Quarantined("orders", reason, record, record.get("order_ref", "")))
        good = [o for i, o in enumerate(orders) if i not in bad]
        order_frame = order_frame.drop(index=list(bad)).reset_index(drop=True)
        lines = [line for o in good for line in o["lines"]]
        line_frame, _ = parse_table("order_lines", _table("order_lines", lines), label="lines")
        return PullResult(
            frames={"orders": order_frame, "order_lines": line_frame},
            complete=since is None,
            quarantined=quarantined,
            requests=self.client.requests,
        )
