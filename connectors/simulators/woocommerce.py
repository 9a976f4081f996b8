"""WooCommerce REST API v3 simulator: a world's store role as WooCommerce serves it.

Routes: `GET /wp-json/wc/v3/orders` (+ `/<id>`), `/products`, `/products/<id>/variations`, with
WooCommerce's paging (`page`/`per_page` ≤ 100, `X-WP-Total`, `X-WP-TotalPages`, 400 past the
last page), `orderby`/`order`, `modified_after`/`modified_before` with `dates_are_gmt`, `status`,
`dp` (decimal places of amounts, default 2) and its error bodies `{code, message, data}`.
`options["corrupt"] = {order_ref or sku: {"dotted.path": value}}` serves those records altered,
for tests of malformed records.
Auth: the consumer key and secret as Basic auth or as `consumer_key`/`consumer_secret` query
parameters. The site's time zone is UTC, so `date_created` equals `date_created_gmt`.

The world's products become simple products, except that products whose names differ only in the
last word (e.g. a size) become one variable product with a variation each; stock rows become
`stock_quantity` (their `available`, summed over locations) with `manage_stock` on.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from itertools import count
from typing import Any

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
    fixed,
    modified,
    naive_utc,
    parse_moment,
    split_name,
)
from connectors.woocommerce import COST_META_KEY
from reconciliation.frames import Bundle

# Canonical status → the WooCommerce status served. Statuses a storefront has no word for
# (released, in_progress) look like "processing" from the store; held has no WooCommerce
# equivalent either and is served as on-hold (which reads back as pending).
WOO_STATUS: dict[str, str] = {
    "pending": "pending",
    "open": "processing",
    "released": "processing",
    "in_progress": "processing",
    "held": "on-hold",
    "rejected": "failed",
    "partially_dispatched": "partial-shipped",
    "dispatched": "completed",
    "cancelled": "cancelled",
}
SORTS = {"id": "id", "date": "placed_at", "modified": "updated_at"}


# -- canonical rows → API records ----------------------------------------------------------------


def woo_order(
    order: Record,
    lines: list[Record],
    *,
    order_id: int,
    item_ids: count,
    rate_ids: dict[Decimal, int],
    products: dict[str, tuple[int, int, str]],
    dp: int = 2,
) -> dict[str, Any]:
    """An order as `GET /orders` returns it. `products`: sku → (product id, variation id, name)."""

    def money(value: Decimal | None) -> str:
        return fixed(value, dp)

    created, changed = naive_utc(order["placed_at"]), naive_utc(modified(order))
    first, last = split_name(order.get("ship_name"))
    items, taxes_by_rate = [], defaultdict(Decimal)
    for line in lines:
        quantity = int(line["quantity"] or 0)
        net, tax = line.get("line_net"), line.get("line_tax")
        unit = line.get("unit_price")
        subtotal = unit * quantity if unit is not None else net
        taxes = []
        if line.get("tax_rate") is not None:
            percent = (Decimal(repr(line["tax_rate"])) * 100).normalize()
            rate_id = rate_ids.setdefault(percent, len(rate_ids) + 1)
            taxes = [{"id": rate_id, "total": money(tax), "subtotal": money(tax)}]
            taxes_by_rate[percent] += tax or 0
        product_id, variation_id, name = products.get(line["sku"], (0, 0, line["sku"]))
        items.append(
            {
                "id": next(item_ids),
                "name": name,
                "product_id": product_id,
                "variation_id": variation_id,
                "quantity": quantity,
                "tax_class": "",
                "subtotal": money(subtotal),
                "subtotal_tax": money(tax),
                "total": money(net),
                "total_tax": money(tax),
                "taxes": taxes,
                "meta_data": [],
                "sku": line["sku"] or "",
                "price": as_number(net / quantity) if net is not None and quantity else 0,
            }
        )
    tax_total = order.get("tax_total")
    cart_tax = sum((line.get("line_tax") or Decimal(0) for line in lines), Decimal(0))
    shipping_tax = (tax_total or Decimal(0)) - cart_tax
    gross = order.get("gross_total")
    if gross is None and order.get("net_total") is not None:
        gross = order["net_total"] + (tax_total or Decimal(0))
    tax_lines = [
        {
            "id": next(item_ids),
            "rate_code": f"VAT-{percent}",
            "rate_id": rate_ids[percent],
            "label": "VAT",
            "compound": False,
            "tax_total": money(amount),
            "shipping_tax_total": money(shipping_tax if index == 0 else Decimal(0)),
            "rate_percent": float(percent),
            "meta_data": [],
        }
        for index, (percent, amount) in enumerate(sorted(taxes_by_rate.items()))
    ]
    shipping_lines = []
    if order.get("shipping_method") or order.get("shipping_total"):
        method = order.get("shipping_method") or ""
        shipping_lines.append(
            {
                "id": next(item_ids),
                "method_title": method,
                "method_id": method.lower().replace(" ", "_") or "flat_rate",
                "total": money(order.get("shipping_total")),
                "total_tax": money(shipping_tax),
                "taxes": [],
                "meta_data": [],
            }
        )
    address = {
        "first_name": first,
        "last_name": last,
        "company": "",
        "address_1": order.get("ship_line1") or "",
        "address_2": order.get("ship_line2") or "",
        "city": order.get("ship_city") or "",
        "state": "",
        "postcode": order.get("ship_postcode") or "",
        "country": order.get("ship_country") or "",
        "phone": order.get("ship_phone") or "",
    }
    return {
        "id": order_id,
        "parent_id": 0,
        "number": order["order_ref"],
        "order_key": f"wc_order_{order_id:08d}",
        "created_via": "checkout",
        "status": WOO_STATUS.get(order["status"], "processing"),
        "currency": "GBP",
        "date_created": created,
        "date_created_gmt": created,
        "date_modified": changed,
        "date_modified_gmt": changed,
        "discount_total": money(order.get("discount_total")),
        "discount_tax": money(Decimal(0)),
        "shipping_total": money(order.get("shipping_total")),
        "shipping_tax": money(shipping_tax),
        "cart_tax": money(cart_tax),
        "total": money(gross),
        "total_tax": money(tax_total),
        "prices_include_tax": False,
        "customer_id": 0,
        "billing": {**address, "email": order.get("email") or ""},
        "shipping": address,
        "payment_method": "stripe",
        "line_items": items,
        "tax_lines": tax_lines,
        "shipping_lines": shipping_lines,
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }


def woo_product(
    product: Record, available: int | None, *, product_id: int, variation: str | None = None
) -> dict[str, Any]:
    """A simple product, or (with `variation`, its attribute option) a variation."""
    managed = available is not None
    record: dict[str, Any] = {
        "id": product_id,
        "name": product.get("name") or "",
        "sku": product["sku"],
        "global_unique_id": product.get("barcode") or "",
        "status": "publish",
        "virtual": product.get("is_stock_item") is False,
        "manage_stock": managed,
        "stock_quantity": available,
        "stock_status": "instock" if (available or 0) > 0 or not managed else "outofstock",
        "meta_data": (
            [{"id": product_id, "key": COST_META_KEY, "value": fixed(product["unit_cost"])}]
            if product.get("unit_cost") is not None
            else []
        ),
    }
    if variation is None:
        record |= {"type": "simple", "variations": []}
    else:
        record["attributes"] = [{"id": 0, "name": "Size", "option": variation}]
    return record


# -- the simulator -------------------------------------------------------------------------------


@register
class WooCommerceSimulator(SimulatorApp):
    kind = "woocommerce"
    role = "store"
    default_credentials = {"consumer_key": "ck_parity", "consumer_secret": "cs_parity"}

    def load(self, world: Bundle) -> None:
        super().load(world)
        self.store = StoreWorld.of(self)
        self.ids = {order["order_ref"]: i for i, order in enumerate(self.store.orders, start=1)}
        # WooCommerce's tax rates are site-wide with their own ids.
        percents = {
            (Decimal(repr(line["tax_rate"])) * 100).normalize()
            for lines in self.store.lines.values()
            for line in lines
            if line.get("tax_rate") is not None
        }
        self.rate_ids = {percent: i for i, percent in enumerate(sorted(percents), start=1)}
        self._catalogue()

    def _catalogue(self) -> None:
        """Products and variable parents with ids; sku → (product id, variation id, name)."""
        available = {
            sku: sum(int(r["available"] if r["available"] is not None else 0) for r in rows)
            for sku, rows in self.store.stock.items()
        }
        families: dict[str, list[Record]] = defaultdict(list)
        for product in self.store.products:
            stem, _, last = (product.get("name") or "").rpartition(" ")
            families[stem if stem and last else f"\0{product['sku']}"].append(product)
        ids = count(1)
        self.catalogue: list[dict[str, Any]] = []
        self.variations: dict[int, list[dict[str, Any]]] = {}
        self.by_sku: dict[str, tuple[int, int, str]] = {}
        for stem, members in families.items():
            if len(members) < 2 or stem.startswith("\0"):
                for product in members:
                    pid = next(ids)
                    record = woo_product(product, available.get(product["sku"]), product_id=pid)
                    self.catalogue.append(record)
                    self.by_sku[product["sku"]] = (pid, 0, record["name"])
                continue
            parent_id = next(ids)
            children = []
            for product in members:
                vid = next(ids)
                option = (product.get("name") or "").rpartition(" ")[2]
                children.append(
                    woo_product(
                        product, available.get(product["sku"]), product_id=vid, variation=option
                    )
                )
                self.by_sku[product["sku"]] = (parent_id, vid, product.get("name") or "")
            self.variations[parent_id] = children
            self.catalogue.append(
                {
                    "id": parent_id,
                    "name": stem,
                    "type": "variable",
                    "sku": "",
                    "status": "publish",
                    "virtual": False,
                    "manage_stock": False,
                    "stock_quantity": None,
                    "variations": [child["id"] for child in children],
                    "attributes": [
                        {
                            "id": 0,
                            "name": "Size",
                            "variation": True,
                            "options": [c["attributes"][0]["option"] for c in children],
                        }
                    ],
                    "meta_data": [],
                }
            )

    def authenticate(self, request: SimRequest) -> str | None:
        key, secret = request.basic_auth() or (
            request.arg("consumer_key"),
            request.arg("consumer_secret"),
        )
        expected = (self.credentials["consumer_key"], self.credentials["consumer_secret"])
        return key if (key, secret) == expected else None

    def error_body(self, error: HttpError) -> SimResponse:
        code, message = error.code, str(error)
        if error.status == 401:
            code, message = "woocommerce_rest_authentication_error", "Consumer key is invalid."
        body = {"code": code, "message": message, "data": {"status": error.status}}
        return json_response(body, error.status, headers=error.headers)

    # -- listings --------------------------------------------------------------------------------

    def _page(self, request: SimRequest, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        per_page = request.int("per_page", 10)
        if not 1 <= per_page <= 100:
            raise HttpError(
                400,
                "Invalid parameter(s): per_page (per_page must be between 1 and 100)",
                code="rest_invalid_param",
            )
        number = request.int("page", 1)
        page, pages = self.paginate(items, number, per_page)
        if number < 1 or (number > pages and pages > 0):
            raise HttpError(
                400,
                "The page number requested is larger than the number of pages available.",
                code="woocommerce_rest_invalid_page_number",
            )
        return page, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}

    def _selected_orders(self, request: SimRequest) -> list[Record]:
        statuses = {s for s in (request.arg("status") or "any").split(",") if s}
        bounds = {
            name: parse_moment(request.arg(name) or "", name)
            for name in ("modified_after", "modified_before", "after", "before")
            if request.arg(name)
        }
        orderby = request.arg("orderby") or "date"
        if orderby not in SORTS:
            raise HttpError(400, "Invalid parameter(s): orderby", code="rest_invalid_param")
        descending = (request.arg("order") or "desc") == "desc"
        key = (tuple(sorted(statuses)), tuple(sorted(bounds.items())), orderby, descending)

        def build() -> list[Record]:
            chosen = [
                order
                for order in self.store.orders
                if ("any" in statuses or WOO_STATUS.get(order["status"]) in statuses)
                and _within(
                    modified(order), bounds.get("modified_after"), bounds.get("modified_before")
                )
                and _within(order["placed_at"], bounds.get("after"), bounds.get("before"))
            ]
            if orderby == "id":
                return chosen[::-1] if descending else chosen
            column = SORTS[orderby]
            return sorted(
                chosen,
                key=lambda o: (o.get(column) or o["placed_at"], self.ids[o["order_ref"]]),
                reverse=descending,
            )

        return self.store.cached(("orders", key), build)

    def _order_json(self, order: Record, dp: int) -> dict[str, Any]:
        order_id = self.ids[order["order_ref"]]
        record = woo_order(
            order,
            self.store.lines.get(order["order_ref"], []),
            order_id=order_id,
            item_ids=count(order_id * 1000),  # stable line item ids per order
            rate_ids=self.rate_ids,
            products=self.by_sku,
            dp=dp,
        )
        return corrupted(record, self.corrupt.get(order["order_ref"]))

    @property
    def corrupt(self) -> dict[str, dict[str, Any]]:
        return self.options.get("corrupt", {})

    def _products_json(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [corrupted(r, self.corrupt.get(r["sku"])) if r["sku"] else r for r in records]

    @route("GET", "/wp-json/wc/v3/orders")
    def list_orders(self, request: SimRequest) -> SimResponse:
        page, headers = self._page(request, self._selected_orders(request))
        dp = request.int("dp", 2)
        return json_response([self._order_json(o, dp) for o in page], headers=headers)

    @route("GET", "/wp-json/wc/v3/orders/{order_id}")
    def get_order(self, request: SimRequest, order_id: str) -> SimResponse:
        index = int(order_id) - 1 if order_id.isdigit() else -1
        if not 0 <= index < len(self.store.orders):
            raise HttpError(404, "Invalid ID.", code="woocommerce_rest_shop_order_invalid_id")
        return json_response(self._order_json(self.store.orders[index], request.int("dp", 2)))

    @route("GET", "/wp-json/wc/v3/products")
    def list_products(self, request: SimRequest) -> SimResponse:
        descending = (request.arg("order") or "desc") == "desc"
        items = self.catalogue[::-1] if descending else self.catalogue
        page, headers = self._page(request, items)
        return json_response(self._products_json(page), headers=headers)

    @route("GET", "/wp-json/wc/v3/products/{product_id}/variations")
    def list_variations(self, request: SimRequest, product_id: str) -> SimResponse:
        children = self.variations.get(int(product_id) if product_id.isdigit() else -1)
        if children is None:
            raise HttpError(404, "Invalid ID.", code="woocommerce_rest_product_invalid_id")
        descending = (request.arg("order") or "desc") == "desc"
        page, headers = self._page(request, children[::-1] if descending else children)
        return json_response(self._products_json(page), headers=headers)


def _within(moment: Any, after: Any, before: Any) -> bool:
    return (after is None or moment > after) and (before is None or moment < before)
