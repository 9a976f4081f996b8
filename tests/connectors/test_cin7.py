"""Cin7 Core: the mapping of each API record, and the connector against its simulator over real
HTTP on loopback — round trip, paging, deltas, auth, Retry-After, the 60 calls a minute limit,
timeouts and quarantined records."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

import connectors.simulators.cin7  # noqa: F401 - registers the "cin7_core" simulator
from connectors.base import ConnectionSettings, ConnectorError
from connectors.cin7 import (
    SHIPPING_SKUS,
    Cin7CoreConnector,
    adjustment_rows,
    availability_rows,
    country_code,
    product_rows,
    sale_rows,
    sale_status,
    tax_rate,
)
from connectors.http import RateLimit, Timeouts, connector_for
from connectors.models import Connection
from connectors.records import RecordError
from connectors.simulators import Simulator
from connectors.sync import run_sync
from reconciliation.frames import Bundle
from reconciliation.store import load_bundle

CREDENTIALS = {"account_id": "sim-account", "application_key": "sim-key"}
KEYS = {
    "products": ["sku"],
    "orders": ["order_ref"],
    "order_lines": ["order_ref", "line_no"],
    "shipments": ["order_ref", "shipment_ref", "sku"],
    "stock": ["sku", "location"],
    "adjustments": ["adjustment_ref"],
}


# -- mapping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "shipping", "expected"),
    [
        ("DRAFT", "NOT SHIPPED", "pending"),
        ("ESTIMATED", None, "pending"),
        ("ORDERING", "NOT SHIPPED", "pending"),
        ("ORDERED", "NOT SHIPPED", "open"),
        ("BACKORDERED", "NOT SHIPPED", "open"),
        ("INVOICED", "NOT SHIPPED", "open"),
        ("PICKING", "NOT SHIPPED", "released"),
        ("PACKED", "NOT SHIPPED", "released"),
        ("SHIPPING", None, "released"),
        ("PARTIALLY SHIPPED", None, "partially_dispatched"),
        ("INVOICED", "PARTIALLY SHIPPED", "partially_dispatched"),
        ("COMPLETED", "SHIPPED", "dispatched"),
        ("INVOICED", "SHIPPED", "dispatched"),
        ("SHIPPED", None, "dispatched"),
        ("VOIDED", "SHIPPED", "cancelled"),
        ("CREDITED", "NOT SHIPPED", "cancelled"),
    ],
)
def test_sale_status_map(status: str, shipping: str | None, expected: str) -> None:
    sale = {"Status": status, "CombinedShippingStatus": shipping}
    assert sale_status(sale) == (expected, None)


def test_a_sale_is_held_while_its_hold_attribute_has_a_reason() -> None:
    sale = {
        "Status": "ORDERED",
        "AdditionalAttributes": {"AdditionalAttribute10": " Credit check "},
    }
    assert sale_status(sale) == ("held", "Credit check")
    assert sale_status(sale, "AdditionalAttribute2") == ("open", None)
    # A voided sale is cancelled whatever its attributes say.
    assert sale_status({**sale, "Status": "VOIDED"}) == ("cancelled", None)


def test_an_unknown_sale_status_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="status 'LOST' is not a Cin7 sale status"):
        sale_status({"Status": "lost"})


SALE: dict[str, Any] = {
    "ID": "5f6a",
    "Status": "COMPLETED",
    "CombinedShippingStatus": "PARTIALLY SHIPPED",
    "CustomerReference": "WEB-1001",
    "SaleOrderDate": "2026-10-01T09:30:00",
    "LastModifiedOn": "2026-10-02T11:00:05.25",
    "Carrier": "Next Day Delivery",
    "Contact": "Ann Lee",
    "Phone": "07700 900001",
    "Email": "ann@example.com",
    "ShippingAddress": {
        "Line1": "1 High Street",
        "Line2": None,
        "City": "York",
        "Postcode": "YO1 1AA",
        "Country": "United Kingdom",
    },
    "Order": {
        "SaleOrderNumber": "SO-00044",
        "TotalBeforeTax": 107.5,
        "Tax": 21.5,
        "Total": 129.0,
        "Lines": [
            {
                "SKU": "TEE-M",
                "Quantity": 2.0,
                "Price": 45.0,
                "Discount": 10.0,
                "Tax": 16.2,
                "TaxRule": "20% (VAT on Income)",
                "Total": 81.0,
            },
            {
                "SKU": "CARRIAGE",
                "Quantity": 1,
                "Price": 6.5,
                "Discount": 0,
                "Tax": 1.3,
                "TaxRule": "20% VAT",
                "Total": 6.5,
            },
        ],
        "AdditionalCharges": [
            {"Description": "Gift wrap", "Quantity": 1, "Price": 20, "Tax": 4, "Total": 20}
        ],
    },
    "Fulfilments": [
        {
            "Pack": {
                "Lines": [
                    {"SKU": "TEE-M", "Quantity": 1, "Box": "1"},
                    {"SKU": "TEE-M", "Quantity": 0.0, "Box": "2"},
                    {"SKU": "MUG", "Quantity": 1, "Box": "2"},
                ]
            },
            "Ship": {
                "Status": "AUTHORISED",
                "Lines": [
                    {
                        "ID": "P1",
                        "Boxes": "1, 2",
                        "Carrier": "DPD",
                        "TrackingNumber": "TRK1",
                        "ShipmentDate": "2026-10-02T10:00:00",
                        "IsShipped": True,
                    },
                    {"ID": "P2", "Boxes": "3", "IsShipped": False},
                ],
            },
        }
    ],
}


def test_a_sale_maps_to_its_order_lines_and_parcels() -> None:
    ref, rows = sale_rows(SALE)

    assert ref == "SO-00044"
    assert rows["orders"] == [
        {
            "order_ref": "SO-00044",
            "source_ref": "WEB-1001",
            "status": "partially_dispatched",
            "hold_reason": None,
            "placed_at": "2026-10-01T09:30:00Z",
            "updated_at": "2026-10-02T11:00:05.25Z",
            "net_total": "107.5",
            "tax_total": "21.5",
            "gross_total": "129.0",
            "shipping_total": "6.5",
            "discount_total": "9",  # 10 % of 2 × 45.00
            "shipping_method": "Next Day Delivery",
            "ship_name": "Ann Lee",
            "ship_line1": "1 High Street",
            "ship_line2": None,
            "ship_city": "York",
            "ship_postcode": "YO1 1AA",
            "ship_country": "GB",
            "ship_phone": "07700 900001",
            "email": "ann@example.com",
        }
    ]
    assert rows["order_lines"] == [
        {
            "order_ref": "SO-00044",
            "line_no": "1",
            "sku": "TEE-M",
            "quantity": "2",
            "unit_price": "45.0",
            "line_net": "81.0",
            "line_tax": "16.2",
            "tax_rate": "0.2",
        },
        {
            "order_ref": "SO-00044",
            "line_no": "2",
            "sku": "CARRIAGE",
            "quantity": "1",
            "unit_price": "6.5",
            "line_net": "6.5",
            "line_tax": "1.3",
            "tax_rate": "0.2",
        },
        {
            "order_ref": "SO-00044",
            "line_no": "3",
            "sku": "Gift wrap",
            "quantity": "1",
            "unit_price": "20",
            "line_net": "20",
            "line_tax": "4",
            "tax_rate": None,
        },
    ]
    # Parcel P1 (boxes 1 and 2) went; P2 is not shipped yet.
    assert rows["shipments"] == [
        {
            "order_ref": "SO-00044",
            "shipment_ref": "P1",
            "sku": sku,
            "quantity": quantity,
            "carrier": "DPD",
            "service_code": None,
            "tracking_number": "TRK1",
            "dispatched_at": "2026-10-02T10:00:00Z",
        }
        for sku, quantity in (("TEE-M", "1"), ("MUG", "1"))
    ]


def test_a_fractional_quantity_is_a_record_error() -> None:
    sale = {**SALE, "Order": {**SALE["Order"], "Lines": [{"SKU": "X", "Quantity": 1.5}]}}
    with pytest.raises(RecordError, match=r"line 1 Quantity 1\.5 is not a whole number"):
        sale_rows(sale)


def test_products_availability_and_adjustments_map() -> None:
    assert product_rows(
        {"SKU": "TEE-M", "Name": "Tee", "Barcode": "501", "Type": "Stock", "AverageCost": 4.25}
    ) == (
        "TEE-M",
        {
            "products": [
                {
                    "sku": "TEE-M",
                    "name": "Tee",
                    "barcode": "501",
                    "unit_cost": "4.25",
                    "is_stock_item": "true",
                }
            ]
        },
    )
    _, service = product_rows({"SKU": "WRAP", "Type": "Service"})
    assert service["products"][0]["is_stock_item"] == "false"
    assert availability_rows(
        {"SKU": "TEE-M", "Location": "MAIN", "OnHand": 5.0, "Allocated": 2.0, "Available": 3.0}
    ) == (
        "TEE-M",
        {
            "stock": [
                {
                    "sku": "TEE-M",
                    "location": "MAIN",
                    "on_hand": "5",
                    "allocated": "2",
                    "available": "3",
                }
            ]
        },
    )
    task = {
        "StocktakeNumber": "ST-00007",
        "Reference": None,
        "EffectiveDate": "2026-10-05T08:00:00",
        "ExistingStockLines": [
            {"SKU": "TEE-M", "QuantityOnHand": 12.0, "Adjustment": 9.0, "Comments": "Damaged"}
        ],
        "NewStockLines": [{"SKU": "MUG", "Quantity": 4.0, "Comments": "Found"}],
    }
    assert adjustment_rows(task) == (
        "ST-00007",
        {
            "adjustments": [
                {
                    "adjustment_ref": "ST-00007-1",
                    "sku": "TEE-M",
                    "delta": "-3",
                    "reason": "Damaged",
                    "occurred_at": "2026-10-05T08:00:00Z",
                },
                {
                    "adjustment_ref": "ST-00007-2",
                    "sku": "MUG",
                    "delta": "4",
                    "reason": "Found",
                    "occurred_at": "2026-10-05T08:00:00Z",
                },
            ]
        },
    )


def test_countries_and_tax_rules() -> None:
    assert country_code("gb") == "GB"
    assert country_code("Great Britain") == "GB"
    assert country_code("Atlantis") == "Atlantis"
    assert country_code("Atlantis", {"atlantis": "AT"}) == "AT"
    assert tax_rate("Standard 17.5%") == "0.175"
    assert tax_rate("Zero rated") is None


def test_its_client_paces_itself_at_60_calls_a_minute_per_credential() -> None:
    options = Cin7CoreConnector.client_options(settings_for("http://127.0.0.1:1"))
    assert options["rate_limit"] == RateLimit(60, 60.0)
    assert options["headers"] == {
        "api-auth-accountid": "sim-account",
        "api-auth-applicationkey": "sim-key",
    }
    # Asking for more than Cin7 allows is capped; asking for less is honoured.
    more = settings_for("http://127.0.0.1:1", calls_per_minute=100)
    assert Cin7CoreConnector.client_options(more)["rate_limit"] == RateLimit(60, 60.0)
    fewer = settings_for("http://127.0.0.1:1", calls_per_minute=30)
    assert Cin7CoreConnector.client_options(fewer)["rate_limit"] == RateLimit(30, 60.0)


# -- against the simulator -----------------------------------------------------------------------


def settings_for(
    url: str, credentials: dict[str, str] | None = None, **options: Any
) -> ConnectionSettings:
    return ConnectionSettings(
        name="Cin7 test",
        kind="cin7_core",
        role="erp",
        base_url=f"{url}/ExternalApi/v2",
        credentials=credentials or CREDENTIALS,
        options=options,
    )


@pytest.fixture
def cin7(simulator: Callable[..., Simulator]) -> Simulator:
    return simulator("cin7_core", rate_limit=0)  # the limit has its own test


def connect(sim: Simulator, sleeps: list[float] | None = None, **client: Any) -> Any:
    options = client.pop("options", {})
    client.setdefault("rate_limit", None)
    if sleeps is not None:
        client["sleep"] = sleeps.append
    return connector_for(settings_for(sim.url, **options), **client)


def expected_frames(world: Bundle) -> dict[str, pd.DataFrame]:
    """The world's ERP frames as a Cin7 account can hold them (the losses the simulator's
    docstring lists): lines numbered by position, shipping_total from the shipping SKUs' lines,
    discounts 0, no service codes, no all-zero availability rows, and Cin7's statuses."""
    frames = {file: frame.copy() for file, frame in world.roles["erp"].frames.items()}
    lines = frames["order_lines"]
    lines["_n"] = lines["line_no"].astype(int)
    lines = lines.sort_values(["order_ref", "_n"], kind="stable")
    lines["line_no"] = (
        (lines.groupby("order_ref").cumcount() + 1).astype(str).astype(lines["order_ref"].dtype)
    )
    frames["order_lines"] = lines.drop(columns="_n")
    orders = frames["orders"]
    shipping = lines[lines["sku"].isin(SHIPPING_SKUS)].groupby("order_ref")["line_net"].sum()
    has_lines = orders["order_ref"].isin(lines["order_ref"])
    orders["shipping_total"] = (
        orders["order_ref"].map(shipping).fillna(0).where(has_lines).astype("Int64")
    )
    orders["discount_total"] = pd.Series(0, index=orders.index, dtype="Int64").where(has_lines)
    orders["status"] = orders["status"].replace(
        {"in_progress": "released", "rejected": "cancelled"}
    )
    orders["hold_reason"] = orders["hold_reason"].where(orders["status"] == "held")
    shipments = frames["shipments"]
    shipments["service_code"] = pd.Series(pd.NA, index=shipments.index, dtype="string[pyarrow]")
    stock = frames["stock"]
    frames["stock"] = stock[(stock[["on_hand", "allocated", "available"]] != 0).any(axis=1)]
    return frames


