"""Magento 2 / Adobe Commerce REST API, store role: orders, shipments with tracks, products and
source-item stock.

What it reads (docs: developer.adobe.com/commerce/webapi/rest, "Search using REST endpoints"):

- `GET /rest/V1/orders?searchCriteria[...]` sorted by `entity_id`, paged with
  `searchCriteria[pageSize]`/`[currentPage]`; the page count comes from `total_count` (Magento
  answers a page past the last with the last page again, so an empty page never ends a listing).
  A delta filters `updated_at gteq <since>`.
- `GET /rest/V1/shipments?searchCriteria[...]`: every shipment on a full pull; on a delta, those
  of the changed orders (`order_id in …`, a chunk of ids at a time). Items give the SKUs and
  quantities, the first track the carrier (`title`, else `carrier_code`), `description` the service
  and `track_number` the tracking number.
- `GET /rest/V1/products?searchCriteria[...]` (simple, virtual, downloadable: composite parents
  are not sold as themselves) and `GET /rest/V1/inventory/source-items?searchCriteria[...]`
  (`quantity` per `source_code`, `status` in or out of stock).

Auth: a bearer token (an integration's access token, or an admin token from
`/V1/integration/admin/token`). Field and status maps: docs/connectors.md, "Magento".
"""

from __future__ import annotations

import json
import math
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
from connectors.http import Page
from connectors.magento.mapping import (
    BARCODE_ATTRIBUTE,
    COMPOSITE,
    ORDER_FILES,
    STATUS_MAP,
    STOCK_FILES,
    items_of,
    order_rows,
    product_rows,
    search,
    shipment_rows,
    source_item_rows,
)
from connectors.records import Batch, Tracker, in_utc

# -- the connector -------------------------------------------------------------------------------


