"""Cin7 Core (API v2, formerly DEAR Inventory), ERP role: sales with their lines and fulfilments,
products, stock availability and stock adjustments.

What it reads (Cin7 Core API v2, base URL `https://inventory.dearsystems.com/ExternalApi/v2`):

- `GET saleList?Page=&Limit=&UpdatedSince=` — sale summaries (`SaleList`, `Total`); a delta adds
  `UpdatedSince` (UTC, `yyyy-MM-ddTHH:mm:ss`). Then `GET sale?ID=<SaleID>` per sale for its
  order lines, additional charges and fulfilments (pick / pack / ship).
- `GET product?Page=&Limit=&ModifiedSince=` — products.csv.
- `GET ref/productavailability?Page=&Limit=` — stock.csv, one row per product and location
  (`OnHand`, `Allocated`, `Available`). Cin7 leaves out rows whose quantities are all zero.
- `GET stockadjustmentList?Page=&Limit=&Status=COMPLETED`, then `GET stockadjustment?TaskID=`
  per adjustment — adjustments.csv.

Auth: the `api-auth-accountid` and `api-auth-applicationkey` headers. Cin7 allows 60 calls a
minute per API application and answers 429 or 503 beyond that: every call, retries included,
takes a token from the shared per-credential bucket (connectors/http.py), and a 429/503 with
Retry-After is waited out. A full pull costs one call per sale and per adjustment on top of the
listings, so a large account's nightly full refresh takes that many seconds.

Field map, status map and what is assumed: docs/connectors.md, "Cin7 Core".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
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
from connectors.http import Page, RateLimit
from connectors.records import (
    Batch,
    RecordError,
    Row,
    Rows,
    Tracker,
    decimal_text,
    in_utc,
    money,
    number,
    rate,
    text,
    utc,
    whole,
)
from reconciliation.frames import FILES

CALLS_PER_MINUTE = 60
ORDER_FILES = ("orders", "order_lines", "shipments")
PAGE_LIMIT = 1000  # Cin7's largest page

# Sale `Status` → canonical status, where neither the void, the hold attribute nor the combined
# shipping status decided it (sale_status below).
SALE_STATUS: dict[str, str] = {
    # A quote, or an order not yet authorised: outside every flow rule.
    "DRAFT": "pending",
    "ESTIMATING": "pending",
    "ESTIMATED": "pending",
    "ORDERING": "pending",
    # Authorised, nothing picked yet (backordered: waiting for stock).
    "ORDERED": "open",
    "BACKORDERED": "open",
    "INVOICED": "open",  # invoiced ahead of fulfilment; not yet sent anywhere
    # Fulfilment started: with a 3PL, the pick is what is sent to the warehouse.
    "PICKING": "released",
    "PARTIALLY PICKED": "released",
    "PICKED": "released",
    "PACKING": "released",
    "PARTIALLY PACKED": "released",
    "PACKED": "released",
    "SHIPPING": "released",
    "PARTIALLY SHIPPED": "partially_dispatched",
    "SHIPPED": "dispatched",
    "COMPLETED": "dispatched",
    "VOIDED": "cancelled",
    "CREDITED": "cancelled",
}
# `CombinedShippingStatus` outranks `Status`: an invoiced or completed sale says nothing about
# parcels, this does.
SHIPPING_STATUS: dict[str, str] = {
    "SHIPPED": "dispatched",
    "PARTIALLY SHIPPED": "partially_dispatched",
}
CANCELLED = ("VOIDED", "CREDITED")
# Cin7 has no hold status: a sale is held while this additional attribute holds a reason.
HOLD_ATTRIBUTE = "AdditionalAttribute10"
# Lines (or additional charges) whose SKU is one of these make up shipping_total.
SHIPPING_SKUS = ("CARRIAGE", "SHIPPING", "DELIVERY", "FREIGHT")
STOCK_TYPES = ("Stock",)  # product `Type`s that hold stock; Service and Non-Inventory do not
# Country names Cin7 may give instead of ISO 3166 codes; options["countries"] adds more.
COUNTRIES: dict[str, str] = {
    "united kingdom": "GB",
    "great britain": "GB",
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "ireland": "IE",
    "france": "FR",
    "germany": "DE",
    "netherlands": "NL",
    "belgium": "BE",
    "spain": "ES",
    "italy": "IT",
    "united states": "US",
    "united states of america": "US",
}
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


# -- mapping: API record → canonical rows --------------------------------------------------------


def sale_status(
    sale: dict[str, Any], hold_attribute: str = HOLD_ATTRIBUTE
) -> tuple[str, str | None]:
    """A sale's canonical status and hold reason."""
    raw = str(sale.get("Status") or "").strip().upper()
    if raw not in SALE_STATUS:
        raise RecordError(f"status {raw!r} is not a Cin7 sale status this connector knows")
    if raw in CANCELLED:
        return "cancelled", None
    attributes = sale.get("AdditionalAttributes") or {}
    reason = text(attributes.get(hold_attribute)) if isinstance(attributes, dict) else None
    if reason is not None:
        return "held", reason
    shipping = str(sale.get("CombinedShippingStatus") or "").strip().upper()
    if shipping in SHIPPING_STATUS:
        return SHIPPING_STATUS[shipping], None
    return SALE_STATUS[raw], None


