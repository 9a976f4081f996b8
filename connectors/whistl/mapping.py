"""Whistl's records ↔ canonical rows, through ONE mapping table a deployer can change.

Whistl's WMS API is not published where this was built, so everything here is ASSUMED: the
usual shape of a UK 3PL's API and CSV exchange. `MAPPING` holds every name that is a guess —
endpoints, paging parameters, the field of each canonical column in the REST records (a dotted
path into the JSON) and in the CSV files (a header), the file name patterns — so a deployer who
meets the real thing changes the table, not the code. A connection's `options["mapping"]` is
merged over it (only the keys given change), `options["status_map"]` over `STATUS_MAP` and
`options["reason_codes"]` over `REASON_CODES`; docs/connectors.md shows an example.

The same table drives both directions: reading records into rows, and writing an order for the
3PL (the "Release to warehouse" push, and the simulator's answers).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from connectors.records import RecordError, Row, Rows, money, rate, text, utc, whole

# canonical file → canonical column → (REST field path, CSV header). None: not exchanged.
FIELDS: dict[str, dict[str, list[str | None]]] = {
    "orders": {
        "order_ref": ["order_number", "OrderNumber"],
        "source_ref": ["client_reference", "ClientReference"],
        "status": ["status", "Status"],
        "hold_reason": ["hold_reason", "HoldReason"],
        "placed_at": ["created_at", "CreatedAt"],
        "updated_at": ["updated_at", "UpdatedAt"],
        "net_total": ["totals.net", "NetTotal"],
        "tax_total": ["totals.tax", "TaxTotal"],
        "gross_total": ["totals.gross", "GrossTotal"],
        "shipping_total": ["totals.shipping", "ShippingTotal"],
        "discount_total": ["totals.discount", "DiscountTotal"],
        "shipping_method": ["service_code", "ServiceCode"],
        "ship_name": ["delivery.name", "DeliveryName"],
        "ship_line1": ["delivery.address_1", "DeliveryAddress1"],
        "ship_line2": ["delivery.address_2", "DeliveryAddress2"],
        "ship_city": ["delivery.town", "DeliveryTown"],
        "ship_postcode": ["delivery.postcode", "DeliveryPostcode"],
        "ship_country": ["delivery.country_code", "DeliveryCountry"],
        "ship_phone": ["delivery.phone", "DeliveryPhone"],
        "email": ["delivery.email", "DeliveryEmail"],
    },
    # REST: each entry of an order's `lists.order_lines`; CSV: the line columns of orders_*.csv.
    "order_lines": {
        "line_no": ["line_number", "LineNumber"],
        "sku": ["sku", "SKU"],
        "quantity": ["quantity", "Quantity"],
        "unit_price": ["unit_price", "UnitPrice"],
        "line_net": ["net", "LineNet"],
        "line_tax": ["tax", "LineTax"],
        "tax_rate": ["tax_rate_percent", "TaxRatePercent"],  # a percentage: 20 is 20 %
    },
    # REST: a despatch (parcel) and each entry of its `lists.shipments`; CSV: one row per item.
    "shipments": {
        "order_ref": ["order_number", "OrderNumber"],
        "shipment_ref": ["despatch_number", "ConsignmentNumber"],
        "carrier": ["carrier", "Carrier"],
        "service_code": ["service_code", "ServiceCode"],
        "tracking_number": ["tracking_number", "TrackingNumber"],
        "dispatched_at": ["despatched_at", "DespatchedAt"],
        "sku": ["sku", "SKU"],  # item level in REST
        "quantity": ["quantity", "Quantity"],  # item level in REST
    },
    "stock": {
        "sku": ["sku", "SKU"],
        "location": ["location", "Location"],
        "on_hand": ["on_hand", "OnHand"],
        "allocated": ["allocated", "Allocated"],
        "available": ["available", "Available"],
    },
    "adjustments": {
        "adjustment_ref": ["reference", "AdjustmentRef"],
        "sku": ["sku", "SKU"],
        "delta": ["quantity", "Quantity"],  # signed
        "reason": ["reason_code", "ReasonCode"],  # a code, turned into words by REASON_CODES
        "occurred_at": ["created_at", "AdjustedAt"],
    },
    "products": {
        "sku": ["sku", "SKU"],
        "name": ["description", "Description"],
        "barcode": ["barcode", "Barcode"],
        "unit_cost": [None, None],  # a 3PL does not value stock
        "is_stock_item": [None, None],
    },
}

MAPPING: dict[str, Any] = {
    "endpoints": {
        "token": "/oauth/token",
        "orders": "/v1/orders",
        "despatches": "/v1/despatches",
        "stock": "/v1/stock",
        "adjustments": "/v1/stock-adjustments",
        "products": "/v1/products",
    },
    "paging": {
        "page": "page",
        "size": "per_page",
        "max_size": 250,
        "since": "updated_since",  # on orders, despatches, adjustments and products
        "order_filter": "order_numbers",  # despatches of these orders (comma-separated)
        "items": "data",
        "total": "meta.total",
    },
    "lists": {"order_lines": "lines", "shipments": "items"},
    "idempotency_header": "Idempotency-Key",
    "fields": FIELDS,
    # The CSV-over-SFTP exchange: files the 3PL drops in the outbound folder, and the file an
    # order is sent as in the inbound folder ({key}: the idempotency key).
    "files": {
        "orders": "orders_*.csv",
        "shipments": "despatches_*.csv",
        "stock": "stock_*.csv",
        "adjustments": "adjustments_*.csv",
        "products": "products_*.csv",
        "order_in": "order_{key}.csv",
    },
}

# Whistl order status → canonical status.
STATUS_MAP: dict[str, str] = {
    "PENDING": "pending",  # created, waiting for the client's confirmation
    "AWAITING_RELEASE": "open",  # confirmed, not yet released to the floor
    "RECEIVED": "in_progress",
    "NEW": "in_progress",
    "ALLOCATED": "in_progress",
    "PARTIALLY_ALLOCATED": "in_progress",
    "PICKING": "in_progress",
    "PICKED": "in_progress",
    "PACKING": "in_progress",
    "PACKED": "in_progress",
    "READY_TO_DESPATCH": "in_progress",
    "ON_HOLD": "held",
    "EXCEPTION": "held",
    "AWAITING_STOCK": "held",
    "REJECTED": "rejected",
    "IMPORT_FAILED": "rejected",
    "INVALID": "rejected",
    "PART_DESPATCHED": "partially_dispatched",
    "PARTIALLY_DESPATCHED": "partially_dispatched",
    "DESPATCHED": "dispatched",
    "SHIPPED": "dispatched",
    "DELIVERED": "dispatched",
    "COMPLETED": "dispatched",
    "CANCELLED": "cancelled",
    "VOIDED": "cancelled",
}
# Canonical status → the Whistl status it is written as (the simulator, the push).
STATUS_OUT: dict[str, str] = {
    "pending": "PENDING",
    "open": "AWAITING_RELEASE",
    "released": "RECEIVED",  # a 3PL has no "released": an order it holds is received
    "in_progress": "ALLOCATED",
    "held": "ON_HOLD",
    "rejected": "REJECTED",
    "partially_dispatched": "PART_DESPATCHED",
    "dispatched": "DESPATCHED",
    "cancelled": "CANCELLED",
}
# Stock adjustment reason code → words; an unknown code is kept as it is.
REASON_CODES: dict[str, str] = {
    "CC": "Cycle count",
    "DMG": "Damaged",
    "GIV": "Goods-in variance",
    "FND": "Found",
    "LST": "Lost",
    "RTN": "Customer return",
    "QC": "Quality control",
}
HELD = ("held", "rejected")  # statuses whose hold_reason means something


def merged(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """`base` with `override` laid over it, dictionaries merged key by key."""
    result = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class Mapper:
    """The table in force for one connection, and the record ↔ row conversions over it."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        self.table = merged(MAPPING, options.get("mapping"))
        self.status_map = {k.upper(): v for k, v in STATUS_MAP.items()}
        self.status_map |= {str(k).upper(): v for k, v in (options.get("status_map") or {}).items()}
        self.reasons = {**REASON_CODES, **(options.get("reason_codes") or {})}

    # -- names ---------------------------------------------------------------------------------

    def api(self, file: str, column: str) -> str | None:
        return self.table["fields"][file][column][0]

    def csv(self, file: str, column: str) -> str | None:
        return self.table["fields"][file][column][1]

    def endpoint(self, name: str) -> str:
        return self.table["endpoints"][name]

    def list_key(self, file: str) -> str:
        return self.table["lists"][file]

    def columns(self, file: str) -> Iterable[str]:
        return self.table["fields"][file]

    # -- reading -------------------------------------------------------------------------------

    def status(self, raw: Any) -> str:
        value = str(raw or "").strip().upper()
        if value not in self.status_map:
            raise RecordError(f"status {value!r} is not in the Whistl status map")
        return self.status_map[value]

    def reason(self, code: Any) -> str | None:
        value = text(code)
        return self.reasons.get(value, value) if value is not None else None

    def cells(self, file: str, source: Mapping[str, Any], *, csv: bool = False) -> Row:
        """Each canonical column's value from a record (REST: dotted paths; CSV: headers),
        converted to a cell; columns the table does not exchange are empty."""
        row: Row = {}
        for column in self.columns(file):
            name = self.csv(file, column) if csv else self.api(file, column)
            value = (source.get(name) if csv else lookup(source, name)) if name else None
            row[column] = self._cell(file, column, value)
        return row

    def _cell(self, file: str, column: str, value: Any) -> str | None:
        kind = _KINDS.get(column, "text")
        if kind == "money":
            return money(value, column)
        if kind == "int":
            return whole(value, column)
        if kind == "time":
            return utc(value)
        if kind == "percent":
            return rate(value, column)
        if column == "status" and file == "orders":
            return self.status(value)
        if column == "reason":
            return self.reason(value)
        return text(value)

    def order_rows(
        self, record: Mapping[str, Any], *, csv_lines: list[Mapping] | None = None
    ) -> tuple[str, Rows]:
        """A REST order (its lines inside) → (ref, rows); for CSV, the order's rows of the file
        (every row carries the header columns, `csv_lines` are all of them)."""
        csv = csv_lines is not None
        row = self.cells("orders", csv_lines[0] if csv else record, csv=csv)
        ref = row["order_ref"]
        if ref is None:
            raise RecordError("the order has no order number")
        if row["status"] not in HELD:
            row["hold_reason"] = None
        sources = csv_lines if csv else _entries(record, self.list_key("order_lines"))
        lines = []
        for position, source in enumerate(sources, start=1):
            line = {"order_ref": ref, **self.cells("order_lines", source, csv=csv)}
            line["line_no"] = line["line_no"] or str(position)
            lines.append(line)
        return ref, {"orders": [row], "order_lines": lines}

    def despatch_rows(self, record: Mapping[str, Any]) -> tuple[str, Rows]:
        """A REST despatch (a parcel and its items) → one shipments row per item."""
        parcel = self.cells("shipments", record)
        ref = parcel["shipment_ref"] or ""
        rows = []
        for item in _entries(record, self.list_key("shipments")):
            cells = self.cells("shipments", item)
            rows.append({**parcel, "sku": cells["sku"], "quantity": cells["quantity"]})
        return ref, {"shipments": rows}

    def flat_rows(
        self, file: str, record: Mapping[str, Any], *, csv: bool = False
    ) -> tuple[str, Rows]:
        """A stock, adjustment or product record (REST or CSV row) → its one row."""
        row = self.cells(file, record, csv=csv)
        if file == "products":
            row["is_stock_item"] = row["is_stock_item"] or "true"
        key = row.get("adjustment_ref") or row.get("sku") or ""
        return key, {file: [row]}

    # -- writing -------------------------------------------------------------------------------

    def order_record(
        self, order: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """A canonical order (frame values or cells) and its lines → a REST order record."""
        record: dict[str, Any] = {}
        for column in self.columns("orders"):
            value = order.get(column)
            if column == "status" and value is not None:
                value = STATUS_OUT[str(value)]
            assign(record, self.api("orders", column), plain(value))
        record[self.list_key("order_lines")] = [
            _record(self, "order_lines", line, skip=("order_ref",)) for line in lines
        ]
        return record

    def despatch_record(self, parcel: list[Mapping[str, Any]]) -> dict[str, Any]:
        """The shipments rows of one parcel → a REST despatch with its items."""
        record = _record(self, "shipments", parcel[0], skip=("sku", "quantity"))
        record[self.list_key("shipments")] = [
            {
                self.api("shipments", "sku"): row.get("sku"),
                self.api("shipments", "quantity"): plain(row.get("quantity")),
            }
            for row in parcel
        ]
        return record

    def flat_record(self, file: str, row: Mapping[str, Any]) -> dict[str, Any]:
        record = _record(self, file, row)
        if file == "adjustments":
            assign(record, self.api(file, "reason"), self.reason_code(row.get("reason")))
        return record

    def reason_code(self, reason: Any) -> Any:
        """The code of a reason in words (the way back of `reason`); unknown words as they are."""
        codes = {words: code for code, words in self.reasons.items()}
        return codes.get(reason, reason)

    def csv_row(self, file: str, row: Mapping[str, Any]) -> dict[str, str]:
        """A canonical row → a CSV row under the table's headers (the push over SFTP)."""
        out: dict[str, str] = {}
        for column in self.columns(file):
            header = self.csv(file, column)
            if header is None:
                continue
            value = row.get(column)
            if column == "status" and value is not None:
                value = STATUS_OUT[str(value)]
            if column == "tax_rate" and value is not None:
                value = (Decimal(str(value)) * 100).normalize()
            if column == "reason" and file == "adjustments":
                value = self.reason_code(value)
            value = plain(value)
            out[header] = "" if value is None else str(value)
        return out


_KINDS: dict[str, str] = {
    "net_total": "money",
    "tax_total": "money",
    "gross_total": "money",
    "shipping_total": "money",
    "discount_total": "money",
    "unit_price": "money",
    "line_net": "money",
    "line_tax": "money",
    "unit_cost": "money",
    "quantity": "int",
    "on_hand": "int",
    "allocated": "int",
    "available": "int",
    "delta": "int",
    "placed_at": "time",
    "updated_at": "time",
    "dispatched_at": "time",
    "occurred_at": "time",
    "tax_rate": "percent",
}


def lookup(record: Mapping[str, Any], path: str | None) -> Any:
    """The value at a dotted path ("delivery.town"); None where any step is missing."""
    if not path:
        return None
    value: Any = record
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def assign(record: dict[str, Any], path: str | None, value: Any) -> None:
    """Set the value at a dotted path, creating the objects on the way."""
    if not path:
        return
    *parents, last = path.split(".")
    for step in parents:
        record = record.setdefault(step, {})
    record[last] = value


def plain(value: Any) -> Any:
    """A frame or record value as JSON: Decimals as strings, times as ISO 8601, NA as None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    try:
        if value != value:  # NaN / NA
            return None
    except (TypeError, ValueError):
        return None
    return value


def _record(
    mapper: Mapper, file: str, row: Mapping[str, Any], skip: Iterable[str] = ()
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column in mapper.columns(file):
        if column in skip:
            continue
        value = row.get(column)
        if column == "tax_rate" and value is not None:
            value = (Decimal(str(value)) * 100).normalize()
        assign(record, mapper.api(file, column), plain(value))
    return record


def _entries(record: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    entries = lookup(record, key) or []
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise RecordError(f"{key!r} is not a list of objects")
    return entries
