"""Prima (UK ERP), ERP role: sales orders with their lines and despatches, products, stock levels
and stock adjustments — over Prima's XML web service, or from its scheduled CSV exports.

Nothing here is taken from a published specification (there is none to hand): the shapes are
ASSUMED and every name is in the field table (connectors/prima/mapping.py), changed per connection
through its options. Two modes:

- `options["mode"] = "xml"` (default): `RequestType` documents POSTed to the service endpoint
  (`options["endpoint"]`, default `/ws/request`) with the `username`, `password` and `company`
  credentials inside, paged with `PageNumber`/`PageSize`, deltas by `ModifiedSince`. An answer is
  `<Response><Result>OK</Result>…` or `<Result>Error</Result><Error><Code/><Message/></Error>`:
  code AUTH is a permanent failure, BUSY a transient one.
- `options["mode"] = "csv"`: the files Prima's scheduled export writes into a watched folder
  (`options["export_folder"]`, inside a root listed in settings.PARITY_CONNECTOR_FOLDERS). Each
  export run writes one file per kind named `<Kind>_<stamp>.csv`; the pull reads the newest run's
  orders with the lines and despatches of the same run, and the newest file of each other kind.
  Files still being written (`.part`/`.tmp`, or changed in the last `settle_seconds`) wait.

Field map, status map and what is assumed: docs/connectors.md, "Prima".
"""

from __future__ import annotations

import csv
import fnmatch
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings as django_settings

from connectors.base import (
    ConnectionSettings,
    Connector,
    ConnectorError,
    ProgressCallback,
    PullResult,
    register,
)
from connectors.http import Page, RateLimit, parse_xml
from connectors.prima.mapping import CHILDREN, PrimaMapper, element_record, request_document
from connectors.records import Batch, Tracker, in_utc
from reconciliation.frames import FILES

ENDPOINT = "/ws/request"
PAGE_SIZE = 500
SETTLE_SECONDS = 60.0
TRANSIENT_CODES = ("BUSY", "TIMEOUT", "LOCKED")  # the service's "try again later"


