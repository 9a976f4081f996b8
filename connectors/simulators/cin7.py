"""Cin7 Core API v2 simulator: a world's ERP role as Cin7 answers it.

Routes (under `/ExternalApi/v2`, and at the root too, so a connection whose base URL is the bare
simulator address works): `saleList` (Page, Limit, UpdatedSince), `sale?ID=`,
`product` (Page, Limit, ModifiedSince), `ref/productavailability` (Page, Limit),
`stockadjustmentList` (Page, Limit, Status) and `stockadjustment?TaskID=`. Auth: the
`api-auth-accountid` / `api-auth-applicationkey` headers. Like Cin7 it allows 60 calls a minute
per account (the framework's `rate_limit` fault, on by default here; answer status
`rate_status`: 429, or 503 as Cin7 also does), pages of at most 1000, and leaves out availability
rows whose quantities are all zero.

What a Cin7 sale cannot carry, so a pull reads back differently from the world (the tests spell
these out): line numbers (Cin7 numbers lines by position), a shipping total of its own (it is the
sum of the shipping SKUs' lines), discount totals (lines carry a discount percent, served as 0),
shipment service codes, and the statuses Cin7 has no word for (`in_progress` is served as PACKED
and reads back `released`; `rejected` as VOIDED, read back `cancelled`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from decimal import Decimal
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
from reconciliation.frames import Bundle

API = "/ExternalApi/v2"
MAX_LIMIT = 1000
HOLD_ATTRIBUTE = "AdditionalAttribute10"
# Canonical status → (Status, CombinedShippingStatus) the way Cin7 shows such a sale.
STATUSES: dict[str, tuple[str, str]] = {
    "pending": ("ORDERING", "NOT SHIPPED"),
    "open": ("ORDERED", "NOT SHIPPED"),
    "released": ("PICKING", "NOT SHIPPED"),
    "in_progress": ("PACKED", "NOT SHIPPED"),
    "held": ("ORDERED", "NOT SHIPPED"),
    "rejected": ("VOIDED", "NOT SHIPPED"),
    "partially_dispatched": ("PARTIALLY SHIPPED", "PARTIALLY SHIPPED"),
    "dispatched": ("SHIPPED", "SHIPPED"),
    "cancelled": ("VOIDED", "NOT SHIPPED"),
}
COUNTRY_NAMES = {"GB": "United Kingdom", "IE": "Ireland"}  # Cin7 often writes names, not codes

Record = dict[str, Any]


def guid(*parts: Any) -> str:
    """A stable GUID for a world record (Cin7 identifies everything by GUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cin7:" + ":".join(str(p) for p in parts)))


def amount(value: Decimal | None) -> float | None:
    """Money and quantities as JSON numbers, as Cin7 sends them."""
    return None if value is None else float(value)


def stamp(moment: datetime | None) -> str | None:
    """Cin7's dates: UTC without an offset."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def tax_rule(rate: Any) -> str | None:
    if rate is None:
        return None
    percent = (Decimal(str(rate)) * 100).normalize()
    return f"{percent:f}% VAT"


def _line_number(line: Record) -> tuple[int, str]:
    number = str(line.get("line_no") or "")
    return (int(number), "") if number.isdigit() else (1 << 30, number)


def sale_detail(order: Record, lines: list[Record], shipments: list[Record]) -> Record:
    """The `sale?ID=` answer for one world order."""
    status, shipping = STATUSES[order["status"]]
    attributes = {}
    if order["status"] == "held":
        attributes[HOLD_ATTRIBUTE] = order.get("hold_reason") or "held"
    country = order.get("ship_country")
    order_lines = [
        {
            "ProductID": guid("product", line["sku"]),
            "SKU": line["sku"],
            "Name": line["sku"],
            "Quantity": amount(line["quantity"]),
            "Price": amount(line.get("unit_price")),
            "Discount": 0.0,
            "Tax": amount(line.get("line_tax")),
            "TaxRule": tax_rule(line.get("tax_rate")),
            "Total": amount(line.get("line_net")),
        }
        for line in sorted(lines, key=_line_number)
    ]
    return {
        "ID": guid("sale", order["order_ref"]),
        "Type": "Simple Sale",
        "Customer": order.get("ship_name"),
        "Contact": order.get("ship_name"),
        "Phone": order.get("ship_phone"),
        "Email": order.get("email"),
        "CustomerReference": order.get("source_ref"),
        "Status": status,
        "CombinedShippingStatus": shipping,
        "SaleOrderDate": stamp(order.get("placed_at")),
        "LastModifiedOn": stamp(order.get("updated_at")),
        "Carrier": order.get("shipping_method"),
        "Location": "MAIN",
        "ShippingAddress": {
            "Contact": order.get("ship_name"),
            "Line1": order.get("ship_line1"),
            "Line2": order.get("ship_line2"),
            "City": order.get("ship_city"),
            "Postcode": order.get("ship_postcode"),
            "Country": COUNTRY_NAMES.get(country or "", country),
        },
        "AdditionalAttributes": attributes,
        "Order": {
            "SaleOrderNumber": order["order_ref"],
            "Status": "AUTHORISED",
            "Lines": order_lines,
            "AdditionalCharges": [],
            "TotalBeforeTax": amount(order.get("net_total")),
            "Tax": amount(order.get("tax_total")),
            "Total": amount(order.get("gross_total")),
        },
        "Fulfilments": fulfilments(order["order_ref"], shipments),
    }


def fulfilments(ref: str, shipments: list[Record]) -> list[Record]:
    """All of an order's parcels as one fulfilment: box N holds parcel N's pack lines."""
    if not shipments:
        return []
    parcels: dict[str, list[Record]] = defaultdict(list)
    for row in shipments:
        parcels[row.get("shipment_ref") or ""].append(row)
    pack, ship = [], []
    for box, (parcel, rows) in enumerate(parcels.items(), start=1):
        pack.extend(
            {"SKU": row["sku"], "Quantity": amount(row["quantity"]), "Box": str(box)}
            for row in rows
        )
        first = rows[0]
        ship.append(
            {
                "ID": parcel or guid("parcel", ref, box),
                "ShipmentDate": stamp(first.get("dispatched_at")),
                "Carrier": first.get("carrier"),
                "Boxes": str(box),
                "TrackingNumber": first.get("tracking_number"),
                "IsShipped": True,
            }
        )
    return [
        {
            "TaskID": guid("fulfilment", ref),
            "FulfillmentNumber": 1,
            "Pack": {"Status": "AUTHORISED", "Lines": pack},
            "Ship": {"Status": "AUTHORISED", "Lines": ship},
        }
    ]


def sale_summary(detail: Record) -> Record:
    """The saleList row of a sale."""
    return {
        "SaleID": detail["ID"],
        "OrderNumber": detail["Order"]["SaleOrderNumber"],
        "Status": detail["Status"],
        "OrderDate": detail["SaleOrderDate"],
        "Updated": detail["LastModifiedOn"],
        "Customer": detail["Customer"],
        "CustomerReference": detail["CustomerReference"],
        "CombinedShippingStatus": detail["CombinedShippingStatus"],
        "Type": detail["Type"],
    }


def adjustment_task(number: int, row: Record) -> Record:
    """A completed stock adjustment of one existing-stock line."""
    delta = int(row["delta"])
    before = abs(delta) + 10  # any level the adjustment can take from
    return {
        "TaskID": guid("adjustment", row["adjustment_ref"]),
        "StocktakeNumber": f"ST-{number:05d}",
        "EffectiveDate": stamp(row.get("occurred_at")),
        "Status": "COMPLETED",
        "Reference": row["adjustment_ref"],
        "ExistingStockLines": [
            {
                "ProductID": guid("product", row["sku"]),
                "SKU": row["sku"],
                "Location": "MAIN",
                "QuantityOnHand": float(before),
                "Adjustment": float(before + delta),
                "Comments": row.get("reason"),
            }
        ],
        "NewStockLines": [],
    }


@register
class Cin7Simulator(SimulatorApp):
    kind = "cin7_core"
    role = "erp"
    default_credentials = {"account_id": "sim-account", "application_key": "sim-key"}

    def __init__(self, world: Bundle, **kwargs: Any) -> None:
        super().__init__(world, **kwargs)
        # Cin7's own limit; start_simulator(..., rate_limit=0) switches it off.
        self.faults.rate_limit = 60
        self.faults.rate_period = 60.0

    def load(self, world: Bundle) -> None:
        super().load(world)
        lines: dict[str, list[Record]] = defaultdict(list)
        for line in self.rows("order_lines"):
            lines[line["order_ref"]].append(line)
        shipments: dict[str, list[Record]] = defaultdict(list)
        for row in self.rows("shipments"):
            shipments[row["order_ref"]].append(row)
        self.sales: dict[str, Record] = {}  # SaleID → detail, in the world's order
        for order in self.rows("orders"):
            detail = sale_detail(order, lines[order["order_ref"]], shipments[order["order_ref"]])
            self.sales[detail["ID"]] = detail
        modified = stamp(self.world.roles[self.role].taken_at) if self.role in world.roles else None
        self.products = [
            {
                "ID": guid("product", product["sku"]),
                "SKU": product["sku"],
                "Name": product.get("name"),
                "Barcode": product.get("barcode"),
                "Type": "Stock" if product.get("is_stock_item") is not False else "Service",
                "AverageCost": amount(product.get("unit_cost")),
                "Status": "Active",
                "LastModifiedOn": modified,
            }
            for product in self.rows("products")
        ]
        self.availability = [
            {
                "ID": guid("product", row["sku"]),
                "SKU": row["sku"],
                "Location": row.get("location"),
                "Bin": None,
                "Batch": None,
                "OnHand": amount(row.get("on_hand")),
                "Allocated": amount(row.get("allocated")),
                "Available": amount(row.get("available")),
                "OnOrder": 0.0,
                "InTransit": 0.0,
            }
            for row in self.rows("stock")
            # Cin7 lists a product only where something is on hand, allocated or on order.
            if any(row.get(k) for k in ("on_hand", "allocated", "available"))
        ]
        self.adjustments = {
            task["TaskID"]: task
            for task in (
                adjustment_task(number, row)
                for number, row in enumerate(self.rows("adjustments"), start=1)
            )
        }
        self._cache: dict[Hashable, list[Any]] = {}

    def authenticate(self, request: SimRequest) -> str | None:
        account = request.header("api-auth-accountid")
        key = request.header("api-auth-applicationkey")
        if account == self.credentials["account_id"] and key == self.credentials["application_key"]:
            return account
        return None

    # -- changes, for tests and demos -------------------------------------------------------------

    def touch(self, order_ref: str, *, status: str | None = None, **fields: Any) -> Record:
        """Change a sale as Cin7 would: a new status and/or top-level fields, modified now."""
        detail = next(d for d in self.sales.values() if d["Order"]["SaleOrderNumber"] == order_ref)
        if status is not None:
            detail["Status"], detail["CombinedShippingStatus"] = STATUSES[status]
        detail.update(fields)
        detail["LastModifiedOn"] = stamp(datetime.now(UTC))
        self._cache.clear()
        return detail

    # -- routes ---------------------------------------------------------------------------------

    def _page(self, request: SimRequest, key: str, items: list[Any]) -> SimResponse:
        limit = min(max(request.int("Limit", 100), 1), MAX_LIMIT)
        page, _pages = self.paginate(items, request.int("Page", 1), limit)
        return json_response({"Total": len(items), "Page": request.int("Page", 1), key: page})

    def _since(self, request: SimRequest, name: str) -> datetime | None:
        value = request.arg(name)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise HttpError(400, f"{name} is not a date") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _cached(self, key: Hashable, build: Callable[[], list[Any]]) -> list[Any]:
        # A bench pages through 100,000 sales: filter once per query, not once a page.
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @route("GET", f"{API}/saleList")
    @route("GET", "/saleList")
    def sale_list(self, request: SimRequest) -> SimResponse:
        since = self._since(request, "UpdatedSince")

        def build() -> list[Any]:
            return [
                sale_summary(detail)
                for detail in self.sales.values()
                if since is None or _after(detail["LastModifiedOn"], since)
            ]

        return self._page(request, "SaleList", self._cached(("sales", since), build))

    @route("GET", f"{API}/sale")
    @route("GET", "/sale")
    def sale(self, request: SimRequest) -> SimResponse:
        detail = self.sales.get(request.arg("ID") or "")
        if detail is None:
            raise HttpError(404, "Sale not found")
        return json_response(detail)

    @route("GET", f"{API}/product")
    @route("GET", "/product")
    def product_list(self, request: SimRequest) -> SimResponse:
        since = self._since(request, "ModifiedSince")
        products = [p for p in self.products if since is None or _after(p["LastModifiedOn"], since)]
        return self._page(request, "Products", products)

    @route("GET", f"{API}/ref/productavailability")
    @route("GET", "/ref/productavailability")
    def availability_list(self, request: SimRequest) -> SimResponse:
        return self._page(request, "ProductAvailabilityList", self.availability)

    @route("GET", f"{API}/stockadjustmentList")
    @route("GET", "/stockadjustmentList")
    def adjustment_list(self, request: SimRequest) -> SimResponse:
        wanted = request.arg("Status")
        summaries = [
            {k: task[k] for k in ("TaskID", "StocktakeNumber", "EffectiveDate", "Status")}
            | {"Reference": task["Reference"]}
            for task in self.adjustments.values()
            if not wanted or task["Status"] == wanted
        ]
        return self._page(request, "StockAdjustmentList", summaries)

    @route("GET", f"{API}/stockadjustment")
    @route("GET", "/stockadjustment")
    def adjustment(self, request: SimRequest) -> SimResponse:
        task = self.adjustments.get(request.arg("TaskID") or "")
        if task is None:
            raise HttpError(404, "Stock adjustment not found")
        return json_response(task)


def _after(value: str | None, since: datetime) -> bool:
    if value is None:
        return False
    return datetime.fromisoformat(value).replace(tzinfo=UTC) > since
