"""Prima's records ↔ canonical rows, through a field table held in configuration.

Prima (a UK ERP) publishes no specification here: the request documents, element names, file
names and statuses below are ASSUMED, in the style of Prima Solutions' XML web services (a
`RequestType` document POSTed over HTTP) and their scheduled CSV exports. Every guessed name sits
in `FIELDS`, `REQUESTS`, `EXPORTS` or `STATUS_MAP`; a connection's options change any of them:

    {"fields": {"orders.source_ref": "WebOrderNumber"},     # canonical file.column → name
     "requests": {"orders": {"request": "GetOrders"}},
     "exports": {"orders": "SOH_*.csv"},
     "status_map": {"Awaiting Stock": "open"}}

An element name in XML is the same as the header of the CSV export column (the exports are
extracts of the same records), so one table serves both.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from connectors.base import ConnectorError
from connectors.records import RecordError, Row, Rows, money, rate, text, utc, whole

# canonical file → canonical column → Prima element (XML) / column (CSV export).
FIELDS: dict[str, dict[str, str]] = {
    "orders": {
        "order_ref": "OrderNumber",
        "source_ref": "CustomerOrderRef",
        "status": "OrderStatus",
        "hold_reason": "HoldReason",
        "placed_at": "OrderDate",
        "updated_at": "LastModified",
        "net_total": "NetValue",
        "tax_total": "VATValue",
        "gross_total": "GrossValue",
        "shipping_total": "CarriageValue",
        "discount_total": "DiscountValue",
        "shipping_method": "DeliveryMethod",
        "ship_name": "DeliveryName",
        "ship_line1": "DeliveryAddress1",
        "ship_line2": "DeliveryAddress2",
        "ship_city": "DeliveryTown",
        "ship_postcode": "DeliveryPostcode",
        "ship_country": "DeliveryCountry",
        "ship_phone": "DeliveryPhone",
        "email": "EmailAddress",
    },
    "order_lines": {
        "order_ref": "OrderNumber",  # in the lines export; XML lines sit inside their order
        "line_no": "LineNumber",
        "sku": "ProductCode",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
        "line_net": "NetValue",
        "line_tax": "VATValue",
        "tax_rate": "VATRate",  # a percentage: 20 is 20 %
    },
    "shipments": {
        "order_ref": "OrderNumber",
        "shipment_ref": "DespatchNote",
        "sku": "ProductCode",
        "quantity": "Quantity",
        "carrier": "Carrier",
        "service_code": "ServiceCode",
        "tracking_number": "TrackingNumber",
        "dispatched_at": "DespatchDate",
    },
    "products": {
        "sku": "ProductCode",
        "name": "Description",
        "barcode": "Barcode",
        "unit_cost": "StandardCost",
        "is_stock_item": "StockItem",  # Y / N
    },
    "stock": {
        "sku": "ProductCode",
        "location": "Warehouse",
        "on_hand": "QuantityInStock",
        "allocated": "QuantityAllocated",
        "available": "QuantityFree",
    },
    "adjustments": {
        "adjustment_ref": "AdjustmentRef",
        "sku": "ProductCode",
        "delta": "Quantity",  # signed
        "reason": "Reason",
        "occurred_at": "AdjustmentDate",
    },
}
# canonical file → the request that reads it and the elements of its answer. Lines and despatches
# come inside each sales order (`children`).
REQUESTS: dict[str, dict[str, str]] = {
    "orders": {"request": "GetSalesOrders", "container": "SalesOrders", "record": "SalesOrder"},
    "products": {"request": "GetProducts", "container": "Products", "record": "Product"},
    "stock": {"request": "GetStockLevels", "container": "StockLevels", "record": "StockLevel"},
    "adjustments": {
        "request": "GetStockAdjustments",
        "container": "StockAdjustments",
        "record": "StockAdjustment",
    },
}
CHILDREN: dict[str, tuple[str, str]] = {
    "order_lines": ("Lines", "Line"),
    "shipments": ("Despatches", "Despatch"),
}
# The scheduled exports: one file of each kind per run, named with the run's time stamp.
EXPORTS: dict[str, str] = {
    "orders": "SalesOrders_*.csv",
    "order_lines": "SalesOrderLines_*.csv",
    "shipments": "Despatches_*.csv",
    "products": "Products_*.csv",
    "stock": "StockLevels_*.csv",
    "adjustments": "StockAdjustments_*.csv",
}

# Prima order status (any case) → canonical status.
STATUS_MAP: dict[str, str] = {
    "PROVISIONAL": "pending",
    "QUOTATION": "pending",
    "AWAITING PAYMENT": "pending",
    "OPEN": "open",
    "ENTERED": "open",
    "CONFIRMED": "open",
    "RELEASED": "released",
    "SENT TO WAREHOUSE": "released",
    "PICKING": "in_progress",
    "IN WAREHOUSE": "in_progress",
    "ON HOLD": "held",
    "CREDIT HOLD": "held",
    "STOPPED": "held",
    "REJECTED": "rejected",
    "PART DESPATCHED": "partially_dispatched",
    "DESPATCHED": "dispatched",
    "INVOICED": "dispatched",  # invoiced at despatch, as UK wholesale ERPs do
    "COMPLETE": "dispatched",
    "CANCELLED": "cancelled",
}
# Canonical status → the word Prima uses (the simulator, the exports it writes).
STATUS_OUT: dict[str, str] = {
    "pending": "Provisional",
    "open": "Open",
    "released": "Released",
    "in_progress": "Picking",
    "held": "On Hold",
    "rejected": "Rejected",
    "partially_dispatched": "Part Despatched",
    "dispatched": "Despatched",
    "cancelled": "Cancelled",
}
MAX_DEPTH = 20  # of record elements inside one another; Prima's go two deep
YES = ("Y", "YES", "TRUE", "1")
NO = ("N", "NO", "FALSE", "0")
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
    "is_stock_item": "flag",
}
Record = dict[str, Any]


class PrimaMapper:
    """The tables in force for one connection, and the record ↔ row conversions over them."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        self.fields = copy.deepcopy(FIELDS)
        for dotted, name in (options.get("fields") or {}).items():
            file, _, column = str(dotted).partition(".")
            if file not in self.fields or column not in self.fields[file]:
                raise ValueError(f"fields: {dotted!r} is not a canonical file.column")
            self.fields[file][column] = name
        self.requests = copy.deepcopy(REQUESTS)
        for file, override in (options.get("requests") or {}).items():
            self.requests[file].update(override)
        self.exports = {**EXPORTS, **(options.get("exports") or {})}
        self.status_map = dict(STATUS_MAP)
        self.status_map |= {str(k).upper(): v for k, v in (options.get("status_map") or {}).items()}

    # -- reading -------------------------------------------------------------------------------

    def status(self, raw: Any) -> str:
        value = " ".join(str(raw or "").split()).upper()
        if value not in self.status_map:
            raise RecordError(f"status {value!r} is not in the Prima status map")
        return self.status_map[value]

    def cells(self, file: str, record: Mapping[str, Any]) -> Row:
        row: Row = {}
        for column, name in self.fields[file].items():
            row[column] = self._cell(file, column, record.get(name))
        return row

    def _cell(self, file: str, column: str, value: Any) -> str | None:
        kind = _KINDS.get(column)
        if kind == "money":
            return money(value, column)
        if kind == "int":
            return whole(value, column)
        if kind == "time":
            return utc(value)
        if kind == "percent":
            return rate(value, column)
        if kind == "flag":
            flag = (text(value) or "").upper()
            if not flag:
                return None
            if flag not in YES + NO:
                raise RecordError(f"{column} {value!r} is not Y or N")
            return "true" if flag in YES else "false"
        if column == "status" and file == "orders":
            return self.status(value)
        return text(value)

    def order_rows(self, record: Record) -> tuple[str, Rows]:
        """A sales order (a record dict with its `Lines` and `Despatches` lists) → its rows."""
        row = self.cells("orders", record)
        ref = row["order_ref"]
        if ref is None:
            raise RecordError("the sales order has no order number")
        if row["status"] not in ("held", "rejected"):
            row["hold_reason"] = None
        rows: Rows = {"orders": [row]}
        for file, (container, _) in CHILDREN.items():
            children = record.get(container) or []
            if not isinstance(children, list):
                raise RecordError(f"{container} is not a list")
            rows[file] = [{**self.cells(file, child), "order_ref": ref} for child in children]
        return ref, rows

    def flat_rows(self, file: str, record: Record) -> tuple[str, Rows]:
        row = self.cells(file, record)
        return row.get("adjustment_ref") or row.get("sku") or "", {file: [row]}

    def key(self, file: str, record: Record) -> Any:
        """What identifies a record of a listing (duplicated pages are dropped by it)."""
        names = self.fields[file]
        if file == "stock":
            return (record.get(names["sku"]), record.get(names["location"]))
        column = {"orders": "order_ref", "adjustments": "adjustment_ref"}.get(file, "sku")
        value = record.get(names[column])
        if value is None:
            raise KeyError(column)
        return value

    # -- writing -------------------------------------------------------------------------------

    def values(self, file: str, row: Mapping[str, Any]) -> dict[str, str]:
        """A canonical row (frame values) → Prima's names and text, empty values left out."""
        out: dict[str, str] = {}
        for column, name in self.fields[file].items():
            value = _text_of(column, row.get(column))
            if value is not None:
                out[name] = value
        return out


