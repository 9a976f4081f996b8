"""Whistl (UK 3PL), WMS role: orders with status and hold reason, despatches with carrier, service
and tracking, stock on hand / allocated / available, stock adjustments with reason codes — and
the push of a released order to the warehouse.

Whistl's API is not published here: the names are ASSUMED and live in one table
(connectors/whistl/mapping.py, overridable per connection). Two transports, chosen by the
connection's base URL:

- `https://…` — the REST API: OAuth2 client credentials (`client_id`, `client_secret`) at the
  token endpoint, then `GET` the orders (lines inside), despatches (items inside), stock,
  stock adjustments and products, paged with `page`/`per_page` and an `updated_since` filter
  for deltas. An order is pushed with `POST` and an `Idempotency-Key` header.
- `sftp://host[:port]/outbound` — the CSV exchange: the warehouse drops `orders_*.csv`,
  `despatches_*.csv`, `stock_*.csv`, `adjustments_*.csv`, `products_*.csv` in the outbound folder;
  an order is pushed as `order_<key>.csv` into `options["inbound_dir"]`. Login with
  `sftp_username` and `sftp_password` or `sftp_private_key`; the server must present
  `options["sftp_host_key"]`. The `sftp` scheme and the host must be in the allow-list
  (PARITY_CONNECTOR_ALLOWED_SCHEMES / _HOSTS) like any base URL. A local folder can stand in
  (`options["folder"]`, inside a root listed in settings.PARITY_CONNECTOR_FOLDERS).

Field map, status map and what is assumed: docs/connectors.md, "Whistl".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
from django.conf import settings as django_settings

from connectors.base import (
    ConnectionSettings,
    Connector,
    ConnectorError,
    ProgressCallback,
    PullResult,
    register,
)
from connectors.http import Page, RateLimit, allowed_hosts, host_allowed, parse_json
from connectors.records import Batch, Tracker, in_utc
from connectors.whistl.auth import ClientCredentials
from connectors.whistl.files import (
    FileInfo,
    Folder,
    LocalFolder,
    SftpFolder,
    read_csv,
    settled,
    write_csv,
)
from connectors.whistl.mapping import Mapper, lookup
from reconciliation.frames import FILES

ORDER_FILES = ("orders", "order_lines")
FILTER_BATCH = 50  # order numbers per filtered request
SETTLE_SECONDS = 60.0
# What a push never sends: the warehouse decides these.
NOT_PUSHED = ("status", "hold_reason", "updated_at")


@register
class WhistlConnector(Connector):
    kind = "whistl"
    label = "Whistl"
    roles = ("wms",)
    credential_fields = (
        "client_id",
        "client_secret",
        "sftp_username",
        "sftp_password",
        "sftp_private_key",
    )
    files: ClassVar[tuple[str, ...]] = FILES

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        options: dict[str, Any] = {}
        calls = settings.options.get("calls_per_minute")
        if calls:
            options["rate_limit"] = RateLimit(int(calls), 60.0)
        if _transport(settings) == "rest":
            endpoint = Mapper(settings.options).endpoint("token")
            token_url = endpoint if "://" in endpoint else settings.base_url.rstrip("/") + endpoint
            options["auth"] = ClientCredentials(
                token_url,
                settings.credentials.get("client_id", ""),
                settings.credentials.get("client_secret", ""),
                scope=settings.options.get("scope"),
            )
        return options

    def __init__(self, settings: ConnectionSettings, client: Any) -> None:
        super().__init__(settings, client)
        self.mapper = Mapper(settings.options)
        self.transport = _transport(settings)

    # -- the contract ------------------------------------------------------------------------------

    def check(self) -> str:
        if self.transport != "rest":
            with self._folder() as folder:
                return f"Whistl exchange folder answered: {len(folder.listing())} files"
        body = self.client.get_json(self.mapper.endpoint("orders"), params=self._paging(1, 1))
        total = (
            lookup(body, self.mapper.table["paging"]["total"]) if isinstance(body, dict) else None
        )
        return f"Whistl answered: {total if total is not None else '?'} orders"

    def pull(
        self,
        *,
        since: datetime | None = None,
        progress: ProgressCallback | None = None,
        files: Iterable[str] | None = None,
    ) -> PullResult:
        wanted = set(files or self.files)
        if wanted & {"orders", "order_lines", "shipments"} and "orders" in wanted:
            wanted |= set(ORDER_FILES)  # an order always brings its lines
        taken_at = datetime.now(tz=UTC)
        batch = Batch(self.kind)
        tracker = Tracker(progress, self.client)
        if self.transport == "rest":
            self._pull_rest(batch, tracker, wanted, since)
        else:
            # The files are read whole every time; a delta's result is still laid over the
            # last snapshot, so orders older than the warehouse keeps files for stay known.
            with self._folder() as folder:
                self._pull_files(batch, folder, wanted)
        return PullResult(
            frames=batch.frames(wanted),
            complete=since is None and wanted >= set(self.files),
            quarantined=batch.quarantined,
            requests=self.client.requests,
            taken_at=taken_at,
        )

    def send_order(self, order: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Create `order` at the warehouse; a retry with the same key never makes a second one.

        `order` is a canonical order of the system upstream (the columns of orders.csv) with its
        `lines` (the columns of order_lines.csv); its order_ref is sent as the warehouse order's
        client reference (the WMS's source_ref). Returns `{"order_ref", "status", "created"}`: the warehouse's order
        number and canonical status (None over SFTP, where the answer comes later in a file),
        and False for `created` when the key had been used already.
        """
        key = str(idempotency_key or "").strip()
        if not key:
            raise ConnectorError("an order is pushed with an idempotency key", permanent=True)
        lines = [{**line, "order_ref": None} for line in order.get("lines") or ()]
        header = {k: v for k, v in order.items() if k != "lines" and k not in NOT_PUSHED}
        # The warehouse numbers its own orders; ours is its client reference.
        header["source_ref"], header["order_ref"] = order.get("order_ref"), None
        if self.transport != "rest":
            head = self.mapper.csv_row("orders", header)
            rows = [{**head, **self.mapper.csv_row("order_lines", line)} for line in lines]
            name = self.mapper.table["files"]["order_in"].format(key=_safe_name(key))
            with self._folder() as folder:
                created = folder.put(name, write_csv(rows))
            return {"order_ref": None, "status": None, "created": created, "file": name}
        response = self.client.post(
            self.mapper.endpoint("orders"),
            json=self.mapper.order_record(header, lines),
            headers={self.mapper.table["idempotency_header"]: key},
            idempotent=True,  # the key makes a retried POST safe
        )
        ref, rows = self.mapper.order_rows(parse_json(response))
        return {
            "order_ref": ref,
            "status": rows["orders"][0]["status"],
            "created": response.status_code == httpx.codes.CREATED,
        }

    # -- REST -------------------------------------------------------------------------------------

    def _paging(self, page: int, size: int) -> dict[str, Any]:
        paging = self.mapper.table["paging"]
        return {paging["page"]: page, paging["size"]: size}

    def _listing(self, name: str, unique: Callable[[Any], Any], **params: Any) -> Iterator[Page]:
        paging = self.mapper.table["paging"]
        size = max(1, min(int(self.settings.options.get("per_page", 100)), paging["max_size"]))
        # Pages until the first short one: a listing that shifts under paging loses nothing.
        return self.client.pages(
            self.mapper.endpoint(name),
            params=params,
            page_param=paging["page"],
            size_param=paging["size"],
            size=size,
            items=lambda body: _items(body, paging["items"]),
            total_pages=None,
            total_records=lambda _response, body: _int(lookup(body, paging["total"])),
            unique_by=unique,
        )

    def _since(self, since: datetime | None) -> dict[str, str]:
        if since is None:
            return {}
        moment = in_utc(since).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {self.mapper.table["paging"]["since"]: moment}

    def _pull_rest(
        self, batch: Batch, tracker: Tracker, wanted: set[str], since: datetime | None
    ) -> None:
        mapper = self.mapper
        order_key = _key(mapper.api("orders", "order_ref"))
        seen_orders: set[str] = set()
        if "orders" in wanted:
            for page in self._listing("orders", order_key, **self._since(since)):
                for record in page.items:
                    seen_orders.add(str(order_key(record)))
                    batch.map("orders", record, mapper.order_rows, ref=order_key)
                tracker.page("orders", page)
        if "shipments" in wanted:
            self._despatches(batch, tracker, since, seen_orders, "orders" in wanted)
        sku = _key(mapper.api("stock", "sku"))
        flat = {  # file → (what makes a record unique, its ref in quarantine)
            "stock": (lambda r: (sku(r), lookup(r, mapper.api("stock", "location"))), sku),
            "adjustments": (_key(mapper.api("adjustments", "adjustment_ref")),) * 2,
            "products": (_key(mapper.api("products", "sku")),) * 2,
        }
        for file, (unique, ref) in flat.items():
            if file not in wanted:
                continue
            params = self._since(since) if file != "stock" else {}  # stock is read whole
            for page in self._listing(file, unique, **params):
                for record in page.items:
                    batch.map(file, record, lambda r, f=file: mapper.flat_rows(f, r), ref=ref)
                tracker.page(file, page)

    def _despatches(
        self,
        batch: Batch,
        tracker: Tracker,
        since: datetime | None,
        seen_orders: set[str],
        with_orders: bool,
    ) -> None:
        """Despatches; in a delta, every parcel of each order concerned (the sync replaces an
        order's shipments whole), and the orders themselves when only a parcel changed."""
        mapper = self.mapper
        parcel_key = _key(mapper.api("shipments", "shipment_ref"))
        of_order = _key(mapper.api("shipments", "order_ref"))
        if since is None:
            for page in self._listing("despatches", parcel_key):
                for record in page.items:
                    batch.map("shipments", record, mapper.despatch_rows, ref=parcel_key)
                tracker.page("despatches", page)
            return
        concerned = set(seen_orders)
        for page in self._listing("despatches", parcel_key, **self._since(since)):
            concerned.update(str(of_order(record)) for record in page.items)
            tracker.page("despatches", page)
        refs = sorted(concerned)
        order_filter = mapper.table["paging"]["order_filter"]
        for start in range(0, len(refs), FILTER_BATCH):
            chunk = ",".join(refs[start : start + FILTER_BATCH])
            for page in self._listing("despatches", parcel_key, **{order_filter: chunk}):
                for record in page.items:
                    batch.map("shipments", record, mapper.despatch_rows, ref=parcel_key)
                tracker.page("despatches", page)
        missing = sorted(concerned - seen_orders) if with_orders else []
        order_key = _key(mapper.api("orders", "order_ref"))
        for start in range(0, len(missing), FILTER_BATCH):
            chunk = ",".join(missing[start : start + FILTER_BATCH])
            for page in self._listing("orders", order_key, **{order_filter: chunk}):
                for record in page.items:
                    batch.map("orders", record, mapper.order_rows, ref=order_key)
                tracker.page("orders", page)

    # -- the file exchange ------------------------------------------------------------------------

    def _folder(self) -> _Opened:
        options = self.settings.options
        if self.transport == "folder":
            root = _allowed_folder(Path(options["folder"]))
            inbound = options.get("inbound_folder")
            return _Opened(
                lambda: LocalFolder(root, _allowed_folder(Path(inbound)) if inbound else None)
            )
        url = httpx.URL(self.settings.base_url)
        if not host_allowed(url.host, allowed_hosts()):
            raise ConnectorError(
                f"host {url.host!r} is not in PARITY_CONNECTOR_ALLOWED_HOSTS", permanent=True
            )
        credentials = self.settings.credentials
        return _Opened(
            lambda: SftpFolder(
                url.host,
                url.port or 22,
                username=credentials.get("sftp_username", ""),
                password=credentials.get("sftp_password"),
                key=credentials.get("sftp_private_key"),
                server_key=options.get("sftp_host_key", ""),
                outbound=url.path or "/outbound",
                inbound=options.get("inbound_dir", "/inbound"),
                timeout=float(options.get("sftp_timeout", 30)),
            )
        )

    def _pull_files(self, batch: Batch, folder: Folder, wanted: set[str]) -> None:
        """Every settled file of a kind in name order, later records replacing earlier ones;
        stock and products from the newest file alone (each is a whole snapshot)."""
        mapper = self.mapper
        settle = float(self.settings.options.get("settle_seconds", SETTLE_SECONDS))
        listing = folder.listing()
        patterns = mapper.table["files"]

        def files_of(kind: str) -> list[FileInfo]:
            return settled(listing, patterns[kind], settle_seconds=settle)

        if "orders" in wanted:
            number = mapper.csv("orders", "order_ref")
            orders: dict[str, dict[str, Any]] = {}
            for info in files_of("orders"):
                groups: dict[str, list[dict[str, str]]] = {}
                for row in read_csv(folder.read(info.name), info.name):
                    groups.setdefault(row.get(number, ""), []).append(row)
                for ref, rows in groups.items():
                    orders[ref] = {"file": info.name, "rows": rows}
            for ref, payload in orders.items():
                batch.map(
                    "orders",
                    payload,
                    lambda p: mapper.order_rows({}, csv_lines=p["rows"]),
                    ref=lambda _p, r=ref: r,
                )
        keyed = {
            "shipments": ("shipment_ref", "sku"),
            "adjustments": ("adjustment_ref",),
            "stock": None,
            "products": None,
        }
        for file, key in keyed.items():
            if file not in wanted:
                continue
            found = files_of(file)
            if key is None:
                found = found[-1:]  # a snapshot: the newest says it all
            records: dict[Any, dict[str, Any]] = {}
            for position, info in enumerate(found):
                for line, row in enumerate(read_csv(folder.read(info.name), info.name), start=2):
                    identity = (
                        tuple(row.get(mapper.csv(file, c) or "") for c in key)
                        if key
                        else (position, line)
                    )
                    records[identity] = {"file": info.name, "line": line, "row": row}
            for payload in records.values():
                batch.map(
                    file,
                    payload,
                    lambda p, f=file: self._csv_rows(f, p["row"]),
                    ref=lambda p: f"{p['file']}:{p['line']}",
                )

    def _csv_rows(self, file: str, row: dict[str, str]) -> tuple[str, dict[str, list]]:
        if file == "shipments":
            cells = self.mapper.cells("shipments", row, csv=True)
            return cells["shipment_ref"] or "", {"shipments": [cells]}
        return self.mapper.flat_rows(file, row, csv=True)