def country_code(value: Any, extra: dict[str, str] | None = None) -> str | None:
    """ISO 3166 alpha-2 from a code or a country name; an unknown name is kept as given."""
    name = text(value)
    if name is None:
        return None
    if len(name) == 2 and name.isalpha():
        return name.upper()
    known = {**COUNTRIES, **{k.lower(): v for k, v in (extra or {}).items()}}
    return known.get(name.lower(), name)


def tax_rate(tax_rule: Any) -> str | None:
    """The rate from a tax rule's name ("20% VAT on Income" → 0.2); None when it has none."""
    found = _PERCENT.search(str(tax_rule or ""))
    return rate(found.group(1)) if found else None


def sale_rows(
    sale: dict[str, Any],
    *,
    source_ref_field: str = "CustomerReference",
    hold_attribute: str = HOLD_ATTRIBUTE,
    shipping_skus: Iterable[str] = SHIPPING_SKUS,
    countries: dict[str, str] | None = None,
) -> tuple[str, Rows]:
    """A sale (the `sale?ID=` answer) → its orders, order_lines and shipments rows."""
    order = sale.get("Order") or {}
    ref = text(order.get("SaleOrderNumber")) or text(sale.get("OrderNumber"))
    if ref is None:
        raise RecordError("the sale has no order number")
    status, hold_reason = sale_status(sale, hold_attribute)
    lines = sale_lines(ref, order)
    shipping = {sku.upper() for sku in shipping_skus}
    shipping_total = sum(
        (Decimal(line["line_net"] or "0") for line in lines if (line["sku"] or "") in shipping),
        Decimal(0),
    )
    discounts = [
        (number(line.get("Price"), "Price") or 0)
        * (number(line.get("Quantity"), "Quantity") or 0)
        * number(line.get("Discount"), "Discount")
        / 100
        for line in order.get("Lines") or ()
        if text(line.get("Discount")) is not None
    ]
    address = sale.get("ShippingAddress") or {}
    row: Row = {
        "order_ref": ref,
        "source_ref": text(sale.get(source_ref_field)),
        "status": status,
        "hold_reason": hold_reason,
        "placed_at": utc(sale.get("SaleOrderDate") or sale.get("OrderDate")),
        "updated_at": utc(sale.get("LastModifiedOn") or sale.get("Updated")),
        "net_total": money(order.get("TotalBeforeTax"), "TotalBeforeTax"),
        "tax_total": money(order.get("Tax"), "Tax"),
        "gross_total": money(order.get("Total"), "Total"),
        "shipping_total": decimal_text(shipping_total) if lines else None,
        "discount_total": decimal_text(sum(discounts, Decimal(0)).normalize())
        if discounts
        else None,
        "shipping_method": text(sale.get("Carrier")),
        "ship_name": text(address.get("Contact")) or text(sale.get("Contact")),
        "ship_line1": text(address.get("Line1")),
        "ship_line2": text(address.get("Line2")),
        "ship_city": text(address.get("City")),
        "ship_postcode": text(address.get("Postcode")),
        "ship_country": country_code(address.get("Country"), countries),
        "ship_phone": text(sale.get("Phone")),
        "email": text(sale.get("Email")),
    }
    return ref, {
        "orders": [row],
        "order_lines": lines,
        "shipments": sale_shipments(ref, sale.get("Fulfilments") or ()),
    }


