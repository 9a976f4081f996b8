"""Whistl WMS simulator: a world's WMS role through the REST API the connector assumes (the names
come from the same mapping table, connectors/whistl/mapping.py, so a deployer's changed table can
be simulated too: pass the connection's options as `options`).

- `POST /oauth/token` — client credentials (HTTP Basic, or `client_id`/`client_secret` in the
  form); tokens live `options["token_ttl"]` seconds (default 3600). An unknown or expired token
  is answered 401.
- `GET /v1/orders`, `/v1/despatches`, `/v1/stock`, `/v1/stock-adjustments`, `/v1/products` —
  `{"data": [...], "meta": {"page", "per_page", "total", "total_pages"}}`, pages of at most 250,
  `updated_since` on all but stock, `order_numbers` (comma-separated) on orders and despatches.
- `POST /v1/orders` — creates an order; the `Idempotency-Key` header is required. The same key
  with the same body answers the first answer again (200, `Idempotent-Replayed: true`) and
  creates nothing; the same key with another body is refused (422). `pushed` records every
  order created this way.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from connectors.simulators.server import (
    HttpError,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    register,
    route,
)
from connectors.whistl.files import write_csv
from connectors.whistl.mapping import STATUS_OUT, Mapper, assign, lookup
from reconciliation.frames import Bundle

Record = dict[str, Any]


@register
class WhistlSimulator(SimulatorApp):
    kind = "whistl"
    role = "wms"
    default_credentials = {"client_id": "sim-client", "client_secret": "sim-secret"}

    def load(self, world: Bundle) -> None:
        super().load(world)
        self.mapper = mapper = Mapper(self.options)
        self.tokens: dict[str, tuple[str, float]] = {}
        self.tokens_issued = 0
        self.pushes: dict[str, tuple[str, int, Record]] = {}  # key → (body hash, status, answer)
        self.pushed: list[Record] = []
        lines: dict[str, list[Record]] = defaultdict(list)
        for line in self.rows("order_lines"):
            lines[line["order_ref"]].append(line)
        # Each listing holds (change time, record); a delta filters on the time.
        self.orders: list[tuple[datetime | None, Record]] = [
            (
                order.get("updated_at"),
                mapper.order_record(order, _by_line(lines[order["order_ref"]])),
            )
            for order in self.rows("orders")
        ]
        parcels: dict[tuple[str, str], list[Record]] = defaultdict(list)
        for row in self.rows("shipments"):
            parcels[(row["order_ref"], row.get("shipment_ref") or "")].append(row)
        self.despatches = [
            (rows[0].get("dispatched_at"), mapper.despatch_record(rows))
            for rows in parcels.values()
        ]
        taken = world.roles[self.role].taken_at if self.role in world.roles else None
        self.stock = [(None, mapper.flat_record("stock", r)) for r in self.rows("stock")]
        self.adjustments = [
            (r.get("occurred_at"), mapper.flat_record("adjustments", r))
            for r in self.rows("adjustments")
        ]
        self.products = [(taken, mapper.flat_record("products", r)) for r in self.rows("products")]
        self._cache: dict[Hashable, list[Record]] = {}

    # -- auth -----------------------------------------------------------------------------------

    def authenticate(self, request: SimRequest) -> str | None:
        held = self.tokens.get(request.bearer() or "")
        if held is None or held[1] < time.monotonic():
            return None
        return held[0]

    @route("POST", "/oauth/token", public=True)
    def token(self, request: SimRequest) -> SimResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        client_id, secret = request.basic_auth() or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        expected = (self.credentials["client_id"], self.credentials["client_secret"])
        if (client_id, secret) != expected:
            return json_response({"error": "invalid_client"}, 401)
        ttl = float(self.options.get("token_ttl", 3600))
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (client_id, time.monotonic() + ttl)
        self.tokens_issued += 1
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    def revoke_tokens(self) -> None:
        """Forget every token, as a server restart or a key rotation would."""
        self.tokens.clear()

    # -- changes, for tests and demos ------------------------------------------------------------

    def touch(self, order_number: str, *, status: str | None = None, **fields: Any) -> Record:
        """Change an order as the warehouse would: a new canonical status, changed now."""
        position = next(
            i
            for i, (_, record) in enumerate(self.orders)
            if self._field(record, "orders", "order_ref") == order_number
        )
        record = self.orders[position][1]
        now = datetime.now(UTC)
        if status is not None:
            self._set(record, "orders", "status", STATUS_OUT[status])
        for column, value in fields.items():
            self._set(record, "orders", column, value)
        self._set(record, "orders", "updated_at", now.isoformat().replace("+00:00", "Z"))
        self.orders[position] = (now, record)
        self._cache.clear()
        return record

    def add_despatch(self, rows: list[Record]) -> Record:
        """A new parcel (canonical shipments rows of one parcel), despatched now."""
        now = datetime.now(UTC)
        record = self.mapper.despatch_record([{**row, "dispatched_at": now} for row in rows])
        self.despatches.append((now, record))
        self._cache.clear()
        return record

    def _field(self, record: Record, file: str, column: str) -> Any:
        return lookup(record, self.mapper.api(file, column))

    def _set(self, record: Record, file: str, column: str, value: Any) -> None:
        assign(record, self.mapper.api(file, column), value)

    # -- listings --------------------------------------------------------------------------------

    def _listing(
        self,
        request: SimRequest,
        name: str,
        records: list[tuple[datetime | None, Record]],
        *,
        order_field: tuple[str, str] | None = None,
        dated: bool = True,
    ) -> SimResponse:
        paging = self.mapper.table["paging"]
        since = _moment(request.arg(paging["since"])) if dated else None
        numbers = request.arg(paging["order_filter"]) if order_field else None
        wanted = set(numbers.split(",")) if numbers else None

        def build() -> list[Record]:
            return [
                record
                for changed, record in records
                if (since is None or (changed is not None and changed > since))
                and (wanted is None or str(self._field(record, *order_field)) in wanted)
            ]

        key = (name, since, numbers)
        if key not in self._cache:
            self._cache[key] = build()
        items = self._cache[key]
        size = min(max(request.int(paging["size"], 100), 1), int(paging["max_size"]))
        number = request.int(paging["page"], 1)
        page, pages = self.paginate(items, number, size)
        body: Record = {}
        assign(body, paging["items"], page)
        assign(body, paging["total"], len(items))
        body.setdefault("meta", {}).update(page=number, per_page=size, total_pages=pages)
        return json_response(body)

    @route("GET", "/v1/orders")
    def list_orders(self, request: SimRequest) -> SimResponse:
        return self._listing(request, "orders", self.orders, order_field=("orders", "order_ref"))

    @route("GET", "/v1/despatches")
    def list_despatches(self, request: SimRequest) -> SimResponse:
        return self._listing(
            request, "despatches", self.despatches, order_field=("shipments", "order_ref")
        )

    @route("GET", "/v1/stock")
    def list_stock(self, request: SimRequest) -> SimResponse:
        return self._listing(request, "stock", self.stock, dated=False)

    @route("GET", "/v1/stock-adjustments")
    def list_adjustments(self, request: SimRequest) -> SimResponse:
        return self._listing(request, "adjustments", self.adjustments)

    @route("GET", "/v1/products")
    def list_products(self, request: SimRequest) -> SimResponse:
        return self._listing(request, "products", self.products)

    # -- the push --------------------------------------------------------------------------------

    @route("POST", "/v1/orders")
    def create_order(self, request: SimRequest) -> SimResponse:
        key = request.header(self.mapper.table["idempotency_header"]) or ""
        if not key.strip():
            raise HttpError(400, "an Idempotency-Key header is required", code="key_required")
        body = request.json()
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if key in self.pushes:
            first_digest, status, answer = self.pushes[key]
            if first_digest != digest:
                raise HttpError(422, "this Idempotency-Key was used for another order")
            return json_response(answer, 200, headers={"Idempotent-Replayed": "true"})
        if not isinstance(body, dict):
            raise HttpError(422, "send an order object")
        lines = lookup(body, self.mapper.list_key("order_lines")) or []
        for line in lines:
            quantity = lookup(line, self.mapper.api("order_lines", "quantity"))
            if not lookup(line, self.mapper.api("order_lines", "sku")) or not _positive(quantity):
                raise HttpError(422, "every line needs a SKU and a positive quantity")
        if not lines:
            raise HttpError(422, "an order needs at least one line")
        now = datetime.now(UTC)
        stamp = now.isoformat().replace("+00:00", "Z")
        record = json.loads(json.dumps(body))
        self._set(record, "orders", "order_ref", f"WH9{len(self.pushed) + 1:06d}")
        self._set(record, "orders", "status", "RECEIVED")
        self._set(record, "orders", "placed_at", stamp)
        self._set(record, "orders", "updated_at", stamp)
        self.orders.append((now, record))
        self.pushed.append(record)
        self.pushes[key] = (digest, 201, record)
        self._cache.clear()
        return json_response(record, 201)


def _by_line(lines: list[Record]) -> list[Record]:
    def number(line: Record) -> tuple[int, str]:
        value = str(line.get("line_no") or "")
        return (int(value), "") if value.isdigit() else (1 << 30, value)

    return sorted(lines, key=number)


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HttpError(400, "updated_since is not a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def exchange_files(world: Bundle, options: dict[str, Any] | None = None) -> dict[str, bytes]:
    """A world's WMS role as the CSV files the warehouse would drop in its outbound folder:
    one file of each kind, named with the role's snapshot time (for tests and demos)."""
    mapper = Mapper(options)
    frames = world.roles["wms"].frames
    stamp = world.roles["wms"].taken_at.strftime("%Y%m%d%H%M%S")
    app = WhistlSimulator.__new__(WhistlSimulator)  # only its rows() helper, no server
    app.world = world
    lines: dict[str, list[Record]] = defaultdict(list)
    for line in app.rows("order_lines"):
        lines[line["order_ref"]].append(line)
    orders = [
        {**mapper.csv_row("orders", order), **mapper.csv_row("order_lines", line)}
        for order in app.rows("orders")
        for line in _by_line(lines[order["order_ref"]])
    ]
    files = {f"orders_{stamp}.csv": orders}
    for file, kind in (
        ("shipments", "despatches"),
        ("stock", "stock"),
        ("adjustments", "adjustments"),
        ("products", "products"),
    ):
        if frames.get(file) is not None:
            files[f"{kind}_{stamp}.csv"] = [mapper.csv_row(file, r) for r in app.rows(file)]
    return {name: write_csv(rows) for name, rows in files.items()}
