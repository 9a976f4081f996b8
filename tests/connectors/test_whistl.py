"""Whistl: the one mapping table (and its overrides), the REST connector against its simulator
over real HTTP on loopback (OAuth2 tokens, round trip, paging, deltas, faults, quarantine, the
idempotent push), and the CSV exchange against a real SFTP server on loopback (paramiko's server
side serving a temporary folder)."""

from __future__ import annotations

import io
import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import paramiko
import pytest

import connectors.simulators.whistl  # noqa: F401 - registers the "whistl" simulator
from connectors.base import ConnectionSettings, ConnectorError
from connectors.http import Timeouts, connector_for
from connectors.models import Connection
from connectors.records import RecordError
from connectors.simulators import Simulator
from connectors.simulators.whistl import exchange_files
from connectors.sync import run_sync
from connectors.whistl.files import read_csv, write_csv
from connectors.whistl.mapping import STATUS_MAP, STATUS_OUT, Mapper
from reconciliation.frames import Bundle
from reconciliation.store import load_bundle

CREDENTIALS = {"client_id": "sim-client", "client_secret": "sim-secret"}
KEYS = {
    "products": ["sku"],
    "orders": ["order_ref"],
    "order_lines": ["order_ref", "line_no"],
    "shipments": ["order_ref", "shipment_ref", "sku"],
    "stock": ["sku", "location"],
    "adjustments": ["adjustment_ref"],
}


# -- the mapping table ---------------------------------------------------------------------------

ORDER: dict[str, Any] = {
    "order_number": "WH100",
    "client_reference": "SO-7",
    "status": "on_hold",
    "hold_reason": "Address check",
    "created_at": "2026-10-01T09:00:00Z",
    "updated_at": "2026-10-01 10:30:00",
    "service_code": "WHNDAY",
    "totals": {"net": "10.00", "tax": 2, "gross": None},
    "delivery": {
        "name": "Ann Lee",
        "address_1": "1 High St",
        "town": "York",
        "postcode": "YO1 1AA",
        "country_code": "GB",
        "email": "ann@example.com",
    },
    "lines": [
        {"line_number": 1, "sku": "TEE-M", "quantity": 2, "tax_rate_percent": 20},
        {"sku": "MUG", "quantity": "1.0"},
    ],
}


def test_an_order_record_maps_through_the_table() -> None:
    ref, rows = Mapper().order_rows(ORDER)

    assert ref == "WH100"
    assert rows["orders"] == [
        {
            "order_ref": "WH100",
            "source_ref": "SO-7",
            "status": "held",
            "hold_reason": "Address check",
            "placed_at": "2026-10-01T09:00:00Z",
            "updated_at": "2026-10-01T10:30:00Z",
            "net_total": "10.00",
            "tax_total": "2",
            "gross_total": None,
            "shipping_total": None,
            "discount_total": None,
            "shipping_method": "WHNDAY",
            "ship_name": "Ann Lee",
            "ship_line1": "1 High St",
            "ship_line2": None,
            "ship_city": "York",
            "ship_postcode": "YO1 1AA",
            "ship_country": "GB",
            "ship_phone": None,
            "email": "ann@example.com",
        }
    ]
    assert rows["order_lines"] == [
        {
            "order_ref": "WH100",
            "line_no": "1",
            "sku": "TEE-M",
            "quantity": "2",
            "unit_price": None,
            "line_net": None,
            "line_tax": None,
            "tax_rate": "0.2",
        },
        {
            "order_ref": "WH100",
            "line_no": "2",  # no line number: its position
            "sku": "MUG",
            "quantity": "1",
            "unit_price": None,
            "line_net": None,
            "line_tax": None,
            "tax_rate": None,
        },
    ]