def _text_of(column: str, value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and value != value):
        return None
    if column == "status":
        return STATUS_OUT[str(value)]
    if column == "is_stock_item":
        return "Y" if value else "N"
    if column == "tax_rate":
        return format((Decimal(str(value)) * 100).normalize(), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


# -- XML documents -------------------------------------------------------------------------------


def request_document(
    request_type: str,
    credentials: Mapping[str, str],
    parameters: Mapping[str, Any],
) -> bytes:
    """A `RequestType` document: who asks, what, and with which parameters."""
    root = ET.Element("Request")
    auth = ET.SubElement(root, "Authentication")
    ET.SubElement(auth, "UserName").text = credentials.get("username", "")
    ET.SubElement(auth, "Password").text = credentials.get("password", "")
    ET.SubElement(auth, "CompanyCode").text = credentials.get("company", "")
    ET.SubElement(root, "RequestType").text = request_type
    params = ET.SubElement(root, "Parameters")
    for name, value in parameters.items():
        ET.SubElement(params, name).text = str(value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def element_record(element: ET.Element, depth: int = 0) -> Record:
    """A record element as a dict: leaf elements by name (text, None when empty); an element
    with children is a list of its children's records (`<Lines><Line>…</Line></Lines>`)."""
    if depth > MAX_DEPTH:
        # Records nest two levels (order, lines, line); a deeper answer is not Prima's.
        raise ConnectorError(f"Prima answered XML nested over {MAX_DEPTH} levels", permanent=True)
    record: Record = {}
    for child in element:
        if len(child):
            record[child.tag] = [element_record(item, depth + 1) for item in child]
        else:
            record[child.tag] = child.text.strip() if child.text and child.text.strip() else None
    return record


def record_element(tag: str, values: Mapping[str, str], children: Iterable = ()) -> ET.Element:
    """The way back: a record element from Prima names and text, with child containers
    given as (container, item tag, [values, …])."""
    element = ET.Element(tag)
    for name, value in values.items():
        ET.SubElement(element, name).text = value
    for container, item, items in children:
        holder = ET.SubElement(element, container)
        for entry in items:
            holder.append(record_element(item, entry))
    return element
