"""Prima: the field table (and its overrides), the XML `RequestType` service against its simulator
over real HTTP on loopback, and the scheduled CSV exports read from a watched folder."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import connectors.simulators.prima  # noqa: F401 - registers the "prima" simulator
from connectors.base import ConnectionSettings, ConnectorError
from connectors.http import Timeouts, connector_for
from connectors.prima.mapping import (
    STATUS_MAP,
    STATUS_OUT,
    PrimaMapper,
    element_record,
    request_document,
)
from connectors.records import RecordError
from connectors.simulators import Simulator
from connectors.simulators.prima import export_files
from reconciliation.frames import Bundle

CREDENTIALS = {"username": "sim", "password": "sim-password", "company": "PAR"}
KEYS = {
    "products": ["sku"],
    "orders": ["order_ref"],
    "order_lines": ["order_ref", "line_no"],
    "shipments": ["order_ref", "shipment_ref", "sku"],
    "stock": ["sku", "location"],
    "adjustments": ["adjustment_ref"],
}

# -- the field table -----------------------------------------------------------------------------

SALES_ORDER = b"""<SalesOrder>
  <OrderNumber>SO100</OrderNumber>
  <CustomerOrderRef>WEB-9</CustomerOrderRef>
  <OrderStatus> credit  hold </OrderStatus>
  <HoldReason>Over limit</HoldReason>
  <OrderDate>2026-10-01T09:00:00</OrderDate>
  <LastModified>2026-10-01T10:00:00+01:00</LastModified>
  <NetValue>50.00</NetValue><VATValue>10.00</VATValue><GrossValue>60.00</GrossValue>
  <CarriageValue>4.95</CarriageValue><DiscountValue>0</DiscountValue>
  <DeliveryMethod>Next Day</DeliveryMethod>
  <DeliveryName>Ann Lee</DeliveryName><DeliveryAddress1>1 High St</DeliveryAddress1>
  <DeliveryTown>York</DeliveryTown><DeliveryPostcode>YO1 1AA</DeliveryPostcode>
  <DeliveryCountry>GB</DeliveryCountry><EmailAddress>ann@example.com</EmailAddress>
  <Lines>
    <Line><LineNumber>10</LineNumber><ProductCode>TEE-M</ProductCode><Quantity>2</Quantity>
      <UnitPrice>20.5000</UnitPrice><NetValue>41.00</NetValue><VATValue>8.20</VATValue>
      <VATRate>20</VATRate></Line>
  </Lines>
  <Despatches>
    <Despatch><DespatchNote>DN1</DespatchNote><ProductCode>TEE-M</ProductCode>
      <Quantity>1</Quantity><Carrier>DPD</Carrier><ServiceCode>NDAY</ServiceCode>
      <TrackingNumber>155</TrackingNumber><DespatchDate>2026-10-02T08:00:00Z</DespatchDate>
    </Despatch>
  </Despatches>
