"""Centra Integration API (GraphQL), store role: orders with their lines and shipments, products,
stock per warehouse.

What it asks (docs: centra.dev/integration-api; the query texts are below, in one place):

- `orders(where, sort, limit, page)` with lines (`productSize { SKU }`, prices without and with
  tax) and shipments (`isShipped`, `shippedAt`, `trackingNumber`, `carrierInformation`); a delta
  filters `where: {updatedAt: {from: <since>}}`. Pages end with a short page (no totals).
- `warehouses { id name stock(limit, page) { … } }`: `physicalQuantity` → on_hand,
  `allocatedQuantity` → allocated, `freeToAllocateQuantity` → available; location = warehouse.
- `products(limit, page) { variants { productSizes { SKU GTIN size } } }` → products.csv.

Limits (centra.dev, "Rate limits"): requests (standard plan 40 per 10 s, 3,600 an hour) are paced
by the shared client's token bucket; query complexity (150,000 points per 10 s) by a budget kept
here from each answer's `extensions.complexity` — a query waits until the last 10 s leave room for
it, and a page size whose query costs more than half the budget is cut down. Limit errors that
come back as GraphQL errors are retried after a pause; other GraphQL errors are permanent.

Auth: `Authorization: Bearer <api_token>`. Field and status maps, and what is assumed rather than
read in Centra's documentation: docs/connectors.md, "Centra".
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from connectors.base import (
    ConnectionSettings,
    Connector,
    ConnectorError,
    ProgressCallback,
    PullResult,
    register,
)
from connectors.centra.mapping import (
    LIMIT_WORDS,
    ORDER_FILES,
    ORDERS_QUERY,
    PING_QUERY,
    PRODUCTS_QUERY,
    STATUS_MAP,
    STOCK_FILES,
    STOCK_QUERY,
    order_rows,
    product_rows,
    stock_rows,
)
from connectors.http import Page, RateLimit
from connectors.records import Batch, Tracker, in_utc, text

# -- query complexity ----------------------------------------------------------------------------


class ComplexityBudget:
    """Query complexity spent in a sliding window; `wait(points)` sleeps until there is room."""

    def __init__(
        self,
        points: int,
        window: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.points, self.window, self.sleep, self.clock = points, window, sleep, clock
        self.spent: deque[tuple[float, int]] = deque()
        self.waited = 0.0

    def used(self) -> int:
        now = self.clock()
        while self.spent and now - self.spent[0][0] >= self.window:
            self.spent.popleft()
        return sum(points for _, points in self.spent)

    def wait(self, points: int) -> float:
        """Sleep until the oldest spending that leaves room for `points` has left the window;
        the seconds slept. The entries waited out are dropped rather than re-read from the
        clock, so an injected sleep (tests) behaves like a real one."""
        used = self.used()
        if used + points <= self.points:
            return 0.0
        freed, last = 0, self.spent[0][0]
        for moment, spent in self.spent:
            if used - freed + points <= self.points:
                break
            freed, last = freed + spent, moment
        pause = max(last + self.window - self.clock(), 0.0)
        if pause:
            self.sleep(pause)
        while self.spent and self.spent[0][0] <= last:
            self.spent.popleft()
        self.waited += pause
        return pause

    def spend(self, points: int) -> None:
        self.spent.append((self.clock(), points))


# -- the connector -------------------------------------------------------------------------------


@register
class CentraConnector(Connector):
    kind = "centra"
    label = "Centra"
    roles = ("store",)
    credential_fields = ("api_token",)
    files: ClassVar[tuple[str, ...]] = (*ORDER_FILES, *STOCK_FILES)

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        token = settings.credentials.get("api_token", "")
        # 40 requests per 10 s and 3,600 an hour: a burst of 30 and one a second after it keep
        # every 10-s window under 40 and every hour at 3,600.
        limit = RateLimit(
            int(settings.options.get("requests_per_hour", 3600)),
            3600.0,
            burst=int(settings.options.get("request_burst", 30)),
        )
        return {"headers": {"Authorization": f"Bearer {token}"}, "rate_limit": limit}

    def __init__(self, settings: ConnectionSettings, client: Any) -> None:
        super().__init__(settings, client)
        options = settings.options
        self.path = options.get("graphql_path", "/graphql")
        self.prefix = str(options.get("order_prefix", ""))
        self.budget = ComplexityBudget(
            int(options.get("complexity_per_10s", 150_000)),
            10.0,
            sleep=getattr(client, "sleep", time.sleep),
        )
        self.limit_retries = int(options.get("limit_retries", 5))

    def query(
        self, document: str, variables: dict[str, Any] | None = None, *, cost: int = 0
    ) -> Any:
        """Run a query within the complexity budget; its `data`, or ConnectorError."""
        for attempt in range(self.limit_retries + 1):
            self.budget.wait(cost)
            body = self.client.post_json(
                self.path, json={"query": document, "variables": variables or {}}, idempotent=True
            )
            if not isinstance(body, dict):
                raise ConnectorError(
                    "Centra answered something other than a GraphQL result", permanent=True
                )
            self.budget.spend(int((body.get("extensions") or {}).get("complexity") or 0))
            errors = body.get("errors") or []
            if not errors:
                return body.get("data") or {}
            message = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
            if not any(word in message.lower() for word in LIMIT_WORDS):
                raise ConnectorError(f"Centra: {message[:300]}", permanent=True)
            if attempt < self.limit_retries:
                # A limit error: the budget is spent elsewhere too (limits are shared by every
                # integration of the environment); wait out a window, longer each time.
                self.client.sleep(_retry_after(errors) or 10.0 * (attempt + 1))
        raise ConnectorError(f"Centra: {message[:300]} (still limited after retries)")

    def check(self) -> str:
        stores = self.query(PING_QUERY).get("stores") or []
        names = ", ".join(repr(s.get("name")) for s in stores if isinstance(s, dict))
        return f"Centra answered: stores {names or '(none)'}"

    def pull(
        self,
        *,
        since: datetime | None = None,
        progress: ProgressCallback | None = None,
        files: Iterable[str] | None = None,
    ) -> PullResult:
        wanted = set(files or self.files)
        taken_at = datetime.now(tz=UTC)
        batch = Batch(self.kind)
        tracker = Tracker(progress, self.client)
        status_map = {**STATUS_MAP, **self.settings.options.get("status_map", {})}
        if wanted & set(ORDER_FILES):
            wanted |= set(ORDER_FILES)
            where = {"updatedAt": {"from": in_utc(since).isoformat()}} if since else None
            mapper = partial(order_rows, status_map=status_map, prefix=self.prefix)
            for page in self._pages(ORDERS_QUERY, "orders", "orders", where=where):
                for order in page.items:
                    batch.map("orders", order, mapper, ref=lambda o: o.get("number"))
                tracker.page("orders", page)
        if "products" in wanted:
            non_stock = frozenset(self.settings.options.get("non_stock_skus", ()))
            mapper = partial(product_rows, non_stock=non_stock)
            for page in self._pages(PRODUCTS_QUERY, "products", "products"):
                for product in page.items:
                    batch.map("products", product, mapper, ref=lambda p: p.get("id"))
                tracker.page("products", page)
        if "stock" in wanted:
            self._stock(batch, tracker)
        return PullResult(
            frames=batch.frames(wanted & set(self.files)),
            complete=since is None,
            quarantined=batch.quarantined,
            requests=self.client.requests,
            taken_at=taken_at,
        )

    def _pages(
        self, document: str, field: str, option: str, *, where: Any = None
    ) -> Iterator[Page]:
        """Numbered pages until a short one; duplicates (by id) dropped, page size cut down when
        one page's complexity would take more than half the budget."""
        limit = max(1, min(int(self.settings.options.get(f"{option}_page_size", 50)), 200))
        seen: set[Any] = set()
        cost, number_ = 0, 1
        while True:
            variables: dict[str, Any] = {"limit": limit, "page": number_}
            if where is not None:
                variables["where"] = where
            used_before = len(self.budget.spent)
            data = self.query(document, variables, cost=cost)
            records = data.get(field)
            if not isinstance(records, list):
                raise ConnectorError(f"Centra: no {field} list in the answer", permanent=True)
            if len(self.budget.spent) > used_before:
                cost = self.budget.spent[-1][1]
            kept = [r for r in records if not _seen(r, seen)]
            yield Page(number=number_, items=kept, duplicates=len(records) - len(kept))
            if len(records) < limit:
                return
            if cost > self.budget.points // 2 and limit > 1:
                # A page this costly starves everything else: take fewer records a page. The
                # new size divides the old, so the next page starts right after this one.
                target = max(1, limit * (self.budget.points // 2) // cost)
                smaller = max(d for d in range(1, target + 1) if limit % d == 0)
                number_ = number_ * limit // smaller
                cost = cost * smaller // limit
                limit = smaller
            number_ += 1

    def _stock(self, batch: Batch, tracker: Tracker) -> None:
        limit = max(1, min(int(self.settings.options.get("stock_page_size", 100)), 200))
        seen: set[tuple[Any, Any]] = set()
        cost = 0
        for number_ in range(1, 1_000_000):
            data = self.query(STOCK_QUERY, {"limit": limit, "page": number_}, cost=cost)
            cost = self.budget.spent[-1][1] if self.budget.spent else 0
            warehouses = data.get("warehouses")
            if not isinstance(warehouses, list):
                raise ConnectorError("Centra: no warehouses list in the answer", permanent=True)
            items, full = [], False
            for warehouse in warehouses:
                stock = warehouse.get("stock") or []
                full = full or len(stock) >= limit
                name = text(warehouse.get("name")) or text(warehouse.get("id"))
                for item in stock:
                    key = (warehouse.get("id"), (item.get("productSize") or {}).get("SKU"))
                    if key in seen:
                        continue  # a duplicated page
                    seen.add(key)
                    items.append(item)
                    batch.map("stock", item, partial(stock_rows, warehouse=name), ref=_sku)
            tracker.page("stock", Page(number=number_, items=items))
            if not full:
                return


def _sku(item: dict[str, Any]) -> Any:
    return (item.get("productSize") or {}).get("SKU")


def _seen(record: Any, seen: set[Any]) -> bool:
    key = record.get("id", record.get("number")) if isinstance(record, dict) else None
    if key is None:
        return False
    if key in seen:
        return True
    seen.add(key)
    return False


def _retry_after(errors: list[Any]) -> float | None:
    for error in errors:
        value = ((error or {}).get("extensions") or {}).get("retryAfter")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None