@register
class PrimaConnector(Connector):
    kind = "prima"
    label = "Prima"
    roles = ("erp",)
    credential_fields = ("username", "password", "company")
    files: ClassVar[tuple[str, ...]] = FILES

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        calls = settings.options.get("calls_per_minute")
        return {"rate_limit": RateLimit(int(calls), 60.0)} if calls else {}

    def __init__(self, settings: ConnectionSettings, client: Any) -> None:
        super().__init__(settings, client)
        try:
            self.mapper = PrimaMapper(settings.options)
        except ValueError as exc:
            raise ConnectorError(f"Prima options: {exc}", permanent=True) from None
        self.mode = str(settings.options.get("mode", "xml")).lower()
        if self.mode not in ("xml", "csv"):
            raise ConnectorError(f"Prima mode {self.mode!r} is not xml or csv", permanent=True)

    def check(self) -> str:
        if self.mode == "csv":
            folder = self._export_folder()
            count = sum(1 for p in folder.iterdir() if p.suffix.lower() == ".csv")
            return f"Prima export folder answered: {count} CSV files"
        answer = self._call("orders", {"PageNumber": 1, "PageSize": 1})
        return f"Prima answered: {answer.findtext('RecordCount') or '?'} sales orders"

    def pull(
        self,
        *,
        since: datetime | None = None,
        progress: ProgressCallback | None = None,
        files: Iterable[str] | None = None,
    ) -> PullResult:
        wanted = set(files or self.files)
        if wanted & {"orders", "order_lines", "shipments"}:
            wanted |= {"orders", "order_lines", "shipments"}  # an order brings its lines, parcels
        taken_at = datetime.now(tz=UTC)
        batch = Batch(self.kind)
        if self.mode == "csv":
            self._pull_exports(batch, wanted)
        else:
            tracker = Tracker(progress, self.client)
            for file in ("orders", "products", "stock", "adjustments"):
                if file in wanted:
                    self._read(batch, tracker, file, since)
        return PullResult(
            frames=batch.frames(wanted),
            complete=since is None and wanted >= set(self.files),
            quarantined=batch.quarantined,
            requests=self.client.requests,
            taken_at=taken_at,
        )

    # -- the XML service ------------------------------------------------------------------------

    def _call(self, file: str, parameters: dict[str, Any]) -> ET.Element:
        request_type = self.mapper.requests[file]["request"]
        document = request_document(request_type, self.settings.credentials, parameters)
        response = self.client.post(
            self.settings.options.get("endpoint", ENDPOINT),
            content=document,
            headers={"Content-Type": "text/xml; charset=utf-8"},
            idempotent=True,  # a read, however it travels
        )
        answer = parse_xml(response)
        result = (answer.findtext("Result") or "").strip().upper()
        if result != "OK":
            code = (answer.findtext("Error/Code") or "").strip().upper()
            message = (answer.findtext("Error/Message") or "no message").strip()
            raise ConnectorError(
                f"Prima {request_type}: {code or 'error'} ({message[:160]})",
                permanent=code not in TRANSIENT_CODES,
                status=401 if code == "AUTH" else None,
            )
        return answer

    def _pages(self, file: str, since: datetime | None) -> Iterator[Page]:
        size = max(1, min(int(self.settings.options.get("page_size", PAGE_SIZE)), 5000))
        names = self.mapper.requests[file]
        parameters: dict[str, Any] = {}
        if since is not None and file != "stock":  # stock levels are read whole
            parameters["ModifiedSince"] = in_utc(since).strftime("%Y-%m-%dT%H:%M:%SZ")
        seen: set[Any] = set()
        for number in range(1, 100_001):
            answer = self._call(file, {**parameters, "PageNumber": number, "PageSize": size})
            container = answer.find(names["container"])
            elements = list(container) if container is not None else []
            records, duplicates = [], 0
            for element in elements:
                record = element_record(element)
                try:
                    identity = self.mapper.key(file, record)
                except KeyError:
                    identity = None  # no id: the mapping quarantines it
                if identity is not None and identity in seen:
                    duplicates += 1
                    continue
                seen.add(identity)
                records.append(record)
            yield Page(
                number=number,
                items=records,
                total_pages=_int(answer.findtext("PageCount")),
                total_records=_int(answer.findtext("RecordCount")),
                duplicates=duplicates,
            )
            # Until the first short page: page counts that shift under paging lose nothing.
            if len(elements) < size:
                return
        raise ConnectorError(f"Prima {names['request']}: more than 100000 pages", permanent=True)

    def _read(self, batch: Batch, tracker: Tracker, file: str, since: datetime | None) -> None:
        mapper = self.mapper
        for page in self._pages(file, since):
            for record in page.items:
                if file == "orders":
                    batch.map("orders", record, mapper.order_rows, ref=_ref(mapper, "orders"))
                else:
                    batch.map(
                        file,
                        record,
                        lambda r, f=file: mapper.flat_rows(f, r),
                        ref=_ref(mapper, file),
                    )
            tracker.page(file, page)

    # -- the CSV exports ------------------------------------------------------------------------

    def _export_folder(self) -> Path:
        path = self.settings.options.get("export_folder")
        if not path:
            raise ConnectorError("csv mode needs options['export_folder']", permanent=True)
        roots = [
            Path(r).resolve() for r in getattr(django_settings, "PARITY_CONNECTOR_FOLDERS", [])
        ]
        folder = Path(path).resolve()
        if not any(folder == root or root in folder.parents for root in roots):
            raise ConnectorError(
                f"folder {path} is not under a root in PARITY_CONNECTOR_FOLDERS", permanent=True
            )
        if not folder.is_dir():
            raise ConnectorError(f"folder {path} does not exist", permanent=True)
        return folder

    def _pull_exports(self, batch: Batch, wanted: set[str]) -> None:
        folder = self._export_folder()
        settle = float(self.settings.options.get("settle_seconds", SETTLE_SECONDS))
        cutoff = datetime.now(UTC) - timedelta(seconds=settle)
        ready = sorted(
            p
            for p in folder.iterdir()
            if p.is_file()
            and not p.name.endswith((".part", ".tmp"))
            and datetime.fromtimestamp(p.stat().st_mtime, UTC) <= cutoff
        )
        mapper = self.mapper

        def newest(file: str, stamp: str | None = None) -> Path | None:
            pattern = mapper.exports[file]
            found = [p for p in ready if fnmatch.fnmatch(p.name, pattern)]
            if stamp is not None:
                found = [p for p in found if _stamp(p.name, pattern) == stamp]
            return found[-1] if found else None

        if "orders" in wanted:
            orders_file = newest("orders")
            if orders_file is not None:
                # Lines and despatches from the same export run as the orders, never a mix.
                stamp = _stamp(orders_file.name, mapper.exports["orders"])
                children: dict[str, dict[str, list[dict[str, str]]]] = {}
                for file, (container, _) in CHILDREN.items():
                    source = newest(file, stamp)
                    grouped: dict[str, list[dict[str, str]]] = {}
                    for row in _read_csv(source) if source else []:
                        grouped.setdefault(
                            row.get(mapper.fields[file]["order_ref"], ""), []
                        ).append(row)
                    children[container] = grouped
                number = mapper.fields["orders"]["order_ref"]
                for line, row in enumerate(_read_csv(orders_file), start=2):
                    ref = row.get(number, "")
                    record = {**row, **{c: g.get(ref, []) for c, g in children.items()}}
                    batch.map(
                        "orders",
                        record,
                        mapper.order_rows,
                        ref=lambda r, n=line: r.get(number) or f"{orders_file.name}:{n}",
                    )
        for file in ("products", "stock", "adjustments"):
            source = newest(file) if file in wanted else None
            for line, row in enumerate(_read_csv(source) if source else [], start=2):
                batch.map(
                    file,
                    row,
                    lambda r, f=file: mapper.flat_rows(f, r),
                    ref=lambda _r, n=line, s=source.name: f"{s}:{n}",
                )


def _ref(mapper: PrimaMapper, file: str) -> Any:
    column = {"orders": "order_ref", "adjustments": "adjustment_ref"}.get(file, "sku")
    name = mapper.fields[file][column]
    return lambda record: record.get(name)


def _stamp(name: str, pattern: str) -> str:
    """The part of a file name the pattern's `*` stands for (an export run's time stamp)."""
    head, _, tail = pattern.partition("*")
    return name[len(head) : len(name) - len(tail)] if tail else name[len(head) :]


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConnectorError(f"{path.name} is not UTF-8 ({exc.reason})", permanent=True) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        return [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    except csv.Error as exc:  # a field over csv's 128 KB limit, a NUL byte …
        raise ConnectorError(f"{path.name} line {reader.line_num}: {exc}", permanent=True) from None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