class _Opened:
    """A folder opened on entry and closed on exit (an SFTP session per pull or push)."""

    def __init__(self, opener: Callable[[], Folder]) -> None:
        self.opener = opener
        self.folder: Folder | None = None

    def __enter__(self) -> Folder:
        self.folder = self.opener()
        return self.folder

    def __exit__(self, *exc: object) -> None:
        if self.folder is not None:
            self.folder.close()


def _transport(settings: ConnectionSettings) -> str:
    if settings.options.get("folder"):
        return "folder"
    if settings.base_url.lower().startswith("sftp://"):
        return "sftp"
    return "rest"


def _allowed_folder(path: Path) -> Path:
    """A local exchange folder must sit under a root the deployer listed: a connection set up
    in the browser cannot read the server's other files."""
    roots = [Path(r).resolve() for r in getattr(django_settings, "PARITY_CONNECTOR_FOLDERS", [])]
    resolved = path.resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        raise ConnectorError(
            f"folder {path} is not under a root in PARITY_CONNECTOR_FOLDERS", permanent=True
        )
    return resolved


def _safe_name(key: str) -> str:
    """The idempotency key as a file name: kept when plain, hashed otherwise."""
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", key) and not key.startswith("."):
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _key(path: str | None) -> Callable[[Any], Any]:
    def key(record: Any) -> Any:
        value = lookup(record, path) if isinstance(record, dict) else None
        if value is None:
            raise KeyError(path)  # the client's paging keeps records without an id
        return value

    return key


def _items(body: Any, path: str) -> list[Any]:
    items = lookup(body, path) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ConnectorError(f"expected a JSON object with a {path!r} list", permanent=True)
    return items


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