def assert_frames_equal(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert sorted(actual) == sorted(expected)
    for file, frame in expected.items():
        keys = KEYS[file]
        left = actual[file].sort_values(keys).reset_index(drop=True)
        right = frame.sort_values(keys).reset_index(drop=True)[list(left.columns)]
        pd.testing.assert_frame_equal(left, right, check_dtype=True, obj=file)


def test_a_full_pull_reads_back_the_served_world(cin7: Simulator, world: Bundle) -> None:
    connector = connect(cin7)

    result = connector.pull()

    assert result.complete is True
    assert result.quarantined == []
    assert_frames_equal(result.frames, expected_frames(world))
    # Per page of 1000: 1 sale list + 52 sales, 1 product list, 1 availability list,
    # 1 adjustment list + 46 adjustments.
    assert result.requests == 1 + 52 + 1 + 1 + 1 + 46
    assert cin7.stats()["statuses"] == {"200": result.requests}


def test_it_walks_every_page_and_drops_repeated_records(cin7: Simulator, world: Bundle) -> None:
    cin7.set_faults(duplicate_pages=True)  # each page repeats the previous page's last record
    connector = connect(cin7, options={"page_limit": 10})

    result = connector.pull()

    assert_frames_equal(result.frames, expected_frames(world))
    paths = [entry[2] for entry in cin7.log]
    # 52 sales at 10 a page, each page after the first repeating one: 6 pages, the last short.
    assert paths.count("/ExternalApi/v2/saleList") == 6
    assert paths.count("/ExternalApi/v2/sale") == 52
    assert paths.count("/ExternalApi/v2/stockadjustmentList") == 6


def test_a_delta_reads_only_sales_changed_since(cin7: Simulator) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    cin7.app.touch("SO5800001", status="dispatched")
    cin7.app.touch("SO5800004", status="cancelled")
    connector = connect(cin7)

    result = connector.pull(since=since, files=("orders", "shipments"))

    assert result.complete is False
    assert sorted(result.frames) == ["order_lines", "orders", "shipments"]
    orders = result.frames["orders"]
    assert orders.set_index("order_ref")["status"].to_dict() == {
        "SO5800001": "dispatched",
        "SO5800004": "cancelled",
    }
    sale_lists = [e for e in cin7.log if e[2].endswith("/saleList")]
    assert len(sale_lists) == 1
    assert result.requests == 3  # the list and the two changed sales


def test_a_stock_poll_reads_stock_alone_and_is_not_a_complete_snapshot(cin7: Simulator) -> None:
    result = connect(cin7).pull(files=("stock",))

    assert sorted(result.frames) == ["stock"]
    assert result.complete is False
    assert result.requests == 1


def test_refused_credentials_are_a_permanent_failure(cin7: Simulator) -> None:
    connector = connector_for(
        settings_for(cin7.url, {"account_id": "sim-account", "application_key": "wrong"}),
        rate_limit=None,
    )

    with pytest.raises(ConnectorError) as caught:
        connector.pull()

    assert caught.value.permanent is True
    assert caught.value.status == 401
    assert cin7.requests == 1  # never retried


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_waits_out_retry_after(cin7: Simulator, world: Bundle, status: int) -> None:
    if status == 429:
        cin7.set_faults(throttle_next=2, retry_after=7)
    else:
        cin7.set_faults(fail_next=2, error_status=503)
    sleeps: list[float] = []
    connector = connect(cin7, sleeps, backoff=0.5, jitter=0.0)

    result = connector.pull(files=("stock",))

    assert len(result.frames["stock"]) == len(expected_frames(world)["stock"])
    assert result.requests == 3
    # 429 carries Retry-After: 7 s; the bare 503s fall back to exponential backoff.
    assert sleeps == ([7.0, 7.0] if status == 429 else [1.0, 2.0])


@pytest.mark.slow
@pytest.mark.parametrize("status", [429, 503])
def test_cin7s_own_rate_limit_answer_is_waited_out(
    simulator: Callable[..., Simulator], status: int
) -> None:
    # A client that does not pace itself (rate_limit=None) runs into the simulator's limit of
    # 5 calls a second: every refusal carries Retry-After, which the client honours.
    sim = simulator("cin7_core", rate_limit=5, rate_period=1.0, rate_status=status)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    connector = connect(sim, sleep=sleep, retries=6)
    for _ in range(7):
        connector.client.get("saleList", params={"Page": 1, "Limit": 1})

    statuses = sim.stats()["statuses"]
    assert statuses["200"] == 7
    assert statuses[str(status)] == len(waits) >= 1
    assert set(waits) == {1.0}  # Retry-After: 1 (the rest of the window, rounded up)


@pytest.mark.slow
def test_a_full_pull_never_exceeds_60_calls_in_any_window(
    simulator: Callable[..., Simulator], world: Bundle
) -> None:
    # Cin7's limit with the minute scaled down to one second: the simulator refuses the 61st
    # call in any second, the connector's bucket paces itself to the same 60 a "minute".
    sim = simulator("cin7_core", rate_limit=60, rate_period=1.0, rate_status=503)
    connector = connect(sim, rate_limit=RateLimit(60, 1.0))

    started = time.monotonic()
    result = connector.pull()
    elapsed = time.monotonic() - started

    assert result.requests == 102
    assert sim.stats()["statuses"] == {"200": 102}  # never refused
    assert sim.max_in_window(1.0) <= 60
    # 6 at once, then 54 a second: the 102nd call cannot start before (102 - 6) / 54 s.
    assert elapsed >= (102 - 6) / 54
    assert_frames_equal(result.frames, expected_frames(world))


def test_a_hanging_server_is_a_transient_failure_after_retries(cin7: Simulator) -> None:
    cin7.set_faults(hang_next=3, hang_seconds=5)
    sleeps: list[float] = []
    connector = connect(cin7, sleeps, retries=2, timeouts=Timeouts(connect=1.0, read=0.2))

    with pytest.raises(ConnectorError) as caught:
        connector.pull(files=("stock",))

    assert caught.value.permanent is False
    assert "timed out (ReadTimeout) after retries" in str(caught.value)
    assert connector.client.requests == 3
    assert len(sleeps) == 2


def test_a_malformed_answer_fails_the_pull_permanently(cin7: Simulator) -> None:
    cin7.set_faults(malformed_next=1)

    with pytest.raises(ConnectorError) as caught:
        connect(cin7).pull(files=("stock",))

    assert caught.value.permanent is True
    assert "malformed JSON" in str(caught.value)


def test_bad_records_are_quarantined_and_the_rest_goes_on(cin7: Simulator, world: Bundle) -> None:
    sales = {d["Order"]["SaleOrderNumber"]: d for d in cin7.app.sales.values()}
    sales["SO5800003"]["Order"]["Lines"][0]["Quantity"] = "two"
    sales["SO5800005"]["Status"] = "MISLAID"
    sales["SO5800006"]["SaleOrderDate"] = "yesterday"
    gone = sales["SO5800007"]["ID"]
    del cin7.app.sales[gone]  # listed by saleList below, but its detail answers 404
    cin7.app._cache[("sales", None)] = [
        connectors.simulators.cin7.sale_summary(d) for d in sales.values()
    ]

    result = connect(cin7).pull(files=("orders",))

    reasons = {(q.file, q.ref): q.reason for q in result.quarantined}
    assert reasons == {
        ("orders", "SO5800003"): "line 1 Quantity 'two' is not a number",
        ("orders", "SO5800005"): "status 'MISLAID' is not a Cin7 sale status this connector knows",
        ("orders", "SO5800006"): "orders: placed_at 'yesterday' is not an ISO 8601 timestamp",
        ("orders", "SO5800007"): (
            f"listed, but sale answered 404: GET {cin7.url}/ExternalApi/v2/sale: "
            "HTTP 404 (Sale not found)"
        ),
    }
    refs = set(result.frames["orders"]["order_ref"])
    assert len(refs) == 52 - 4
    assert not refs & {"SO5800003", "SO5800005", "SO5800006", "SO5800007"}
    # A quarantined order takes its lines and parcels with it.
    assert set(result.frames["order_lines"]["order_ref"]) <= refs
    assert set(result.frames["shipments"]["order_ref"]) <= refs
    first = next(q for q in result.quarantined if q.ref == "SO5800003")
    assert first.payload["Order"]["Lines"][0]["Quantity"] == "two"  # kept as received


def test_check_names_what_answered(cin7: Simulator) -> None:
    assert connect(cin7).check() == "Cin7 Core answered: 52 sales"


@pytest.mark.django_db
def test_a_delta_sync_lays_changed_sales_over_the_last_snapshot(cin7: Simulator) -> None:
    connection = Connection(
        name="Cin7", kind="cin7_core", role="erp", base_url=f"{cin7.url}/ExternalApi/v2"
    )
    connection.set_credentials(CREDENTIALS)
    connection.save()
    no_limit = {"rate_limit": None}  # the limit has its own tests; this one is about the sync
    full = run_sync(connection.pk, "full", client_options=no_limit)
    cin7.app.touch("SO5800001", status="dispatched")
    before = cin7.requests

    delta = run_sync(connection.pk, "delta", client_options=no_limit)

    delta.refresh_from_db()
    assert (full.state, delta.state, delta.kind) == ("complete", "complete", "delta")
    assert cin7.requests - before == 1 + 1 + 1 + 1 + 1  # sales, one sale, products, stock, adj.
    saved = load_bundle([delta.snapshot], as_of=delta.snapshot.taken_at, currency="")
    orders = saved.frame("erp", "orders").set_index("order_ref")
    assert len(orders) == 52
    assert orders.loc["SO5800001", "status"] == "dispatched"
    assert len(saved.frame("erp", "order_lines")) == 93


def test_the_simulator_also_answers_at_its_bare_address(cin7: Simulator) -> None:
    # As `manage.py devstack` points a connection at it: no /ExternalApi/v2 in the base URL.
    connector = connector_for(
        ConnectionSettings(
            name="Cin7 bare",
            kind="cin7_core",
            role="erp",
            base_url=cin7.url,
            credentials=CREDENTIALS,
        ),
        rate_limit=None,
    )
    assert connector.check() == "Cin7 Core answered: 52 sales"


def test_a_naive_since_is_taken_as_utc(cin7: Simulator) -> None:
    connect(cin7).pull(since=datetime(2026, 10, 30, 8, 0), files=("orders",))

    assert cin7.log[0][2] == "/ExternalApi/v2/saleList"
    assert cin7.app._cache.keys() == {("sales", datetime(2026, 10, 30, 8, 0, tzinfo=UTC))}
