"""Magento 2 REST simulator: a world's store role as Magento's `/rest/V1` serves it.

Routes: `GET /rest/V1/orders`, `/shipments`, `/products`, `/inventory/source-items` (search
results `{items, search_criteria, total_count}` filtered by `searchCriteria[filter_groups]`,
sorted by `[sortOrders]`, paged by `[pageSize]`/`[currentPage]`), `GET /rest/V1/orders/<id>` and
`GET /rest/V1/store/storeConfigs`. As Magento does, a page past the last answers the last page
again, no `pageSize` answers everything, and a missing `searchCriteria` is a 400. Amounts are
JSON numbers, times "YYYY-MM-DD HH:MM:SS" in UTC. Auth: `Authorization: Bearer <access_token>`.

Orders: state and status from the canonical status; a partly dispatched order is "processing"
with `qty_shipped` on its items (from the world's shipments, else its first line). Shipments:
one per (order, shipment_ref), the carrier as a "custom" track's title, the service as the
track's description. Stock rows are source items, an empty location the "default" source.
`options["corrupt"] = {order_ref, sku or "sku@source": {"dotted.path": value}}` serves those
records altered, for tests of malformed records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from itertools import count
from typing import Any

from connectors.magento.mapping import BARCODE_ATTRIBUTE, DEFAULT_SOURCE
from connectors.simulators.magento.records import (
    MAGENTO_STATUS,
    magento_order,
    magento_shipment,
)
from connectors.simulators.magento.search import criteria, matches
from connectors.simulators.server import (
    HttpError,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    register,
    route,
)
from connectors.simulators.storeworld import (
    Record,
    StoreWorld,
    as_number,
    corrupted,
    modified,
    naive_utc,
)
from reconciliation.frames import Bundle

# -- the simulator -------------------------------------------------------------------------------


@register
class MagentoSimulator(SimulatorApp):
    kind = "magento"
    role = "store"
    default_credentials = {"access_token": "magento-parity-token"}

    def load(self, world: Bundle) -> None:
        super().load(world)
        store = self.store = StoreWorld.of(self)
        self.names = {p["sku"]: p.get("name") or p["sku"] for p in store.products}
        self.entity = {order["order_ref"]: i for i, order in enumerate(store.orders, start=1)}
        # Searchable index rows: the fields a searchCriteria may filter on, and what to serve.
        self.orders = [
            {
                "entity_id": self.entity[o["order_ref"]],
                "increment_id": o["order_ref"],
                "created_at": naive_utc(o["placed_at"], " "),
                "updated_at": naive_utc(modified(o), " "),
                "status": MAGENTO_STATUS.get(o["status"], ("", ""))[1],
                "state": MAGENTO_STATUS.get(o["status"], ("", ""))[0],
                "_order": o,
            }
            for o in store.orders
        ]
        self.shipments = self._shipments()
        self.source_items = [
            {
                "sku": row["sku"],
                "source_code": row.get("location") or DEFAULT_SOURCE,
                "quantity": as_number(Decimal(row["on_hand"] or 0)),
                "status": 1 if (row.get("available") or 0) > 0 else 0,
            }
            for rows in store.stock.values()
            for row in rows
        ]
        self.products = [self._product(i, p) for i, p in enumerate(store.products, start=1)]

    def _shipments(self) -> list[dict[str, Any]]:
        ids = count(1)
        found = []
        for order_ref, rows in self.store.shipments.items():
            parcels: dict[Any, list[Record]] = defaultdict(list)
            for row in rows:
                parcels[row.get("shipment_ref")].append(row)
            order_id = self.entity.get(order_ref)
            if order_id is None:
                continue  # a shipment of an order this store does not have
            item_ids = {
                line["sku"]: order_id * 1000 + n
                for n, line in enumerate(self.store.lines.get(order_ref, []), start=1)
            }
            for parcel in parcels.values():
                record = magento_shipment(
                    parcel, entity_id=next(ids), order_id=order_id, item_ids=item_ids
                )
                found.append(
                    {
                        **{
                            k: record[k]
                            for k in (
                                "entity_id",
                                "increment_id",
                                "order_id",
                                "created_at",
                                "updated_at",
                            )
                        },
                        "_record": record,
                    }
                )
        return found

    def _product(self, product_id: int, product: Record) -> dict[str, Any]:
        attributes = []
        if product.get("unit_cost") is not None:
            attributes.append({"attribute_code": "cost", "value": str(product["unit_cost"])})
        if product.get("barcode"):
            attributes.append({"attribute_code": BARCODE_ATTRIBUTE, "value": product["barcode"]})
        return {
            "id": product_id,
            "entity_id": product_id,
            "sku": product["sku"],
            "name": product.get("name") or "",
            "attribute_set_id": 4,
            "price": 0,
            "status": 1,
            "visibility": 4,
            "type_id": "virtual" if product.get("is_stock_item") is False else "simple",
            "custom_attributes": attributes,
        }

    def shipped_by_sku(self, order_ref: str) -> dict[str, int]:
        shipped: dict[str, int] = defaultdict(int)
        for row in self.store.shipments.get(order_ref, []):
            shipped[row["sku"]] += int(row["quantity"] or 0)
        return shipped

    def authenticate(self, request: SimRequest) -> str | None:
        token = request.bearer()
        return "integration" if token and token == self.credentials["access_token"] else None

    def error_body(self, error: HttpError) -> SimResponse:
        if error.status == 401:
            body: dict[str, Any] = {
                "message": "The consumer isn't authorized to access %resources.",
                "parameters": {"resources": "Magento_Sales::actions_view"},
            }
        else:
            body = {"message": str(error)}
        return json_response(body, error.status, headers=error.headers)

    def _search(
        self, request: SimRequest, index: list[dict[str, Any]], serve: Callable[[Any], Any]
    ) -> SimResponse:
        filters, order = criteria(request)
        fields = set(index[0]) if index else set()
        for group in filters.values():
            for spec in group:
                if index and spec.get("field") not in fields:
                    raise HttpError(400, f'"{spec.get("field")}" is not a searchable field.')
        key = (id(index), repr(filters), repr(order))

        def build() -> list[Any]:
            chosen = [
                row
                for row in index
                if all(
                    any(
                        matches(
                            row.get(f.get("field", "")),
                            f.get("condition_type") or "eq",
                            f.get("value", ""),
                        )
                        for f in group
                    )
                    for group in filters.values()
                )
            ]
            for field, descending in reversed(order):
                chosen.sort(key=lambda r, f=field: (r.get(f) is None, r.get(f)), reverse=descending)
            return chosen

        chosen = self.store.cached(key, build)
        size = request.int("searchCriteria[pageSize]", 0)
        current = request.int("searchCriteria[currentPage]", 1)
        if size <= 0:
            page, size = chosen, len(chosen)
        else:
            _, pages = self.paginate(chosen, 1, size)
            # Magento answers a page past the last with the last page.
            page, _ = self.paginate(chosen, min(max(current, 1), max(pages, 1)), size)
        return json_response(
            {
                "items": [serve(row) for row in page],
                "search_criteria": {"current_page": current, "page_size": size},
                "total_count": len(chosen),
            }
        )

    def _order_json(self, row: dict[str, Any]) -> dict[str, Any]:
        order = row["_order"]
        record = magento_order(
            order,
            self.store.lines.get(order["order_ref"], []),
            entity_id=row["entity_id"],
            shipped=self.shipped_by_sku(order["order_ref"]),
            names=self.names,
        )
        return corrupted(record, self.corrupt.get(order["order_ref"]))

    @property
    def corrupt(self) -> dict[str, dict[str, Any]]:
        return self.options.get("corrupt", {})

    @route("GET", "/rest/V1/orders")
    def list_orders(self, request: SimRequest) -> SimResponse:
        return self._search(request, self.orders, self._order_json)

    @route("GET", "/rest/V1/orders/{entity_id}")
    def get_order(self, request: SimRequest, entity_id: str) -> SimResponse:
        index = int(entity_id) - 1 if entity_id.isdigit() else -1
        if not 0 <= index < len(self.orders):
            raise HttpError(
                404, "The entity that was requested doesn't exist. Verify the entity and try again."
            )
        return json_response(self._order_json(self.orders[index]))

    @route("GET", "/rest/V1/shipments")
    def list_shipments(self, request: SimRequest) -> SimResponse:
        return self._search(request, self.shipments, lambda row: row["_record"])

    @route("GET", "/rest/V1/products")
    def list_products(self, request: SimRequest) -> SimResponse:
        return self._search(
            request, self.products, lambda row: corrupted(row, self.corrupt.get(row["sku"]))
        )

    @route("GET", "/rest/V1/inventory/source-items")
    def list_source_items(self, request: SimRequest) -> SimResponse:
        return self._search(
            request,
            self.source_items,
            lambda row: corrupted(row, self.corrupt.get(f"{row['sku']}@{row['source_code']}")),
        )

    @route("GET", "/rest/V1/store/storeConfigs")
    def store_configs(self, request: SimRequest) -> SimResponse:
        return json_response(
            [
                {
                    "id": 1,
                    "code": "default",
                    "website_id": 1,
                    "base_currency_code": "GBP",
                    "default_display_currency_code": "GBP",
                    "timezone": "UTC",
                }
            ]
        )
