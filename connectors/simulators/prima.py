"""Prima simulator: a world's ERP role through the XML web service the connector assumes (names from
the same field table, connectors/prima/mapping.py; pass a connection's options as `options` to
simulate a changed table).

`POST /ws/request` takes a `RequestType` document (GetSalesOrders, GetProducts, GetStockLevels,
GetStockAdjustments) with the credentials inside (`username`, `password`, `company`), pages with
`PageNumber`/`PageSize` (at most 5000) and filters on `ModifiedSince`. Answers are XML, errors
too: a refused login is HTTP 401 with `<Result>Error</Result><Error><Code>AUTH</Code>…`; a bad
document is 400. `export_files(world)` gives the same world as Prima's scheduled CSV exports.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from connectors.prima.mapping import (
    CHILDREN,
    STATUS_OUT,
    PrimaMapper,
    element_record,
    record_element,
)
from connectors.simulators.server import (
    HttpError,
    SimRequest,
    SimResponse,
    SimulatorApp,
    register,
    route,
    xml_response,
)
from reconciliation.frames import Bundle

Record = dict[str, Any]
MAX_PAGE = 5000


def _by_line(lines: list[Record]) -> list[Record]:
    def number(line: Record) -> tuple[int, str]:
        value = str(line.get("line_no") or "")
        return (int(value), "") if value.isdigit() else (1 << 30, value)

    return sorted(lines, key=number)


def _grouped(rows: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = defaultdict(list)
    for row in rows:
        grouped[row["order_ref"]].append(row)
    return grouped


@register
class PrimaSimulator(SimulatorApp):
    kind = "prima"
    role = "erp"
    default_credentials = {"username": "sim", "password": "sim-password", "company": "PAR"}

    def load(self, world: Bundle) -> None:
        super().load(world)
        self.mapper = mapper = PrimaMapper(self.options)
        lines = _grouped(self.rows("order_lines"))
        shipments = _grouped(self.rows("shipments"))
        taken = world.roles[self.role].taken_at if self.role in world.roles else None
        # file → [(change time, record element)]; a delta filters on the time.
        self.records: dict[str, list[tuple[datetime | None, ET.Element]]] = {
            "orders": [
                (
                    order.get("updated_at"),
                    record_element(
                        mapper.requests["orders"]["record"],
                        mapper.values("orders", order),
                        [
                            (
                                *CHILDREN[file],
                                [
                                    _without_ref(mapper.values(file, row), mapper, file)
                                    for row in rows
                                ],
                            )
                            for file, rows in (
                                ("order_lines", _by_line(lines[order["order_ref"]])),
                                ("shipments", shipments[order["order_ref"]]),
                            )
                        ],
                    ),
                )
                for order in self.rows("orders")
            ],
            "products": [
                (taken, record_element("Product", mapper.values("products", row)))
                for row in self.rows("products")
            ],
            "stock": [
                (None, record_element("StockLevel", mapper.values("stock", row)))
                for row in self.rows("stock")
            ],
            "adjustments": [
                (
                    row.get("occurred_at"),
                    record_element("StockAdjustment", mapper.values("adjustments", row)),
                )
                for row in self.rows("adjustments")
            ],
        }
        self._cache: dict[Hashable, list[ET.Element]] = {}
        # (code, message): answer every request 200 with this error document, as Prima does
        # for its own refusals (BUSY during the nightly run, AUTH for an expired password).
        self.error_answer: tuple[str, str] | None = None

    # -- requests -------------------------------------------------------------------------------

    def _document(self, request: SimRequest) -> ET.Element:
        if b"<!DOCTYPE" in request.body.upper():
            raise HttpError(400, "documents with a DTD are refused", code="BADREQUEST")
        try:
            return ET.fromstring(request.body)
        except ET.ParseError:
            raise HttpError(400, "the request is not an XML document", code="BADREQUEST") from None

    def authenticate(self, request: SimRequest) -> str | None:
        try:
            document = self._document(request)
        except HttpError:
            return None
        given = (
            document.findtext("Authentication/UserName"),
            document.findtext("Authentication/Password"),
            document.findtext("Authentication/CompanyCode"),
        )
        expected = tuple(self.credentials[k] for k in ("username", "password", "company"))
        return given[0] if given == expected else None

    def error_body(self, error: HttpError) -> SimResponse:
        code = {401: "AUTH", 429: "BUSY", 503: "BUSY"}.get(error.status, error.code.upper())
        root = ET.Element("Response")
        ET.SubElement(root, "Result").text = "Error"
        detail = ET.SubElement(root, "Error")
        ET.SubElement(detail, "Code").text = code
        ET.SubElement(detail, "Message").text = str(error)
        return xml_response(ET.tostring(root, encoding="utf-8"), error.status, error.headers)

    def touch(self, order_ref: str, *, status: str | None = None, **values: str) -> ET.Element:
        """Change a sales order as Prima would: a new canonical status and/or Prima fields."""
        names = self.mapper.fields["orders"]
        now = datetime.now(UTC)
        position = next(
            i
            for i, (_, element) in enumerate(self.records["orders"])
            if element.findtext(names["order_ref"]) == order_ref
        )
        element = self.records["orders"][position][1]
        if status is not None:
            values[names["status"]] = STATUS_OUT[status]
        values[names["updated_at"]] = now.isoformat().replace("+00:00", "Z")
        for name, value in values.items():
            child = element.find(name)
            if child is None:
                child = ET.SubElement(element, name)
            child.text = value
        self.records["orders"][position] = (now, element)
        self._cache.clear()
        return element

    @route("POST", "/ws/request")
    def serve(self, request: SimRequest) -> SimResponse:
        if self.error_answer is not None:
            code, message = self.error_answer
            return self.error_body(HttpError(200, message, code=code))
        document = self._document(request)
        request_type = (document.findtext("RequestType") or "").strip()
        files = {names["request"]: file for file, names in self.mapper.requests.items()}
        if request_type not in files:
            raise HttpError(400, f"unknown RequestType {request_type!r}", code="BADREQUEST")
        file = files[request_type]
        names = self.mapper.requests[file]
        since = _moment(document.findtext("Parameters/ModifiedSince"))
        number = _number(document.findtext("Parameters/PageNumber"), 1)
        size = min(max(_number(document.findtext("Parameters/PageSize"), 100), 1), MAX_PAGE)

        key = (file, since)
        if key not in self._cache:
            self._cache[key] = [
                element
                for changed, element in self.records[file]
                if since is None or (changed is not None and changed > since)
            ]
        elements = self._cache[key]
        page, pages = self.paginate(elements, number, size)
        root = ET.Element("Response")
        ET.SubElement(root, "RequestType").text = request_type
        ET.SubElement(root, "Result").text = "OK"
        ET.SubElement(root, "PageNumber").text = str(number)
        ET.SubElement(root, "PageCount").text = str(pages)
        ET.SubElement(root, "RecordCount").text = str(len(elements))
        container = ET.SubElement(root, names["container"])
        container.extend(page)
        return xml_response(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _without_ref(values: dict[str, str], mapper: PrimaMapper, file: str) -> dict[str, str]:
    """Lines and despatches inside their order do not repeat its number."""
    values.pop(mapper.fields[file]["order_ref"], None)
    return values


def _moment(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise HttpError(400, "ModifiedSince is not a date", code="BADREQUEST") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: str | None, default: int) -> int:
    try:
        return int(value) if value and value.strip() else default
    except ValueError:
        raise HttpError(400, f"{value!r} is not a whole number", code="BADREQUEST") from None


def export_files(world: Bundle, options: dict[str, Any] | None = None) -> dict[str, bytes]:
    """A world's ERP role as one run of Prima's scheduled CSV exports, stamped with the role's
    snapshot time (for tests and demos)."""
    mapper = PrimaMapper(options)
    app = PrimaSimulator.__new__(PrimaSimulator)  # only its rows() helper, no server
    app.world = world
    stamp = world.roles["erp"].taken_at.strftime("%Y%m%d%H%M%S")
    files: dict[str, bytes] = {}
    for file in ("orders", "order_lines", "shipments", "products", "stock", "adjustments"):
        rows = app.rows(file)
        if file == "order_lines":
            rows = [line for group in _grouped(rows).values() for line in _by_line(group)]
        name = mapper.exports[file].replace("*", stamp)
        files[name] = write_csv([_all_columns(mapper, file, row) for row in rows])
    return files


def write_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _all_columns(mapper: PrimaMapper, file: str, row: Record) -> dict[str, str]:
    values = mapper.values(file, row)
    return {name: values.get(name, "") for name in mapper.fields[file].values()}


def records_of(answer: ET.Element, container: str) -> list[Record]:
    """An answer's records as dicts (for tests)."""
    holder = answer.find(container)
    return [element_record(e) for e in holder] if holder is not None else []