def test_a_hold_reason_counts_only_on_held_and_rejected_orders() -> None:
    _, rows = Mapper().order_rows({**ORDER, "status": "PICKING"})
    assert (rows["orders"][0]["status"], rows["orders"][0]["hold_reason"]) == ("in_progress", None)
    _, rows = Mapper().order_rows({**ORDER, "status": "IMPORT_FAILED"})
    assert (rows["orders"][0]["status"], rows["orders"][0]["hold_reason"]) == (
        "rejected",
        "Address check",
    )


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("PENDING", "pending"),
        ("AWAITING_RELEASE", "open"),
        ("RECEIVED", "in_progress"),
        ("ALLOCATED", "in_progress"),
        ("PACKED", "in_progress"),
        ("ON_HOLD", "held"),
        ("AWAITING_STOCK", "held"),
        ("REJECTED", "rejected"),
        ("PART_DESPATCHED", "partially_dispatched"),
        ("DESPATCHED", "dispatched"),
        ("DELIVERED", "dispatched"),
        ("CANCELLED", "cancelled"),
    ],
)
def test_status_map(raw: str, canonical: str) -> None:
    assert Mapper().status(raw) == canonical
    assert Mapper().status(raw.lower()) == canonical


def test_every_status_written_reads_back_as_itself_except_released() -> None:
    for canonical, raw in STATUS_OUT.items():
        expected = "in_progress" if canonical == "released" else canonical
        assert STATUS_MAP[raw] == expected


def test_an_unknown_status_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="status 'LOST_IN_TRANSIT' is not in the Whistl status"):
        Mapper().status("lost_in_transit")