def sale_lines(ref: str, order: dict[str, Any]) -> list[Row]:
    """Order lines, then additional charges (a charge's description stands for its SKU), numbered
    from 1 in that order: Cin7 lines carry no line number of their own."""
    rows: list[Row] = []
    for position, line in enumerate(order.get("Lines") or (), start=1):
        what = f"line {position}"
        rows.append(
            {
                "order_ref": ref,
                "line_no": str(position),
                "sku": text(line.get("SKU")),
                "quantity": whole(line.get("Quantity"), f"{what} Quantity"),
                "unit_price": money(line.get("Price"), f"{what} Price"),
                "line_net": money(line.get("Total"), f"{what} Total"),
                "line_tax": money(line.get("Tax"), f"{what} Tax"),
                "tax_rate": tax_rate(line.get("TaxRule")),
            }
        )
    for charge in order.get("AdditionalCharges") or ():
        position = len(rows) + 1
        what = f"charge {position}"
        rows.append(
            {
                "order_ref": ref,
                "line_no": str(position),
                "sku": text(charge.get("Description")),
                "quantity": whole(charge.get("Quantity") or 1, f"{what} Quantity"),
                "unit_price": money(charge.get("Price"), f"{what} Price"),
                "line_net": money(charge.get("Total"), f"{what} Total"),
                "line_tax": money(charge.get("Tax"), f"{what} Tax"),
                "tax_rate": tax_rate(charge.get("TaxRule")),
            }
        )
    return rows


def sale_shipments(ref: str, fulfilments: Iterable[dict[str, Any]]) -> list[Row]:
    """One row per SKU per shipped parcel: a ship line names its boxes, the pack lines say what
    went in each box. A ship line without boxes takes the whole fulfilment's pack."""
    rows: list[Row] = []
    for fulfilment in fulfilments:
        pack_lines = (fulfilment.get("Pack") or {}).get("Lines") or ()
        ship = fulfilment.get("Ship") or {}
        ship_lines = [line for line in ship.get("Lines") or () if _shipped(line, ship)]
        for ship_line in ship_lines:
            boxes = {b.strip() for b in str(ship_line.get("Boxes") or "").split(",") if b.strip()}
            quantities: dict[str, Decimal] = defaultdict(Decimal)
            for pack in pack_lines:
                if boxes and str(pack.get("Box") or "").strip() not in boxes:
                    continue
                sku = text(pack.get("SKU"))
                if sku is None:
                    raise RecordError(f"a pack line of parcel {ship_line.get('ID')} has no SKU")
                quantities[sku] += number(pack.get("Quantity"), f"{sku} pack Quantity") or 0
            for sku, quantity in quantities.items():
                rows.append(
                    {
                        "order_ref": ref,
                        "shipment_ref": text(ship_line.get("ID")),
                        "sku": sku,
                        "quantity": whole(quantity, f"{sku} shipped quantity"),
                        "carrier": text(ship_line.get("Carrier")),
                        "service_code": None,  # Cin7 records the carrier only
                        "tracking_number": text(ship_line.get("TrackingNumber")),
                        "dispatched_at": utc(ship_line.get("ShipmentDate")),
                    }
                )
    return rows


def _shipped(line: dict[str, Any], ship: dict[str, Any]) -> bool:
    if "IsShipped" in line:
        return line.get("IsShipped") is True
    return str(ship.get("Status") or "").upper() == "AUTHORISED"


def product_rows(product: dict[str, Any]) -> tuple[str, Rows]:
    sku = text(product.get("SKU"))
    kind = text(product.get("Type"))
    row: Row = {
        "sku": sku,
        "name": text(product.get("Name")),
        "barcode": text(product.get("Barcode")),
        "unit_cost": money(product.get("AverageCost"), "AverageCost"),
        "is_stock_item": "true" if kind is None or kind in STOCK_TYPES else "false",
    }
    return sku or "", {"products": [row]}


def availability_rows(item: dict[str, Any]) -> tuple[str, Rows]:
    """One product at one location (batches and bins are summed by the rules)."""
    sku = text(item.get("SKU"))
    row: Row = {
        "sku": sku,
        "location": text(item.get("Location")),
        "on_hand": whole(item.get("OnHand"), "OnHand"),
        "allocated": whole(item.get("Allocated"), "Allocated"),
        "available": whole(item.get("Available"), "Available"),
    }
    return sku or "", {"stock": [row]}