</SalesOrder>"""


def test_a_sales_order_element_maps_through_the_table() -> None:
    record = element_record(ET.fromstring(SALES_ORDER))

    ref, rows = PrimaMapper().order_rows(record)

    assert ref == "SO100"
    assert rows["orders"] == [
        {
            "order_ref": "SO100",
            "source_ref": "WEB-9",
            "status": "held",
            "hold_reason": "Over limit",
            "placed_at": "2026-10-01T09:00:00Z",
            "updated_at": "2026-10-01T10:00:00+01:00",
            "net_total": "50.00",
            "tax_total": "10.00",
            "gross_total": "60.00",
            "shipping_total": "4.95",
            "discount_total": "0",
            "shipping_method": "Next Day",
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
            "order_ref": "SO100",
            "line_no": "10",
            "sku": "TEE-M",
            "quantity": "2",
            "unit_price": "20.5000",
            "line_net": "41.00",
            "line_tax": "8.20",
            "tax_rate": "0.2",
        }
    ]
    assert rows["shipments"] == [
        {
            "order_ref": "SO100",
            "shipment_ref": "DN1",
            "sku": "TEE-M",
            "quantity": "1",
            "carrier": "DPD",
            "service_code": "NDAY",
            "tracking_number": "155",
            "dispatched_at": "2026-10-02T08:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Provisional", "pending"),
        ("Open", "open"),
        ("Released", "released"),
        ("Sent to Warehouse", "released"),
        ("Picking", "in_progress"),
        ("On Hold", "held"),
        ("Credit Hold", "held"),
        ("Rejected", "rejected"),
        ("Part Despatched", "partially_dispatched"),
        ("Despatched", "dispatched"),
        ("Invoiced", "dispatched"),
        ("Cancelled", "cancelled"),
    ],
)
def test_status_map(raw: str, canonical: str) -> None:
    assert PrimaMapper().status(raw) == canonical


def test_every_status_written_reads_back_as_itself() -> None:
    assert {c: STATUS_MAP[raw.upper()] for c, raw in STATUS_OUT.items()} == {
        c: c for c in STATUS_OUT
    }


def test_an_unknown_status_or_flag_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="status 'LOST' is not in the Prima status map"):
        PrimaMapper().status("lost")
    with pytest.raises(RecordError, match="is_stock_item 'maybe' is not Y or N"):
        PrimaMapper().flat_rows("products", {"ProductCode": "X", "StockItem": "maybe"})


def test_products_say_y_or_n_for_stock_items() -> None:
    mapper = PrimaMapper()
    _, rows = mapper.flat_rows("products", {"ProductCode": "WRAP", "StockItem": "N"})
    assert rows["products"][0]["is_stock_item"] == "false"
    _, rows = mapper.flat_rows("products", {"ProductCode": "TEE", "StandardCost": "3.1000"})
    assert rows["products"][0] == {
        "sku": "TEE",
        "name": None,
        "barcode": None,
        "unit_cost": "3.1000",
        "is_stock_item": None,  # left to the bundle default (a stock item)
    }


def test_a_connection_changes_names_through_its_options() -> None:
    mapper = PrimaMapper(
        {
            "fields": {"orders.source_ref": "WebOrderNumber", "stock.location": "Depot"},
            "requests": {"orders": {"request": "GetOrders"}},
            "exports": {"orders": "SOH_*.csv"},
            "status_map": {"awaiting stock": "open"},
        }
    )
    assert mapper.fields["orders"]["source_ref"] == "WebOrderNumber"
    assert mapper.fields["orders"]["order_ref"] == "OrderNumber"
    assert mapper.fields["stock"]["location"] == "Depot"
    assert mapper.requests["orders"] == {
        "request": "GetOrders",
        "container": "SalesOrders",
        "record": "SalesOrder",
    }
    assert mapper.exports["orders"] == "SOH_*.csv"
    assert mapper.status("Awaiting Stock") == "open"
    with pytest.raises(ValueError, match="'orders.colour' is not a canonical file.column"):
        PrimaMapper({"fields": {"orders.colour": "Colour"}})


def test_a_request_document_names_who_asks_and_what() -> None:
    document = ET.fromstring(request_document("GetProducts", CREDENTIALS, {"PageNumber": 2}))
    assert document.findtext("RequestType") == "GetProducts"
    assert document.findtext("Authentication/UserName") == "sim"
    assert document.findtext("Authentication/CompanyCode") == "PAR"
    assert document.findtext("Parameters/PageNumber") == "2"


# -- the XML service against the simulator -------------------------------------------------------


def settings_for(
    url: str, credentials: dict[str, str] | None = None, **options: Any
) -> ConnectionSettings:
    return ConnectionSettings(
        name="Prima test",
        kind="prima",
        role="erp",
        base_url=url,
        credentials=credentials or CREDENTIALS,
        options=options,
    )


@pytest.fixture
def prima(simulator: Callable[..., Simulator]) -> Simulator:
    return simulator("prima")


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


def test_a_full_pull_reads_back_the_served_world(prima: Simulator, world: Bundle) -> None:
    result = connect(prima).pull()

    assert result.complete is True
    assert result.quarantined == []
    assert_frames_equal(result.frames, world.roles["erp"].frames)
    assert result.requests == 4  # one page of 500 of each request type


def test_it_walks_every_page_and_drops_repeated_records(prima: Simulator, world: Bundle) -> None:
    prima.set_faults(duplicate_pages=True)

    result = connect(prima, options={"page_size": 10}).pull()

    assert_frames_equal(result.frames, world.roles["erp"].frames)
    # 10 a page, each page after the first repeating the previous one's last record, until a
    # short page: 52 orders in 6 pages, 284 products in 32, 279 stock levels in 31, and 46
    # adjustments in 5 full pages and an extra one holding the repeat alone.
    assert result.requests == 6 + 32 + 31 + 6


def test_a_delta_reads_only_orders_changed_since(prima: Simulator) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    prima.app.touch("SO5800001", status="dispatched")
    prima.app.touch("SO5800039", status="open", HoldReason="")

    result = connect(prima).pull(since=since, files=("orders",))

    assert result.complete is False
    assert sorted(result.frames) == ["order_lines", "orders", "shipments"]
    orders = result.frames["orders"].set_index("order_ref")
    assert orders[["status", "hold_reason"]].to_dict("index") == {
        "SO5800001": {"status": "dispatched", "hold_reason": None},
        "SO5800039": {"status": "open", "hold_reason": None},
    }
    assert set(result.frames["order_lines"]["order_ref"]) == {"SO5800001", "SO5800039"}
    assert result.requests == 1


def test_refused_credentials_are_a_permanent_failure(prima: Simulator) -> None:
    connector = connect(prima, credentials={**CREDENTIALS, "password": "wrong"})

    with pytest.raises(ConnectorError) as caught:
        connector.pull()

    assert caught.value.permanent is True
    assert caught.value.status == 401
    assert prima.requests == 1


def test_an_error_answer_in_the_document_is_classified(prima: Simulator) -> None:
    connector = connect(prima)
    outcomes = []
    for code, message in (("BUSY", "Nightly run"), ("AUTH", "Password expired")):
        prima.app.error_answer = (code, message)
        with pytest.raises(ConnectorError) as caught:
            connector.pull(files=("stock",))
        outcomes.append((str(caught.value), caught.value.permanent, caught.value.status))

    assert outcomes == [
        ("Prima GetStockLevels: BUSY (Nightly run)", False, None),
        ("Prima GetStockLevels: AUTH (Password expired)", True, 401),
    ]
    assert prima.stats()["statuses"] == {"200": 2}  # refusals inside good HTTP answers


def test_throttling_waits_out_retry_after(prima: Simulator, world: Bundle) -> None:
    prima.set_faults(throttle_next=2, retry_after=3)
    sleeps: list[float] = []

    result = connect(prima, sleeps).pull(files=("stock",))

    assert len(result.frames["stock"]) == len(world.frame("erp", "stock"))
    assert sleeps == [3.0, 3.0]  # the POSTed reads are retried like GETs


def test_a_hanging_server_is_a_transient_failure_after_retries(prima: Simulator) -> None:
    prima.set_faults(hang_next=3, hang_seconds=5)
    sleeps: list[float] = []
    connector = connect(prima, sleeps, retries=2, timeouts=Timeouts(connect=1.0, read=0.2))

    with pytest.raises(ConnectorError) as caught:
        connector.pull(files=("stock",))

    assert caught.value.permanent is False
    assert "timed out (ReadTimeout) after retries" in str(caught.value)
    assert len(sleeps) == 2


def test_malformed_xml_fails_the_pull_permanently(prima: Simulator) -> None:
    prima.set_faults(malformed_next=1)

    with pytest.raises(ConnectorError) as caught:
        connect(prima).pull(files=("stock",))

    assert caught.value.permanent is True
    assert "malformed XML" in str(caught.value)


def test_bad_records_are_quarantined_and_the_rest_goes_on(prima: Simulator) -> None:
    prima.app.touch("SO5800002", status="open", OrderDate="30/10/2026")
    prima.app.touch("SO5800003", OrderStatus="Mislaid")
    orders = {e.findtext("OrderNumber"): e for _, e in prima.app.records["orders"]}
    orders["SO5800004"].find("Lines/Line/Quantity").text = "1.5"

    result = connect(prima).pull(files=("orders",))

    assert {(q.ref, q.reason) for q in result.quarantined} == {
        ("SO5800002", "orders: placed_at '30/10/2026' is not an ISO 8601 timestamp"),
        ("SO5800003", "status 'MISLAID' is not in the Prima status map"),
        ("SO5800004", "quantity '1.5' is not a whole number"),
    }
    assert len(result.frames["orders"]) == 49
    kept = next(q.payload for q in result.quarantined if q.ref == "SO5800004")
    assert kept["Lines"][0]["Quantity"] == "1.5"  # the record as received, lines and all


# -- the CSV exports in a watched folder ---------------------------------------------------------


def drop(folder: Path, files: dict[str, bytes], *, age: float = 300) -> None:
    moment = datetime.now(UTC).timestamp() - age
    for name, data in files.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (moment, moment))


@pytest.fixture
def exports(tmp_path: Path, settings: Any) -> Path:
    settings.PARITY_CONNECTOR_FOLDERS = [str(tmp_path)]
    folder = tmp_path / "prima-exports"
    folder.mkdir()
    return folder


def csv_connector(folder: Path, **options: Any) -> Any:
    options = {"mode": "csv", "export_folder": str(folder), **options}
    return connector_for(settings_for("http://127.0.0.1:9", **options))


def test_an_export_run_reads_back_the_world(exports: Path, world: Bundle) -> None:
    drop(exports, export_files(world))

    result = csv_connector(exports).pull()

    assert result.complete is True
    assert result.quarantined == []
    assert result.requests == 0
    assert_frames_equal(result.frames, world.roles["erp"].frames)


def test_the_newest_settled_run_is_read_with_its_own_lines(exports: Path, world: Bundle) -> None:
    drop(exports, export_files(world))
    # A newer run whose orders file is complete but whose lines are still being written, and a
    # newest one that has only just appeared: neither is mixed into what is read.
    newer = {
        "SalesOrders_29990101000000.csv": b"OrderNumber,OrderStatus,OrderDate\n"
        b"SO9,Open,2026-11-01T10:00:00Z\n",
        "SalesOrderLines_29990101000000.csv.part": b"OrderNumber,LineNumber\n",
    }
    drop(exports, newer, age=120)
    drop(exports, {"SalesOrders_29990102000000.csv": b"OrderNumber\nSO10\n"}, age=0)

    result = csv_connector(exports, settle_seconds=60).pull(files=("orders",))

    assert result.frames["orders"]["order_ref"].tolist() == ["SO9"]
    assert result.frames["order_lines"].empty  # its lines file never settled


def test_an_export_folder_outside_the_configured_roots_is_refused(
    tmp_path: Path, settings: Any
) -> None:
    settings.PARITY_CONNECTOR_FOLDERS = [str(tmp_path / "only-here")]
    with pytest.raises(ConnectorError, match="not under a root in PARITY_CONNECTOR_FOLDERS"):
        csv_connector(tmp_path).pull()


def test_a_bad_export_row_is_quarantined_by_file_and_line(exports: Path, world: Bundle) -> None:
    files = export_files(world)
    name = next(n for n in files if n.startswith("StockLevels_"))
    header, first, *rest = files[name].decode().splitlines()
    broken = first.split(",")
    broken[2] = "n/a"  # QuantityInStock
    files[name] = "\r\n".join([header, ",".join(broken), *rest]).encode() + b"\r\n"
    drop(exports, files)

    result = csv_connector(exports).pull(files=("stock",))

    assert [(q.ref, q.reason) for q in result.quarantined] == [
        (f"{name}:2", "on_hand 'n/a' is not a number")
    ]
    assert len(result.frames["stock"]) == len(world.frame("erp", "stock")) - 1