@register
class MagentoConnector(Connector):
    kind = "magento"
    label = "Magento 2 / Adobe Commerce"
    roles = ("store",)
    credential_fields = ("access_token",)
    files: ClassVar[tuple[str, ...]] = (*ORDER_FILES, *STOCK_FILES)

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        return {
            "headers": {"Authorization": f"Bearer {settings.credentials.get('access_token', '')}"}
        }

    @property
    def api(self) -> str:
        store = self.settings.options.get("store_code")
        return f"/rest/{store}/V1" if store else "/rest/V1"

    @property
    def page_size(self) -> int:
        return max(1, int(self.settings.options.get("page_size", 100)))

    def check(self) -> str:
        stores = self.client.get_json(f"{self.api}/store/storeConfigs")
        first = stores[0] if isinstance(stores, list) and stores else {}
        return (
            f"Magento answered: store {first.get('code', '?')!r} "
            f"({first.get('base_currency_code', '?')})"
        )

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
        if wanted & set(ORDER_FILES):
            wanted |= set(ORDER_FILES)  # an order brings its lines and shipments
            order_ids = self._orders(batch, tracker, since)
            self._shipments(batch, tracker, order_ids, delta=since is not None)
        if "products" in wanted:
            self._products(batch, tracker)
        if "stock" in wanted:
            # Source items carry no change stamp: stock is read whole every time.
            for page in self._listing("inventory/source-items", sort="sku", unique=_source_key):
                for item in page.items:
                    batch.map("stock", item, source_item_rows, ref=lambda i: i.get("sku"))
                tracker.page("source-items", page)
        return PullResult(
            frames=batch.frames(wanted & set(self.files)),
            complete=since is None,
            quarantined=batch.quarantined,
            requests=self.client.requests,
            taken_at=taken_at,
        )

    def _listing(
        self,
        resource: str,
        filters: Iterable[tuple[str, Any, str]] = (),
        *,
        sort: str = "entity_id",
        unique: Callable[[Any], Any] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Iterator[Page]:
        """Pages of a search until every record counted by `total_count` is in. Magento answers
        a page past the last with the last page again, and records shifting under a listing
        repeat on the next page: repeats are dropped, and a page with nothing new ends it."""
        size = self.page_size
        key = unique or (lambda record: record["entity_id"])
        params = {**search(filters, sort), **(extra or {})}
        seen: set[Any] = set()
        for number_ in range(1, 1_000_000):
            body = self.client.get_json(
                f"{self.api}/{resource}",
                params={
                    **params,
                    "searchCriteria[currentPage]": number_,
                    "searchCriteria[pageSize]": size,
                },
            )
            records, total = items_of(body), _total_count(body)
            fresh = []
            for record in records:
                identity = _identity(key, record)
                if identity not in seen:
                    seen.add(identity)
                    fresh.append(record)
            yield Page(
                number=number_,
                items=fresh,
                total_pages=max(math.ceil(total / size), number_),
                total_records=total,
                duplicates=len(records) - len(fresh),
            )
            if not fresh or len(seen) >= total:
                return
        raise ConnectorError(f"{resource}: too many pages; stopping", permanent=True)

    def _orders(self, batch: Batch, tracker: Tracker, since: datetime | None) -> dict[Any, str]:
        filters = []
        if since is not None:
            moment = in_utc(since).strftime("%Y-%m-%d %H:%M:%S")
            filters.append(("updated_at", moment, "gteq"))
        mapper = partial(order_rows, status_map={**STATUS_MAP, **self._option_map()})
        refs: dict[Any, str] = {}
        for page in self._listing("orders", filters):
            for order in page.items:
                if isinstance(order, dict) and order.get("entity_id") is not None:
                    refs[order["entity_id"]] = str(order.get("increment_id") or order["entity_id"])
                batch.map("orders", order, mapper, ref=lambda o: o.get("increment_id"))
            tracker.page("orders", page)
        return refs

    def _option_map(self) -> dict[str, str]:
        return dict(self.settings.options.get("status_map", {}))

    def _shipments(
        self, batch: Batch, tracker: Tracker, order_refs: dict[Any, str], *, delta: bool
    ) -> None:
        mapper = partial(shipment_rows, order_refs=order_refs)
        if not delta:
            chunks: list[list[Any]] = [[]]
        else:
            ids = sorted(order_refs, key=str)
            chunks = [ids[i : i + 100] for i in range(0, len(ids), 100)]  # URLs stay short
        for chunk in chunks:
            filters = [("order_id", ",".join(map(str, chunk)), "in")] if chunk else []
            for page in self._listing("shipments", filters):
                for shipment in page.items:
                    batch.map("shipments", shipment, mapper, ref=lambda s: s.get("increment_id"))
                tracker.page("shipments", page)

    def _products(self, batch: Batch, tracker: Tracker) -> None:
        mapper = partial(
            product_rows, barcode=self.settings.options.get("barcode_attribute", BARCODE_ATTRIBUTE)
        )
        fields = {"fields": "items[id,sku,name,type_id,status,custom_attributes],total_count"}
        for page in self._listing("products", sort="entity_id", extra=fields, unique=_product_key):
            for product in page.items:
                if isinstance(product, dict) and product.get("type_id") in COMPOSITE:
                    continue
                batch.map("products", product, mapper, ref=lambda p: p.get("sku"))
            tracker.page("products", page)


def _identity(key: Callable[[Any], Any], record: Any) -> Any:
    try:
        return key(record)
    except (KeyError, TypeError, IndexError):
        # No id to tell it by (the connector quarantines it): its content is its identity.
        return json.dumps(record, sort_keys=True, default=str)


def _total_count(body: Any) -> int:
    total = body.get("total_count") if isinstance(body, dict) else None
    if not isinstance(total, int):
        raise ConnectorError("Magento's search result has no total_count", permanent=True)
    return total


def _source_key(item: dict[str, Any]) -> tuple[Any, Any]:
    return (item["sku"], item["source_code"])


def _product_key(product: dict[str, Any]) -> Any:
    return product.get("id", product["sku"])