def adjustment_rows(task: dict[str, Any]) -> tuple[str, Rows]:
    """A completed stock adjustment → one row per line.

    The ref is the adjustment's `Reference` (where a WMS adjustment posted to Cin7 keeps the WMS's
    ref), else its `StocktakeNumber`; several lines get `-1`, `-2`… An existing-stock line's
    `Adjustment` is the quantity after the adjustment, so its delta is that minus
    `QuantityOnHand`; a new-stock line's `Quantity` is all delta.
    """
    ref = text(task.get("Reference")) or text(task.get("StocktakeNumber"))
    if ref is None:
        raise RecordError("the stock adjustment has neither a Reference nor a StocktakeNumber")
    lines: list[tuple[dict[str, Any], Decimal]] = []
    for line in task.get("ExistingStockLines") or ():
        after = number(line.get("Adjustment"), "Adjustment")
        before = number(line.get("QuantityOnHand"), "QuantityOnHand")
        if after is None or before is None:
            raise RecordError("an existing-stock line lacks Adjustment or QuantityOnHand")
        lines.append((line, after - before))
    for line in task.get("NewStockLines") or ():
        if not isinstance(line, dict):
            raise RecordError("a new-stock line is not an object")
        lines.append((line, number(line.get("Quantity"), "Quantity") or Decimal(0)))
    rows = [
        {
            "adjustment_ref": ref if len(lines) == 1 else f"{ref}-{position}",
            "sku": text(line.get("SKU")),
            "delta": whole(delta, "adjusted quantity"),
            "reason": text(line.get("Comments")),
            "occurred_at": utc(task.get("EffectiveDate")),
        }
        for position, (line, delta) in enumerate(lines, start=1)
    ]
    return ref, {"adjustments": rows}


def cin7_time(moment: datetime) -> str:
    """A filter date as Cin7 takes it: UTC, no offset."""
    return in_utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


# -- the connector -------------------------------------------------------------------------------