def test_a_despatch_maps_to_one_row_per_item() -> None:
    record = {
        "despatch_number": "CN1",
        "order_number": "WH100",
        "carrier": "DPD",
        "service_code": "WHNDAY",
        "tracking_number": "155",
        "despatched_at": "2026-10-02T08:00:00Z",
        "items": [{"sku": "TEE-M", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
    }
    assert Mapper().despatch_rows(record) == (
        "CN1",
        {
            "shipments": [
                {
                    "order_ref": "WH100",
                    "shipment_ref": "CN1",
                    "sku": sku,
                    "quantity": quantity,
                    "carrier": "DPD",
                    "service_code": "WHNDAY",
                    "tracking_number": "155",
                    "dispatched_at": "2026-10-02T08:00:00Z",
                }
                for sku, quantity in (("TEE-M", "2"), ("MUG", "1"))
            ]
        },
    )


def test_adjustment_reason_codes_become_words() -> None:
    record = {"reference": "A1", "sku": "MUG", "quantity": -2, "reason_code": "DMG"}
    _, rows = Mapper().flat_rows("adjustments", record)
    assert rows["adjustments"][0]["reason"] == "Damaged"
    _, rows = Mapper().flat_rows("adjustments", {**record, "reason_code": "ZZ"})
    assert rows["adjustments"][0]["reason"] == "ZZ"  # unknown codes kept as they are
    mapper = Mapper({"reason_codes": {"ZZ": "Sampled"}})
    assert mapper.flat_rows("adjustments", {**record, "reason_code": "ZZ"})[1]["adjustments"][0][
        "reason"
    ] == ("Sampled")


def test_a_connection_overrides_names_in_the_table_and_nothing_else() -> None:
    mapper = Mapper(
        {
            "mapping": {
                "fields": {"orders": {"source_ref": ["customer_ref", "CustomerRef"]}},
                "endpoints": {"orders": "/api/v2/orders"},
                "paging": {"since": "modified_after"},
            },
            "status_map": {"dispatched_to_carrier": "dispatched"},
        }
    )
    assert mapper.api("orders", "source_ref") == "customer_ref"
    assert mapper.csv("orders", "source_ref") == "CustomerRef"
    assert mapper.api("orders", "order_ref") == "order_number"  # untouched
    assert mapper.endpoint("orders") == "/api/v2/orders"
    assert mapper.endpoint("stock") == "/v1/stock"
    assert mapper.table["paging"]["since"] == "modified_after"
    assert mapper.table["paging"]["page"] == "page"
    assert mapper.status("DISPATCHED_TO_CARRIER") == "dispatched"
    assert Mapper().api("orders", "source_ref") == "client_reference"  # the default is intact


def test_an_order_written_through_the_table_reads_back() -> None:
    mapper = Mapper()
    _, rows = mapper.order_rows(ORDER)
    record = mapper.order_record(rows["orders"][0], rows["order_lines"])
    assert mapper.order_rows(record)[1] == rows


# -- REST against the simulator ------------------------------------------------------------------


def settings_for(
    url: str, credentials: dict[str, str] | None = None, **options: Any
) -> ConnectionSettings:
    return ConnectionSettings(
        name="Whistl test",
        kind="whistl",
        role="wms",
        base_url=url,
        credentials=credentials or CREDENTIALS,
        options=options,
    )


@pytest.fixture
def whistl(simulator: Callable[..., Simulator]) -> Simulator:
    return simulator("whistl")


def connect(sim: Simulator, sleeps: list[float] | None = None, **client: Any) -> Any:
    options = client.pop("options", {})
    credentials = client.pop("credentials", None)
    if sleeps is not None:
        client["sleep"] = sleeps.append
    return connector_for(settings_for(sim.url, credentials, **options), **client)


def assert_frames_equal(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert sorted(actual) == sorted(expected)
    for file, frame in expected.items():
        keys = KEYS[file]
        left = actual[file].sort_values(keys).reset_index(drop=True)
        right = frame.sort_values(keys).reset_index(drop=True)[list(left.columns)]
        pd.testing.assert_frame_equal(left, right, check_dtype=True, obj=file)


def test_a_full_pull_reads_back_the_served_world(whistl: Simulator, world: Bundle) -> None:
    connector = connect(whistl)

    result = connector.pull()

    assert result.complete is True
    assert result.quarantined == []
    assert_frames_equal(result.frames, world.roles["wms"].frames)
    # One token, then pages of 100: 45 orders, 31 despatches, 290 stock rows, 49 adjustments,
    # 279 products.
    assert whistl.app.tokens_issued == 1
    assert result.requests == 1 + 1 + 1 + 3 + 1 + 3
    assert [e[2] for e in whistl.log][:2] == ["/oauth/token", "/v1/orders"]


def test_it_walks_every_page_and_drops_repeated_records(whistl: Simulator, world: Bundle) -> None:
    whistl.set_faults(duplicate_pages=True)
    connector = connect(whistl, options={"per_page": 7})

    result = connector.pull()

    assert_frames_equal(result.frames, world.roles["wms"].frames)
    orders_pages = [e for e in whistl.log if e[2] == "/v1/orders"]
    # 45 orders, 7 a page, each page after the first repeating one: pages start at 0, 6, … 42.
    assert len(orders_pages) == 8


def test_a_delta_brings_every_parcel_of_each_order_concerned(
    whistl: Simulator, world: Bundle
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    whistl.app.touch("WH7310001", status="held", hold_reason="Wrong size")
    # A second parcel for an order whose own record did not change.
    shipments = world.frame("wms", "shipments")
    first = shipments[shipments["order_ref"] == "WH7310002"].iloc[0]
    whistl.app.add_despatch(
        [{**first.to_dict(), "shipment_ref": "CN-NEW", "tracking_number": "T-NEW"}]
    )
    connector = connect(whistl)

    result = connector.pull(since=since, files=("orders", "shipments"))

    assert result.complete is False
    orders = result.frames["orders"].set_index("order_ref")
    assert orders[["status", "hold_reason"]].to_dict("index") == {
        "WH7310001": {"status": "held", "hold_reason": "Wrong size"},
        "WH7310002": {"status": "dispatched", "hold_reason": None},
    }
    parcels = result.frames["shipments"].groupby("order_ref")["shipment_ref"].apply(sorted)
    assert parcels.to_dict() == {"WH7310002": ["CN-NEW", first["shipment_ref"]]}
    paths = [e[2] for e in whistl.log]
    # token, orders since, despatches since, despatches of both orders, the untouched order
    assert paths == [
        "/oauth/token",
        "/v1/orders",
        "/v1/despatches",
        "/v1/despatches",
        "/v1/orders",
    ]


def test_refused_client_credentials_are_a_permanent_failure(whistl: Simulator) -> None:
    connector = connect(whistl, credentials={**CREDENTIALS, "client_secret": "wrong"})

    with pytest.raises(ConnectorError) as caught:
        connector.pull()

    assert caught.value.permanent is True
    assert caught.value.status == 401
    assert str(caught.value).endswith(
        f"{whistl.url}/oauth/token: HTTP 401, credentials refused (invalid_client)"
    )
    assert whistl.requests == 1


def test_an_expired_token_is_renewed_once(whistl: Simulator) -> None:
    connector = connect(whistl)
    connector.pull(files=("stock",))
    whistl.app.revoke_tokens()  # the cached token is now unknown to the server

    result = connector.pull(files=("stock",))

    assert len(result.frames["stock"]) == 290
    assert whistl.app.tokens_issued == 2
    # First pull: token and three pages; then the old token is refused, a new one fetched.
    assert [e[3] for e in whistl.log] == [200] * 4 + [401] + [200] * 4
    assert [e[2] for e in whistl.log][4:6] == ["/v1/stock", "/oauth/token"]


def test_credentials_that_stay_refused_fail_permanently(whistl: Simulator) -> None:
    whistl.set_faults(expired_credentials=True)

    with pytest.raises(ConnectorError) as caught:
        connect(whistl).pull()

    assert caught.value.permanent is True
    assert caught.value.status == 401
    # token, call (401), new token, call again (401): then it stands.
    assert [e[3] for e in whistl.log] == [200, 401, 200, 401]


def test_throttling_waits_out_retry_after(whistl: Simulator) -> None:
    whistl.set_faults(throttle_next=2, retry_after=4)
    sleeps: list[float] = []

    result = connect(whistl, sleeps).pull(files=("stock",))

    assert len(result.frames["stock"]) == 290
    assert sleeps == [4.0, 4.0]
    assert [e[3] for e in whistl.log] == [429, 429] + [200] * 4  # then the token, 3 pages


def test_a_hanging_server_is_a_transient_failure_after_retries(whistl: Simulator) -> None:
    whistl.set_faults(hang_next=3, hang_seconds=5)
    sleeps: list[float] = []
    connector = connect(whistl, sleeps, retries=2, timeouts=Timeouts(connect=1.0, read=0.2))

    with pytest.raises(ConnectorError) as caught:
        connector.pull(files=("stock",))

    assert caught.value.permanent is False
    assert "timed out (ReadTimeout) after retries" in str(caught.value)
    assert len(sleeps) == 2


def test_bad_records_are_quarantined_and_the_rest_goes_on(whistl: Simulator) -> None:
    orders = {record["order_number"]: record for _, record in whistl.app.orders}
    orders["WH7310003"]["status"] = "SOMEWHERE"
    orders["WH7310004"]["lines"][0]["quantity"] = -2
    whistl.app.stock[0][1]["on_hand"] = "lots"

    result = connect(whistl).pull(files=("orders", "stock"))

    reasons = {(q.file, q.ref): q.reason for q in result.quarantined}
    assert reasons == {
        ("orders", "WH7310003"): "status 'SOMEWHERE' is not in the Whistl status map",
        ("orders", "WH7310004"): "order_lines: quantity -2 is negative",
        ("stock", whistl.app.stock[0][1]["sku"]): "on_hand 'lots' is not a number",
    }
    assert len(result.frames["orders"]) == 43
    assert len(result.frames["stock"]) == 289
    assert "WH7310004" not in set(result.frames["order_lines"]["order_ref"])


# -- the push ------------------------------------------------------------------------------------

RELEASED = {
    "order_ref": "SO5800033",
    "status": "held",
    "placed_at": "2026-10-30T09:00:00Z",
    "shipping_method": "WHSTD48",
    "ship_name": "Ann Lee",
    "ship_line1": "1 High St",
    "ship_city": "York",
    "ship_postcode": "YO1 1AA",
    "ship_country": "GB",
    "email": "ann@example.com",
    "lines": [
        {"order_ref": "SO5800033", "line_no": "10", "sku": "TS1001NVYM", "quantity": 2},
        {"order_ref": "SO5800033", "line_no": "20", "sku": "MUG", "quantity": 1},
    ],
}


def test_a_pushed_order_is_created_once_per_key(whistl: Simulator) -> None:
    connector = connect(whistl)

    first = connector.send_order(RELEASED, "release-SO5800033-1")
    again = connector.send_order(RELEASED, "release-SO5800033-1")

    assert first == {"order_ref": "WH9000001", "status": "in_progress", "created": True}
    assert again == {"order_ref": "WH9000001", "status": "in_progress", "created": False}
    assert len(whistl.app.pushed) == 1
    pushed = whistl.app.pushed[0]
    assert pushed["client_reference"] == "SO5800033"
    assert pushed["status"] == "RECEIVED"  # the warehouse's, not the held status sent to it
    assert pushed["lines"] == [
        {"line_number": "10", "sku": "TS1001NVYM", "quantity": 2, "unit_price": None,
         "net": None, "tax": None, "tax_rate_percent": None},
        {"line_number": "20", "sku": "MUG", "quantity": 1, "unit_price": None,
         "net": None, "tax": None, "tax_rate_percent": None},
    ]  # fmt: skip
    # A retry after a lost answer carries the same key: still one order.
    whistl.set_faults(fail_next=1)
    assert connector.send_order(RELEASED, "release-SO5800033-1")["created"] is False
    assert len(whistl.app.pushed) == 1
    # The next pull sees it, tied to the ERP order.
    orders = connector.pull(files=("orders",)).frames["orders"].set_index("order_ref")
    assert orders.loc["WH9000001", ["source_ref", "status"]].tolist() == [
        "SO5800033",
        "in_progress",
    ]


def test_a_new_key_is_a_new_order_and_a_reused_key_for_another_order_is_refused(
    whistl: Simulator,
) -> None:
    connector = connect(whistl)
    connector.send_order(RELEASED, "k-1")

    assert connector.send_order(RELEASED, "k-2")["order_ref"] == "WH9000002"
    with pytest.raises(ConnectorError) as caught:
        connector.send_order({**RELEASED, "ship_name": "Someone Else"}, "k-1")
    assert caught.value.permanent is True
    assert caught.value.status == 422
    with pytest.raises(ConnectorError, match="idempotency key"):
        connector.send_order(RELEASED, " ")
    assert len(whistl.app.pushed) == 2


def test_a_server_error_before_the_order_is_made_is_retried_into_one_order(
    whistl: Simulator, sleeps: list[float]
) -> None:
    connector = connect(whistl, sleeps)
    connector.pull(files=("stock",))  # a token in hand: the next request is the POST itself
    whistl.set_faults(fail_next=2, error_status=502)

    answer = connector.send_order(RELEASED, "k-retry")

    assert answer["created"] is True
    assert len(whistl.app.pushed) == 1
    assert len(sleeps) == 2


# -- the CSV exchange over SFTP ------------------------------------------------------------------


class _Handle(paramiko.SFTPHandle):
    def stat(self) -> paramiko.SFTPAttributes:
        return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))


class _FolderSFTP(paramiko.SFTPServerInterface):
    """Serves one local directory as the SFTP root."""

    def __init__(self, server: Any, *args: Any, root: str, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = root

    def _real(self, path: str) -> str:
        return os.path.join(self.root, self.canonicalize(path).lstrip("/"))

    def _attributes(self, real: str, name: str | None = None) -> Any:
        try:
            attributes = paramiko.SFTPAttributes.from_stat(os.stat(real))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        if name is not None:
            attributes.filename = name
        return attributes

    def list_folder(self, path: str) -> Any:
        real = self._real(path)
        try:
            names = sorted(os.listdir(real))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return [self._attributes(os.path.join(real, name), name) for name in names]

    def stat(self, path: str) -> Any:
        return self._attributes(self._real(path))

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        real = self._real(path)
        try:
            fd = os.open(real, flags, 0o644)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        writing = flags & (os.O_WRONLY | os.O_RDWR)
        handle = _Handle(flags)
        handle.filename = real
        handle.readfile = handle.writefile = os.fdopen(fd, "r+b" if writing else "rb")
        return handle

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        os.replace(self._real(oldpath), self._real(newpath))
        return paramiko.SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        if os.path.exists(self._real(newpath)):
            return paramiko.SFTP_FAILURE
        os.rename(self._real(oldpath), self._real(newpath))
        return paramiko.SFTP_OK


class _Login(paramiko.ServerInterface):
    def __init__(self, password: str, client_key: paramiko.PKey) -> None:
        self.password = password
        self.client_key = client_key

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == "parity" and password == self.password
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == "parity" and key == self.client_key
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class SftpServer:
    """A real SFTP server on loopback over a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host_key = paramiko.ECDSAKey.generate()
        self.client_key = paramiko.ECDSAKey.generate()
        self.password = "s3cret"
        self.logins = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._transports: list[paramiko.Transport] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def host_key_line(self) -> str:
        return f"{self.host_key.get_name()} {self.host_key.get_base64()}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler(
                "sftp", paramiko.SFTPServer, _FolderSFTP, root=str(self.root)
            )
            transport.start_server(server=_Login(self.password, self.client_key))
            self._transports.append(transport)
            self.logins += 1

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=5)
        for transport in self._transports:
            transport.close()


@pytest.fixture
def sftp(tmp_path: Path, settings: Any) -> Iterator[SftpServer]:
    settings.PARITY_CONNECTOR_ALLOWED_SCHEMES = ["http", "https", "sftp"]
    (tmp_path / "outbound").mkdir()
    (tmp_path / "inbound").mkdir()
    server = SftpServer(tmp_path)
    yield server
    server.stop()


def drop(folder: Path, files: dict[str, bytes], *, age: float = 300) -> None:
    """Files as the warehouse leaves them, settled `age` seconds ago."""
    moment = datetime.now(UTC).timestamp() - age
    for name, data in files.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (moment, moment))


def sftp_connector(server: SftpServer, *, key: bool = False, **options: Any) -> Any:
    credentials = {"sftp_username": "parity"}
    if key:
        credentials["sftp_private_key"] = _private_key_text(server.client_key)
    else:
        credentials["sftp_password"] = options.pop("password", server.password)
    options.setdefault("sftp_host_key", server.host_key_line)
    options.setdefault("sftp_timeout", 5)
    options.setdefault("inbound_dir", "/inbound")
    url = f"sftp://127.0.0.1:{server.port}/outbound"
    return connector_for(settings_for(url, credentials, **options))


def _private_key_text(key: paramiko.PKey) -> str:
    out = io.StringIO()
    key.write_private_key(out)
    return out.getvalue()


def test_the_exchange_files_read_back_the_world(sftp: SftpServer, world: Bundle) -> None:
    drop(sftp.root / "outbound", exchange_files(world))

    result = sftp_connector(sftp).pull()

    assert result.complete is True
    assert result.quarantined == []
    assert result.requests == 0  # no HTTP at all
    assert_frames_equal(result.frames, world.roles["wms"].frames)


def test_later_files_replace_earlier_records_and_unsettled_files_wait(
    sftp: SftpServer, world: Bundle
) -> None:
    outbound = sftp.root / "outbound"
    drop(outbound, exchange_files(world))
    mapper = Mapper()
    order = {"order_ref": "WH7310001", "status": "dispatched", "placed_at": "2026-10-29T08:43:54Z"}
    line = {"line_no": "1", "sku": "SW2001GRYL", "quantity": 1}
    later = [{**mapper.csv_row("orders", order), **mapper.csv_row("order_lines", line)}]
    drop(outbound, {"orders_29990101000000.csv": _csv(later)}, age=120)
    unsettled = [{**later[0], "Status": "CANCELLED"}]
    drop(outbound, {"orders_29990102000000.csv": _csv(unsettled)}, age=0)
    drop(outbound, {"orders_29990103000000.csv.part": _csv(unsettled)})

    result = sftp_connector(sftp, settle_seconds=60).pull(files=("orders",))

    orders = result.frames["orders"].set_index("order_ref")
    assert len(orders) == 45
    assert orders.loc["WH7310001", "status"] == "dispatched"  # was in_progress


def test_a_refused_sftp_login_or_an_unknown_host_key_is_permanent(sftp: SftpServer) -> None:
    with pytest.raises(ConnectorError) as caught:
        sftp_connector(sftp, password="wrong").pull()
    assert caught.value.permanent is True
    assert str(caught.value) == f"sftp://127.0.0.1:{sftp.port}: login refused"

    other = paramiko.ECDSAKey.generate()
    with pytest.raises(ConnectorError) as caught:
        sftp_connector(sftp, sftp_host_key=f"{other.get_name()} {other.get_base64()}").pull()
    assert caught.value.permanent is True
    assert "host key" in str(caught.value)


def test_a_key_login_works(sftp: SftpServer, world: Bundle) -> None:
    drop(sftp.root / "outbound", exchange_files(world))

    result = sftp_connector(sftp, key=True).pull(files=("stock",))

    assert len(result.frames["stock"]) == 290


def test_an_sftp_host_off_the_allow_list_is_refused(sftp: SftpServer, settings: Any) -> None:
    settings.PARITY_CONNECTOR_ALLOWED_HOSTS = ["files.whistl.example"]
    with pytest.raises(ConnectorError, match="'127.0.0.1' is not in PARITY_CONNECTOR_ALLOWED"):
        sftp_connector(sftp).pull()
    assert sftp.logins == 0


def test_a_pushed_order_is_written_once_per_key_over_sftp(sftp: SftpServer) -> None:
    connector = sftp_connector(sftp)

    first = connector.send_order(RELEASED, "release-SO5800033-1")
    again = connector.send_order({**RELEASED, "ship_name": "Changed"}, "release-SO5800033-1")
    other = connector.send_order(RELEASED, "release/SO5800033/2")

    assert first == {
        "order_ref": None,
        "status": None,
        "created": True,
        "file": "order_release-SO5800033-1.csv",
    }
    assert again["created"] is False
    assert other["created"] is True
    assert other["file"] == "order_" + other["file"][6:38] + ".csv"  # an unsafe key is hashed
    inbound = sorted(p.name for p in (sftp.root / "inbound").iterdir())
    assert inbound == sorted([first["file"], other["file"]])  # no .part left behind
    rows = read_csv((sftp.root / "inbound" / first["file"]).read_bytes(), first["file"])
    assert [(r["ClientReference"], r["OrderNumber"], r["SKU"], r["Quantity"]) for r in rows] == [
        ("SO5800033", "", "TS1001NVYM", "2"),
        ("SO5800033", "", "MUG", "1"),
    ]
    assert rows[0]["DeliveryName"] == "Ann Lee"  # the first write stands
    assert rows[0]["Status"] == ""  # the warehouse sets the status


def test_a_local_folder_must_sit_under_a_configured_root(
    tmp_path: Path, settings: Any, world: Bundle
) -> None:
    folder = tmp_path / "whistl"
    folder.mkdir()
    drop(folder, exchange_files(world))
    options = {"folder": str(folder)}
    settings.PARITY_CONNECTOR_FOLDERS = [str(tmp_path / "elsewhere")]
    connector = connector_for(settings_for("http://127.0.0.1:9", **options))
    with pytest.raises(ConnectorError, match="not under a root in PARITY_CONNECTOR_FOLDERS"):
        connector.pull()

    settings.PARITY_CONNECTOR_FOLDERS = [str(tmp_path)]
    result = connector.pull(files=("adjustments",))
    assert len(result.frames["adjustments"]) == 49


def _csv(rows: list[dict[str, str]]) -> bytes:
    return write_csv(rows)


# -- through the sync service --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_dispatch_poll_adds_a_parcel_and_keeps_the_order_s_earlier_ones(
    whistl: Simulator, world: Bundle
) -> None:
    connection = Connection(name="Whistl", kind="whistl", role="wms", base_url=whistl.url)
    connection.set_credentials(CREDENTIALS)
    connection.save()
    full = run_sync(connection.pk, "full")
    shipments = world.frame("wms", "shipments")
    first = shipments[shipments["order_ref"] == "WH7310002"].iloc[0]
    whistl.app.add_despatch([{**first.to_dict(), "shipment_ref": "CN-NEW"}])

    poll = run_sync(connection.pk, "dispatch")

    poll.refresh_from_db()
    assert (full.state, poll.state, poll.quarantined) == ("complete", "complete", 0)
    saved = load_bundle([poll.snapshot], as_of=poll.snapshot.taken_at, currency="").roles["wms"]
    parcels = saved.frames["shipments"]
    assert sorted(parcels.loc[parcels.order_ref == "WH7310002", "shipment_ref"]) == sorted(
        ["CN-NEW", first["shipment_ref"]]
    )
    assert len(parcels) == len(shipments) + 1  # every other order's parcels kept
    assert len(saved.frames["orders"]) == 45
    assert len(saved.frames["stock"]) == 290
