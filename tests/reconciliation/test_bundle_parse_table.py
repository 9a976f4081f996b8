"""parse_table on its own: the per-file validation connectors reuse for tables built from records."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from reconciliation.bundle import Problem, Problems, parse_table
from reconciliation.frames import SCHEMAS


def test_it_converts_a_table_of_strings_and_reports_nothing() -> None:
    table = pa.table(
        {
            "order_ref": ["SO1", "SO2"],
            "status": ["Released", "open"],
            "placed_at": ["2026-11-30T10:00:00Z", "2026-11-30T11:00:00+01:00"],
            "gross_total": ["12.5", None],
        }
    )

    frame, problems = parse_table("orders", table, label="erp (prima API)")

    assert list(problems) == []
    assert not problems
    assert list(frame.columns) == list(SCHEMAS["orders"])
    assert frame["status"].tolist() == ["released", "open"]
    assert frame["gross_total"].tolist() == [125_000, pd.NA]
    assert frame["placed_at"].tolist() == [
        pd.Timestamp("2026-11-30T10:00:00", tz="UTC"),
        pd.Timestamp("2026-11-30T10:00:00", tz="UTC"),
    ]


def test_problems_carry_the_label_line_and_column() -> None:
    table = pa.table({"order_ref": ["SO1", "SO2"], "status": ["open", "shiped"]})

    frame, problems = parse_table("orders", table, label="erp (prima API)")

    assert list(problems) == [
        Problem("erp (prima API)", None, "placed_at", "missing required column 'placed_at'"),
        Problem("erp (prima API)", 3, "status", "status 'shiped' is not a canonical status"),
    ]
    # The frame still comes back, the invalid cell as <NA>, for callers that want it.
    assert frame["status"].tolist() == ["open", pd.NA]


def test_columns_that_are_not_strings_are_read_as_their_text() -> None:
    table = pa.table(
        {
            "sku": pa.array(["A", "B"], type=pa.large_string()),
            "on_hand": pa.array([3, -1]),
            "allocated": pa.array([None, None], type=pa.null()),
        }
    )

    frame, problems = parse_table("stock", table, label="wms api")

    assert list(problems) == []
    assert frame["on_hand"].tolist() == [3, -1]
    assert frame["available"].tolist() == [pd.NA, pd.NA]


def test_order_refs_are_checked_when_given() -> None:
    table = pa.table(
        {
            "order_ref": ["SO1", "SO9"],
            "line_no": ["1", "1"],
            "sku": ["A", "A"],
            "quantity": ["1", "1"],
        }
    )

    _, problems = parse_table(
        "order_lines", table, label="lines", order_refs=["SO1"], orders_label="orders"
    )

    assert [str(problem) for problem in problems] == [
        "lines line 3: order_ref 'SO9' is not in orders"
    ]


def test_a_shared_collection_keeps_counting_past_its_limit() -> None:
    table = pa.table({"sku": ["A"] * 5, "is_stock_item": ["maybe"] * 5})
    problems = Problems(limit=2)

    parse_table("products", table, label="p", problems=problems)

    assert [str(problem) for problem in problems] == [
        "p line 2: is_stock_item 'maybe' is not a boolean (true/false, yes/no, 1/0)",
        "p line 3: is_stock_item 'maybe' is not a boolean (true/false, yes/no, 1/0)",
    ]
    # 5 bad booleans and 4 duplicate skus
    assert problems.total == 9
    assert problems.omitted == 7


def test_an_empty_table_gives_an_empty_canonical_frame() -> None:
    table = pa.table({"sku": pa.array([], type=pa.string())})

    frame, problems = parse_table("products", table, label="p")

    assert list(problems) == []
    assert list(frame.columns) == list(SCHEMAS["products"])
    assert len(frame) == 0


def test_surrounding_whitespace_is_trimmed_wherever_it_is() -> None:
    cells = ["", "A", "  ", "B ", "\tC", "\u00a0D", "E\u3000", "F G", "H\n", ""]
    table = pa.table({"sku": [f"S{i}" for i in range(len(cells))], "name": cells})

    frame, problems = parse_table("products", table, label="p")

    assert list(problems) == []
    assert frame["name"].tolist() == [pd.NA, "A", pd.NA, "B", "C", "D", "E", "F G", "H", pd.NA]


def test_a_column_without_surrounding_whitespace_is_left_as_it_is() -> None:
    table = pa.table({"sku": ["A", "B", "C"], "name": ["x y", "", "z"]})

    frame, _ = parse_table("products", table, label="p")

    assert frame["sku"].tolist() == ["A", "B", "C"]
    assert frame["name"].tolist() == ["x y", pd.NA, "z"]