@register
class Cin7CoreConnector(Connector):
    kind = "cin7_core"
    label = "Cin7 Core"
    roles = ("erp",)
    credential_fields = ("account_id", "application_key")
    files: ClassVar[tuple[str, ...]] = FILES

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        # Cin7 counts calls per API application; a deployer may ask for fewer to leave room
        # for other integrations on the same key, never for more.
        calls = min(int(settings.options.get("calls_per_minute", CALLS_PER_MINUTE)), 60)
        return {
            "headers": {
                "api-auth-accountid": settings.credentials.get("account_id", ""),
                "api-auth-applicationkey": settings.credentials.get("application_key", ""),
            },
            "rate_limit": RateLimit(max(calls, 1), 60.0),
        }

    @property
    def page_limit(self) -> int:
        return max(1, min(int(self.settings.options.get("page_limit", PAGE_LIMIT)), PAGE_LIMIT))

    def check(self) -> str:
        body = self.client.get_json("saleList", params={"Page": 1, "Limit": 1})
        return f"Cin7 Core answered: {body.get('Total', '?')} sales"

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
            wanted |= set(ORDER_FILES)  # a sale always brings its lines and parcels
            self._sales(batch, tracker, since)
        if "products" in wanted:
            self._products(batch, tracker, since)
        if "stock" in wanted:
            # No change stamp on availability: read whole every time.
            self._stock(batch, tracker)
        if "adjustments" in wanted:
            self._adjustments(batch, tracker, since)
        return PullResult(
            frames=batch.frames(wanted),
            # Only an undated pull of every file is the whole truth.
            complete=since is None and wanted >= set(self.files),
            quarantined=batch.quarantined,
            requests=self.client.requests,
            taken_at=taken_at,
        )

    def _listing(self, path: str, key: str, unique: str, **params: Any) -> Iterator[Page]:
        # Stops at the first short page rather than trusting `Total`: a listing that shifts
        # under paging (a sale inserted ahead of the cursor) never loses a record that way.
        return self.client.pages(
            path,
            params=params,
            page_param="Page",
            size_param="Limit",
            size=self.page_limit,
            items=lambda body: _items(body, key),
            total_pages=None,
            total_records=lambda _response, body: _total(body),
            unique_by=lambda record: record[unique],
        )

    def _sales(self, batch: Batch, tracker: Tracker, since: datetime | None) -> None:
        options = self.settings.options
        mapper = partial(
            sale_rows,
            source_ref_field=options.get("source_ref_field", "CustomerReference"),
            hold_attribute=options.get("hold_attribute", HOLD_ATTRIBUTE),
            shipping_skus=options.get("shipping_skus", SHIPPING_SKUS),
            countries=options.get("countries"),
        )
        params = {"UpdatedSince": cin7_time(since)} if since is not None else {}
        for page in self._listing("saleList", "SaleList", "SaleID", **params):
            for summary in page.items:
                if not isinstance(summary, dict) or text(summary.get("OrderNumber")) is None:
                    continue  # a quote that never became an order
                sale = self._detail("sale", {"ID": summary["SaleID"]}, batch, "orders", summary)
                if sale is not None:
                    batch.map("orders", sale, mapper, ref=_sale_ref)
            tracker.page("sales", page)

    def _products(self, batch: Batch, tracker: Tracker, since: datetime | None) -> None:
        params = {"ModifiedSince": cin7_time(since)} if since is not None else {}
        for page in self._listing("product", "Products", "ID", **params):
            for product in page.items:
                batch.map("products", product, product_rows, ref=lambda p: p.get("SKU"))
            tracker.page("products", page)

    def _stock(self, batch: Batch, tracker: Tracker) -> None:
        path = "ref/productavailability"
        listing = self.client.pages(
            path,
            page_param="Page",
            size_param="Limit",
            size=self.page_limit,
            items=lambda body: _items(body, "ProductAvailabilityList"),
            total_pages=None,
            total_records=lambda _response, body: _total(body),
            # A product appears once per location, batch and bin.
            unique_by=lambda i: (i["ID"], i.get("Location"), i.get("Bin"), i.get("Batch")),
        )
        for page in listing:
            for item in page.items:
                batch.map("stock", item, availability_rows, ref=lambda i: i.get("SKU"))
            tracker.page("stock", page)

    def _adjustments(self, batch: Batch, tracker: Tracker, since: datetime | None) -> None:
        # The list has no change filter; a delta skips adjustments effective before `since`.
        for page in self._listing(
            "stockadjustmentList", "StockAdjustmentList", "TaskID", Status="COMPLETED"
        ):
            for summary in page.items:
                if not isinstance(summary, dict):
                    batch.reject("adjustments", "", summary, "expected a JSON object")
                    continue
                if since is not None and not _effective_since(summary, since):
                    continue
                params = {"TaskID": summary.get("TaskID")}
                task = self._detail("stockadjustment", params, batch, "adjustments", summary)
                if task is not None:
                    batch.map("adjustments", task, adjustment_rows, ref=_adjustment_ref)
            tracker.page("adjustments", page)

    def _detail(
        self, path: str, params: dict[str, Any], batch: Batch, file: str, summary: Any
    ) -> dict[str, Any] | None:
        """One record's detail; a record listed but gone by now is quarantined, not fatal."""
        try:
            body = self.client.get_json(path, params=params)
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            ref = summary.get("OrderNumber") or summary.get("StocktakeNumber") or ""
            batch.reject(file, ref, summary, f"listed, but {path} answered 404: {exc}")
            return None
        if not isinstance(body, dict):
            batch.reject(file, "", body, f"{path} did not answer a JSON object")
            return None
        return body


def _items(body: Any, key: str) -> list[Any]:
    if not isinstance(body, dict):
        raise ConnectorError(f"expected a JSON object with {key!r}", permanent=True)
    items = body.get(key) or []
    if not isinstance(items, list):
        raise ConnectorError(f"{key!r} is not a list", permanent=True)
    return items


def _total(body: Any) -> int | None:
    total = body.get("Total") if isinstance(body, dict) else None
    return int(total) if isinstance(total, int | float) else None


def _sale_ref(sale: dict[str, Any]) -> Any:
    return (sale.get("Order") or {}).get("SaleOrderNumber") or sale.get("OrderNumber")


def _adjustment_ref(task: dict[str, Any]) -> Any:
    return task.get("Reference") or task.get("StocktakeNumber")


def _effective_since(summary: dict[str, Any], since: datetime) -> bool:
    stamp = utc(summary.get("EffectiveDate"))
    if stamp is None:
        return True  # undated: read it rather than miss it
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment >= in_utc(since)
