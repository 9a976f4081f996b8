"""connectors.records: API records become validated frames; a failing record is quarantined whole
and the rest of the batch is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connectors.base import Quarantined
from connectors.http import Page
from connectors.records import (
    Batch,
    RecordError,
    Rows,
    Tracker,
    decimal_text,
    in_utc,
    joined,
    money,
    number,
    rate,
    text,
    utc,
    whole,
)


def order(ref: str, status: str = "open", quantity: str = "1") -> Rows:
    return {
        "orders": [{"order_ref": ref, "status": status, "placed_at": "2026-11-01T10:00:00Z"}],
        "order_lines": [{"order_ref": ref, "line_no": "1", "sku": "TEE-S", "quantity": quantity}],
    }


def test_good_records_become_frames_with_canonical_types() -> None:
    batch = Batch("shop")
    batch.add("orders", "A1", {"id": 1}, order("A1"))
    batch.add("orders", "A2", {"id": 2}, order("A2", quantity="3"))

    frames = batch.frames(["orders", "order_lines"])

    assert frames["orders"]["order_ref"].tolist() == ["A1", "A2"]
    assert str(frames["orders"]["placed_at"].dtype) == "datetime64[ns, UTC]"
    assert frames["order_lines"]["quantity"].tolist() == [1, 3]
    assert batch.quarantined == []


def test_a_record_with_one_bad_row_is_quarantined_whole_with_the_reason() -> None:
    batch = Batch("shop")
    batch.add("orders", "A1", {"id": 1}, order("A1"))
    batch.add("orders", "A2", {"id": 2}, order("A2", quantity="2.5"))
    batch.add("orders", "A3", {"id": 3}, order("A3", status="shiped"))

    frames = batch.frames(["orders", "order_lines"])

    assert frames["orders"]["order_ref"].tolist() == ["A1"]
    assert frames["order_lines"]["order_ref"].tolist() == ["A1"]
    assert batch.quarantined == [
        Quarantined("orders", "order_lines: quantity '2.5' is not a whole number", {"id": 2}, "A2"),
        Quarantined("orders", "orders: status 'shiped' is not a canonical status", {"id": 3}, "A3"),
    ]


def test_the_second_of_two_records_with_one_key_is_quarantined() -> None:
    batch = Batch("shop")
    batch.add("orders", "A1", {"id": 1}, order("A1"))
    batch.add("orders", "A1", {"id": 9}, order("A1"))

    frames = batch.frames(["orders", "order_lines"])

    assert frames["orders"]["order_ref"].tolist() == ["A1"]
    assert len(frames["order_lines"]) == 1
    assert [(q.payload, q.reason) for q in batch.quarantined] == [
        ({"id": 9}, "orders: duplicate order_ref 'A1'")
    ]


def test_mapping_errors_and_unexpected_shapes_are_quarantined_by_map() -> None:
    def mapper(record: dict) -> tuple[str, Rows]:
        if record.get("bad"):
            raise RecordError("status 'x' is not in the status map")
        return record["ref"], order(record["ref"])

    batch = Batch("shop")
    batch.map("orders", {"ref": "A1"}, mapper, ref=lambda r: r.get("ref"))
    batch.map("orders", {"ref": "A2", "bad": True}, mapper, ref=lambda r: r.get("ref"))
    batch.map("orders", {"no": "ref"}, mapper, ref=lambda r: r.get("ref"))
    batch.map("orders", "not an object", mapper, ref=lambda r: r.get("ref"))

    frames = batch.frames(["orders", "order_lines"])

    assert frames["orders"]["order_ref"].tolist() == ["A1"]
    assert [(q.ref, q.reason) for q in batch.quarantined] == [
        ("A2", "status 'x' is not in the status map"),
        ("", "unreadable record (KeyError: 'ref')"),
        ("", "expected a JSON object, got str"),
    ]


def test_a_line_whose_order_failed_goes_with_it_and_files_not_asked_for_are_left_out() -> None:
    batch = Batch("shop")
    rows = order("A1")
    rows["orders"][0]["placed_at"] = "yesterday"
    batch.add("orders", "A1", {}, rows)
    batch.add("products", "TEE-S", {}, {"products": [{"sku": "TEE-S", "name": "Tee"}]})

    frames = batch.frames(["orders", "order_lines"])

    assert set(frames) == {"orders", "order_lines"}
    assert (len(frames["orders"]), len(frames["order_lines"])) == (0, 0)
    assert [q.reason for q in batch.quarantined] == [
        "orders: placed_at 'yesterday' is not an ISO 8601 timestamp"
    ]


def test_a_record_with_an_empty_row_is_refused_before_validation() -> None:
    batch = Batch("shop")
    batch.add("products", "", {"x": 1}, {"products": [{"sku": None, "name": None}]})

    assert batch.records == []
    assert [q.reason for q in batch.quarantined] == ["products: the record has no readable fields"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.5, Decimal("12.5")),
        (40.8333, Decimal("40.8333")),
        ("7.10", Decimal("7.10")),
        (3, Decimal(3)),
        (None, None),
        ("  ", None),
    ],
)
def test_numbers_are_read_exactly(value: object, expected: Decimal | None) -> None:
    assert number(value, "x") == expected


@pytest.mark.parametrize("value", ["ten", True, float("nan")])
def test_what_is_not_a_number_is_a_record_error(value: object) -> None:
    with pytest.raises(RecordError, match="x .* is not a number"):
        number(value, "x")


def test_cells() -> None:
    assert [text("  a "), text(""), text(None)] == ["a", None, None]
    assert money("12.50") == "12.50"
    assert money(0.1 + 0.2) == "0.3000"  # 0.30000000000000004 → four places
    assert decimal_text(Decimal("1.23456")) == "1.2346"
    assert [whole(2.0, "q"), whole("3.0000", "q"), whole(None, "q")] == ["2", "3", None]
    assert [rate(20), rate("17.5"), rate(0), rate(None)] == ["0.2", "0.175", "0", None]
    assert utc("2026-11-27 07:56:50") == "2026-11-27T07:56:50Z"
    assert utc("2017-03-22T19:28:02") == "2017-03-22T19:28:02Z"
    assert utc("2022-06-23T15:47:12+02:00") == "2022-06-23T15:47:12+02:00"
    assert joined("Ada", None, " ", "Lovelace") == "Ada Lovelace"
    london = timezone(timedelta(hours=1))
    assert in_utc(datetime(2026, 6, 1, 12, 0)) == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert in_utc(datetime(2026, 6, 1, 12, 0, tzinfo=london)).hour == 11
    with pytest.raises(RecordError, match="q '2.5' is not a whole number"):
        whole("2.5", "q")


def test_the_tracker_sums_listings_and_counts_ones_without_totals() -> None:
    seen = []
    tracker = Tracker(seen.append, client=None)

    tracker.page("orders", Page(1, [1, 2], total_pages=3, total_records=6))
    tracker.page("orders", Page(2, [3, 4], total_pages=3, total_records=6))
    tracker.page("stock", Page(1, [5]))

    last = seen[-1]
    assert (last.pages_done, last.pages_total, last.records_done, last.records_total) == (
        3,
        4,
        5,
        7,
    )
