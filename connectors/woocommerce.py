"""WooCommerce REST API v3, store role: orders (with their lines), products and variations, stock.

What it reads (docs: woocommerce.github.io/woocommerce-rest-api-docs, "wp-api-v3"):

- `GET /wp-json/wc/v3/orders?orderby=id&order=asc&dp=4&per_page=100&page=N` — paged with the
  `X-WP-TotalPages` / `X-WP-Total` headers; a delta adds `modified_after=<since>` with
  `dates_are_gmt=true` (WooCommerce 5.8+). `dp=4` keeps the four places frames hold.
- `GET /wp-json/wc/v3/products?…` and, for each variable product,
  `GET /wp-json/wc/v3/products/<id>/variations?…`: products.csv, and stock.csv from
  `stock_quantity` where `manage_stock` is on.

Auth: the consumer key and secret as HTTP Basic auth (the documented way over HTTPS), or as
`consumer_key`/`consumer_secret` query parameters (`options["auth"] = "query"`, for servers that
drop the Authorization header). OAuth 1.0a signing (plain-HTTP stores) is not implemented.

Field map and status map: docs/connectors.md, "WooCommerce".
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import httpx

from connectors.base import ConnectionSettings, Connector, ProgressCallback, PullResult, register
from connectors.records import (
    Batch,
    RecordError,
    Rows,
    Tracker,
    decimal_text,
    in_utc,
    joined,
    money,
    number,
    rate,
    text,
    utc,
    whole,
)

API = "/wp-json/wc/v3"
ORDER_FILES = ("orders", "order_lines")
STOCK_FILES = ("products", "stock")

# WooCommerce status (without the "wc-" prefix) → canonical status.
STATUS_MAP: dict[str, str] = {
    "pending": "pending",  # awaiting payment
    "on-hold": "pending",  # awaiting payment confirmation (e.g. bank transfer)
    "checkout-draft": "pending",  # block checkout not yet placed
    "processing": "open",  # paid, to be fulfilled
    "partial-shipped": "partially_dispatched",  # Advanced Shipment Tracking's custom status
    "partially-shipped": "partially_dispatched",
    "completed": "dispatched",
    "shipped": "dispatched",  # common custom statuses of shipping plugins
    "delivered": "dispatched",
    "cancelled": "cancelled",
    "refunded": "cancelled",
    "failed": "cancelled",  # payment failed: never became an order to fulfil
}
# Meta key of the product cost (SkyVerge "Cost of Goods", the usual source); an option changes it.
COST_META_KEY = "_wc_cog_cost"
# Product types that are not sold as themselves: a variable product's variations are read
# instead, grouped and external (affiliate) products hold no stock of their own.
NOT_SOLD = ("variable", "grouped", "external")


# -- mapping: API record → canonical rows --------------------------------------------------------


def order_rows(order: dict[str, Any], status_map: dict[str, str] = STATUS_MAP) -> tuple[str, Rows]:
    """One order → its orders.csv row and order_lines.csv rows."""
    ref = text(order.get("number")) or text(order.get("id"))
    if ref is None:
        raise RecordError("the order has neither a number nor an id")
    raw = str(order.get("status") or "").strip().lower().removeprefix("wc-")
    status = status_map.get(raw)
    if status is None:
        raise RecordError(f"status {raw!r} is not in the WooCommerce status map")
    total = number(order.get("total"), "total")
    tax = number(order.get("total_tax"), "total_tax")
    shipping = order.get("shipping") or {}
    billing = order.get("billing") or {}
    methods = [line.get("method_title") for line in order.get("shipping_lines") or ()]
    row = {
        "order_ref": ref,
        "source_ref": None,
        "status": status,
        "hold_reason": None,
        "placed_at": utc(order.get("date_created_gmt")),
        "updated_at": utc(order.get("date_modified_gmt")),
        "net_total": decimal_text(total - tax if total is not None and tax is not None else None),
        "tax_total": decimal_text(tax),
        "gross_total": decimal_text(total),
        "shipping_total": money(order.get("shipping_total"), "shipping_total"),
        "discount_total": money(order.get("discount_total"), "discount_total"),
        "shipping_method": joined(*methods, sep=", "),
        "ship_name": joined(shipping.get("first_name"), shipping.get("last_name")),
        "ship_line1": text(shipping.get("address_1")),
        "ship_line2": text(shipping.get("address_2")),
        "ship_city": text(shipping.get("city")),
        "ship_postcode": text(shipping.get("postcode")),
        "ship_country": text(shipping.get("country")),
        "ship_phone": text(shipping.get("phone")) or text(billing.get("phone")),
        "email": text(billing.get("email")),
    }
    rates = {
        tax_line.get("rate_id"): tax_line.get("rate_percent")
        for tax_line in order.get("tax_lines") or ()
    }
    lines = [
        line_row(ref, position, item, rates)
        for position, item in enumerate(order.get("line_items") or (), start=1)
    ]
    return ref, {"orders": [row], "order_lines": lines}


def line_row(
    ref: str, position: int, item: dict[str, Any], rates: dict[Any, Any]
) -> dict[str, str | None]:
    """A line item: `subtotal` is before discounts, `total` after, both without tax."""
    quantity = whole(item.get("quantity"), f"line {position} quantity")
    subtotal = number(item.get("subtotal"), f"line {position} subtotal")
    unit = (
        subtotal / int(quantity) if subtotal is not None and quantity not in (None, "0") else None
    )
    # The rates of the taxes charged on this line; several (compound) rates add up.
    percents = [
        number(rates.get(tax.get("id")), f"line {position} tax rate")
        for tax in item.get("taxes") or ()
        if tax.get("id") in rates and text(tax.get("total")) is not None
    ]
    known = [p for p in percents if p is not None]
    return {
        "order_ref": ref,
        "line_no": str(position),
        "sku": text(item.get("sku")),
        "quantity": quantity,
        "unit_price": decimal_text(unit),
        "line_net": money(item.get("total"), f"line {position} total"),
        "line_tax": money(item.get("total_tax"), f"line {position} total_tax"),
        "tax_rate": rate(sum(known)) if known else None,
    }


def product_rows(
    product: dict[str, Any], parent: dict[str, Any] | None = None, cost_key: str = COST_META_KEY
) -> tuple[str, Rows]:
    """A simple product or a variation → its products.csv row and, when WooCommerce manages its
    stock, a stock.csv row (`stock_quantity` is what the store can still sell)."""
    sku = text(product.get("sku"))
    name = text(product.get("name"))
    if parent is not None and name is None:
        options = [a.get("option") for a in product.get("attributes") or ()]
        name = joined(parent.get("name"), joined(*options, sep=", "), sep=" - ")
    cost = next(
        (m.get("value") for m in product.get("meta_data") or () if m.get("key") == cost_key), None
    )
    row = {
        "sku": sku,
        "name": name,
        "barcode": text(product.get("global_unique_id")),
        "unit_cost": money(cost, "unit cost"),
        "is_stock_item": "false" if product.get("virtual") is True else "true",
    }
    rows: Rows = {"products": [row]}
    # manage_stock "parent" (a variation sharing its parent's stock) is not this SKU's own stock.
    if product.get("manage_stock") is True and product.get("stock_quantity") is not None:
        quantity = whole(product.get("stock_quantity"), "stock_quantity")
        rows["stock"] = [
            {
                "sku": sku,
                "location": None,
                "on_hand": quantity,
                "allocated": "0",
                "available": quantity,
            }
        ]
    return sku or text(product.get("id")) or "", rows


# -- the connector -------------------------------------------------------------------------------


class QueryAuth(httpx.Auth):
    """Consumer key and secret as query parameters (for servers that drop Authorization)."""

    def __init__(self, key: str, secret: str) -> None:
        self.params = {"consumer_key": key, "consumer_secret": secret}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params(self.params)
        yield request


@register
class WooCommerceConnector(Connector):
    kind = "woocommerce"
    label = "WooCommerce"
    roles = ("store",)
    credential_fields = ("consumer_key", "consumer_secret")
    files: ClassVar[tuple[str, ...]] = (*ORDER_FILES, *STOCK_FILES)

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        key = settings.credentials.get("consumer_key", "")
        secret = settings.credentials.get("consumer_secret", "")
        if settings.options.get("auth") == "query":
            return {"auth": QueryAuth(key, secret)}
        return {"auth": (key, secret)}

    @property
    def per_page(self) -> int:
        # WooCommerce refuses more than 100 a page.
        return max(1, min(int(self.settings.options.get("per_page", 100)), 100))

    @property
    def status_map(self) -> dict[str, str]:
        return {**STATUS_MAP, **self.settings.options.get("status_map", {})}

    def check(self) -> str:
        response = self.client.get(f"{API}/orders", params={"per_page": 1})
        return f"WooCommerce answered: {response.headers.get('X-WP-Total', '?')} orders"

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
            wanted |= set(ORDER_FILES)  # an order always brings its lines
            self._orders(batch, tracker, since)
        if wanted & set(STOCK_FILES):
            # Stock has no trustworthy change stamp in WooCommerce: it is read whole every time.
            self._products(batch, tracker, wanted)
        return PullResult(
            frames=batch.frames(wanted & set(self.files)),
            complete=since is None,
            quarantined=batch.quarantined,
            requests=self.client.requests,
            taken_at=taken_at,
        )

    def _listing(self, path: str, **params: Any) -> Iterable[Any]:
        return self.client.pages(
            path,
            params={"orderby": "id", "order": "asc", **params},
            size=self.per_page,
            total_pages="X-WP-TotalPages",
            total_records="X-WP-Total",
            unique_by=lambda record: record["id"],  # duplicated pages never count twice
        )

    def _orders(self, batch: Batch, tracker: Tracker, since: datetime | None) -> None:
        params: dict[str, Any] = {"dp": 4, "status": "any"}
        if since is not None:
            moment = in_utc(since).strftime("%Y-%m-%dT%H:%M:%S")
            params |= {"modified_after": moment, "dates_are_gmt": "true"}
        mapper = partial(order_rows, status_map=self.status_map)
        for page in self._listing(f"{API}/orders", **params):
            for order in page.items:
                batch.map("orders", order, mapper, ref=lambda o: o.get("number") or o.get("id"))
            tracker.page("orders", page)

    def _products(self, batch: Batch, tracker: Tracker, wanted: set[str]) -> None:
        cost_key = self.settings.options.get("cost_meta_key", COST_META_KEY)
        for page in self._listing(f"{API}/products"):
            for product in page.items:
                kind = product.get("type") if isinstance(product, dict) else None
                if kind == "variable":
                    self._variations(batch, tracker, product, cost_key)
                elif kind not in NOT_SOLD:
                    mapper = partial(product_rows, cost_key=cost_key)
                    batch.map("products", product, mapper, ref=lambda p: p.get("sku"))
            tracker.page("products", page)

    def _variations(
        self, batch: Batch, tracker: Tracker, parent: dict[str, Any], cost_key: str
    ) -> None:
        path = f"{API}/products/{parent['id']}/variations"
        mapper = partial(product_rows, parent=parent, cost_key=cost_key)
        for page in self._listing(path):
            for variation in page.items:
                batch.map("products", variation, mapper, ref=lambda v: v.get("sku"))
            tracker.page(path, page)
