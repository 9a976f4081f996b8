"""Parse and validate one canonical file given as a table of strings.

The bundle reader feeds it CSV files; connectors can feed it tables built from API records and get
the same validation and the same messages. Every check is vectorised over the whole column; Python
only loops over failing rows, and only as many as the problem limit leaves room for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reconciliation.bundle.problems import Problems
from reconciliation.frames import (
    BOOL,
    FLOAT,
    INT,
    MONEY,
    MONEY_SCALE,
    PANDAS_DTYPES,
    REQUIRED,
    ROLES,
    SCHEMAS,
    SKU_MAP_SCHEMA,
    STATUSES,
    TEXT,
    TIME,
    UNIQUE,
)

# Sign, whole units (14 digits fit decimal(18, 4)) and up to 4 decimal places.
MONEY_PATTERN = r"^-?\d{1,14}(?:\.\d{1,4})?$"
INT_PATTERN = r"^-?\d{1,18}$"
# ISO 8601 extended format: a date, optionally a time (to the hour, minute, second or fraction)
# and an offset. Checked before parsing because pandas also takes words like "today".
TIMESTAMP_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
FLOAT_PATTERN = r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
TRUE_WORDS = ("true", "yes", "1")
SHOWN_CHARS = 80  # the longest cell value quoted whole in a problem
FALSE_WORDS = ("false", "no", "0")

KEYS: dict[str, tuple[str, ...]] = {**UNIQUE, "sku_map": ("role", "sku")}
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "order_lines": ("quantity",),
    "shipments": ("quantity",),
    "stock": ("allocated",),
}
# Text columns whose values come from a fixed list: accepted in any case, stored lower case.
CHOICES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("orders", "status"): (STATUSES, "is not a canonical status"),
    ("sku_map", "role"): (ROLES, "is not one of store, erp, wms"),
}

ARROW_TYPES: dict[str, pa.DataType] = {
    TEXT: pa.string(),
    MONEY: pa.int64(),
    INT: pa.int64(),
    FLOAT: pa.float64(),
    BOOL: pa.bool_(),
    TIME: pa.timestamp("ns", tz="UTC"),
}
_NULL_STRING = pa.scalar(None, pa.string())
# Money text is parsed as decimal(18, 4): four places are exactly MONEY_SCALE's ten-thousandths.
_MONEY_DECIMAL = pa.decimal128(18, len(str(MONEY_SCALE)) - 1)
_TIME_TYPE = ARROW_TYPES[TIME]
# The years a timestamp may have. Any two of them apart, or one plus or minus the largest
# setting (a million hours: 114 years), stays within what a nanosecond time difference holds
# (±292 years): the rules subtract and compare timestamps freely. (Pandas' own limits, 1677 to
# 2262, let "1677-09-22" through, and as_of minus it overflowed in the rules.)
FIRST_YEAR, LAST_YEAR = 1900, 2100
TIME_MIN = pd.Timestamp(f"{FIRST_YEAR}-01-01", tz="UTC")
TIME_MAX = pd.Timestamp(f"{LAST_YEAR + 1}-01-01", tz="UTC") - pd.Timedelta(1, "ns")
OUT_OF_RANGE = f"is outside the supported years {FIRST_YEAR} to {LAST_YEAR}"


def schema_of(file: str) -> dict[str, str]:
    return SKU_MAP_SCHEMA if file == "sku_map" else SCHEMAS[file]


def parse_table(
    file: str,
    table: pa.Table,
    *,
    label: str,
    problems: Problems | None = None,
    order_refs: Any = None,
    orders_label: str = "orders.csv",
) -> tuple[pd.DataFrame, Problems]:
    """Validate `table` (one canonical `file`, every cell a string) and convert it to a frame.

    Problems are added to `problems` (a new collection when None) with `label` as their file and
    record numbers as lines (header = 1). `order_refs`, when given for order_lines or shipments, are
    the order_refs of the same role's orders; rows whose order_ref is not among them are reported as
    missing from `orders_label`. The frame is returned even when there are problems (invalid cells
    are <NA>); callers decide whether to use it.
    """
    problems = problems if problems is not None else Problems()
    start = len(problems.items)
    schema = schema_of(file)
    columns = _clean_header(table, label, problems)
    for column in REQUIRED[file]:
        if column not in columns:
            problems.add(label, f"missing required column '{column}'", column=column)
    rows = _Rows(label, columns, problems)
    for column, cells in rows.cells.items():
        if _may_hold_nul(cells):
            # PostgreSQL text and jsonb cannot store NUL: refuse it here, with its line.
            rows.report(
                pc.match_substring(cells, "\x00"),
                column,
                lambda _i, c=column: f"{c} contains a NUL character",
            )

    values: dict[str, pa.ChunkedArray] = {}
    for column, kind in schema.items():
        if column not in columns:
            continue
        cells = rows.cells[column]
        if column in REQUIRED[file]:
            rows.report(
                pc.is_null(cells), column, lambda _i, c=column: f"{c} is required but empty"
            )
        values[column] = _convert(file, column, kind, cells, rows)

    for column in NON_NEGATIVE.get(file, ()):
        if column in values:
            column_values = values[column]
            rows.report(
                pc.less(column_values, 0),
                column,
                lambda i, c=column, v=column_values: f"{c} {v[i].as_py()} is negative",
            )
    _check_unique(KEYS.get(file, ()), values, rows)
    if order_refs is not None and "order_ref" in values:
        _check_order_refs(values["order_ref"], order_refs, orders_label, rows)

    _fill_defaults(file, values, rows.count)
    frame = _to_frame(schema, values, rows)
    order = {column: position for position, column in enumerate(columns)}
    problems.items[start:] = sorted(
        problems.items[start:], key=lambda p: (p.line or 0, order.get(p.column or "", -1))
    )
    return frame, problems


class _Rows:
    """The cleaned cells of a table and a way to report failing rows by their record number."""

    def __init__(self, label: str, columns: dict[str, pa.ChunkedArray], problems: Problems) -> None:
        self.label = label
        self.problems = problems
        # A record whose cells are all empty (a blank line, or Excel's trailing ",,,,") is dropped;
        # the others keep their record numbers for messages.
        blank = None
        for cells in columns.values():
            blank = pc.is_null(cells) if blank is None else pc.and_(blank, pc.is_null(cells))
        self.lines: np.ndarray | None = None
        if blank is not None and pc.any(blank).as_py():
            keep = pc.invert(blank)
            self.lines = np.flatnonzero(_mask(keep)) + 2
            columns = {name: cells.filter(keep) for name, cells in columns.items()}
        self.cells = columns
        self.count = len(next(iter(columns.values()))) if columns else 0

    def line(self, index: int) -> int:
        return int(self.lines[index]) if self.lines is not None else index + 2

    def report(self, failing: Any, column: str, message: Callable[[int], str]) -> None:
        """Add a problem for each failing row (a boolean array; null counts as passing)."""
        indexes = np.flatnonzero(_mask(failing))
        shown = indexes[: self.problems.room]
        for index in shown:
            position = int(index)
            self.problems.add(
                self.label, message(position), line=self.line(position), column=column
            )
        self.problems.skip(len(indexes) - len(shown))


def _mask(values: Any) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return pc.fill_null(values, False).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=bool)


def _clean_header(table: pa.Table, label: str, problems: Problems) -> dict[str, pa.ChunkedArray]:
    """Header names stripped, nameless empty columns dropped, every cell trimmed text or null."""
    columns: dict[str, pa.ChunkedArray] = {}
    for position, (raw_name, raw_cells) in enumerate(
        zip(table.column_names, table.columns, strict=True), start=1
    ):
        name = raw_name.strip()
        cells = _clean_cells(raw_cells)
        if not name:
            if cells.null_count < len(cells):
                problems.add(label, f"column {position} has values but no name in the header")
        elif name in columns:
            problems.add(
                label, f"column '{name}' appears more than once in the header", column=name
            )
        elif "\x00" in name:  # an extra column's name is stored in jsonb, which refuses NUL
            problems.add(label, f"column {position}'s name contains a NUL character", line=1)
        else:
            columns[name] = cells
    return columns


def _clean_cells(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_string(cells.type):
        cells = cells.cast(pa.string())
    return pa.chunked_array([_clean_chunk(chunk) for chunk in cells.chunks], type=pa.string())


def _clean_chunk(chunk: pa.StringArray) -> pa.StringArray:
    """Trimmed, with empty (or all-whitespace) cells null."""
    if _may_need_trim(chunk):
        chunk = pc.utf8_trim_whitespace(chunk)
    empty = pc.fill_null(pc.equal(pc.binary_length(chunk), 0), True)
    if not pc.any(empty).as_py():
        return chunk
    if chunk.offset:
        return pc.if_else(empty, _NULL_STRING, chunk)
    # Swap in a validity bitmap rather than copying every string through if_else.
    validity = pc.invert(empty).buffers()[1]
    _, offsets, data = chunk.buffers()
    return pa.StringArray.from_buffers(len(chunk), offsets, data, validity)


# Bytes a cell may start or end with when it has surrounding whitespace: ASCII whitespace, and any
# non-ASCII byte (Unicode spaces such as U+00A0). A false alarm only costs a trim.
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[[9, 10, 11, 12, 13, 32]] = True
_EDGE_BYTES[128:] = True


def _may_need_trim(chunk: pa.StringArray) -> bool:
    """Whether any cell starts or ends with a suspect byte: trimming copies the whole column's text,
    this only reads two bytes per cell (it keeps the read's peak memory ~10 % lower)."""
    _, offsets_buffer, data_buffer = chunk.buffers()
    if data_buffer is None or not len(chunk) or not data_buffer.size:
        return False
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4
    )
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    # An empty cell reads a neighbour's byte instead (clipped at the ends): at worst a false alarm.
    first = data.take(offsets[:-1], mode="clip")
    last = data.take(offsets[1:] - 1, mode="clip")
    return bool(_EDGE_BYTES[first].any() or _EDGE_BYTES[last].any())


def _convert(
    file: str, column: str, kind: str, cells: pa.ChunkedArray, rows: _Rows
) -> pa.ChunkedArray:
    """Typed values of one column; invalid cells are reported and become null."""

    def checked(valid: Any, what: str, text: pa.ChunkedArray = cells) -> pa.ChunkedArray:
        """`text` with the cells that are given but not `valid` reported and made null."""
        failing = pc.and_(pc.is_valid(cells), pc.invert(pc.fill_null(valid, True)))
        if not pc.any(failing).as_py():
            return text
        rows.report(failing, column, lambda i: f"{column} '{_shown(cells[i].as_py())}' {what}")
        return pc.if_else(failing, _NULL_STRING, text)

    if kind == TEXT:
        choice = CHOICES.get((file, column))
        if choice is None:
            return cells
        allowed, what = choice
        lowered = pc.utf8_lower(cells)
        return checked(pc.is_in(lowered, value_set=pa.array(allowed)), what, lowered)
    if kind == MONEY:
        valid = pc.match_substring_regex(cells, MONEY_PATTERN)
        amounts = checked(valid, "is not a money amount (a decimal with up to 4 places)")
        return _ten_thousandths(amounts.cast(_MONEY_DECIMAL))
    if kind == INT:
        valid = pc.match_substring_regex(cells, INT_PATTERN)
        return checked(valid, "is not a whole number").cast(pa.int64())
    if kind == FLOAT:
        valid = pc.match_substring_regex(cells, FLOAT_PATTERN)
        return checked(valid, "is not a number").cast(pa.float64())
    if kind == BOOL:
        lowered = pc.utf8_lower(cells)
        true = pc.is_in(lowered, value_set=pa.array(TRUE_WORDS))
        false = pc.is_in(lowered, value_set=pa.array(FALSE_WORDS))
        checked(pc.or_(true, false), "is not a boolean (true/false, yes/no, 1/0)")
        return pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))
    if kind == TIME:
        try:
            # Arrow's parser is fast, takes only ISO 8601 forms that TIMESTAMP_PATTERN allows, and
            # refuses naive ones (and years past nanoseconds' range): those go the slower way.
            stamps = cells.cast(_TIME_TYPE)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            valid = pc.match_substring_regex(cells, TIMESTAMP_PATTERN)
            return _timestamps(column, checked(valid, "is not an ISO 8601 timestamp"), rows)
        return _within_years(column, stamps, cells, rows)
    raise ValueError(f"unknown column kind {kind!r}")


def _shown(value: str) -> str:
    """A cell as quoted in a message: a runaway value (a megabyte of text) is cut short."""
    return value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 1] + "…"


def _may_hold_nul(cells: pa.ChunkedArray) -> bool:
    """Whether any cell may contain a NUL byte: one scan of the raw text bytes (2 ms for 2 M
    cells; bytes outside the cells only cause a false alarm, which costs the exact check)."""
    for chunk in cells.chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size and np.frombuffer(data, dtype=np.uint8).min() == 0:
            return True
    return False


def _ten_thousandths(amounts: pa.ChunkedArray) -> pa.ChunkedArray:
    """The unscaled integers of decimal(18, 4) values: exactly the amount in ten-thousandths.

    Arrow parses the decimal text digit by digit (never through a float); a decimal128 is a
    little-endian 128-bit integer whose low 64 bits hold any value below 10^18 exactly.
    """
    chunks = []
    for chunk in amounts.chunks:
        validity, values = chunk.buffers()
        low_words = np.frombuffer(values, dtype=np.int64)[::2].copy()
        chunks.append(
            pa.Array.from_buffers(
                pa.int64(), len(chunk), [validity, pa.py_buffer(low_words)], offset=chunk.offset
            )
        )
    return pa.chunked_array(chunks, type=pa.int64())


_FIRST = pa.scalar(TIME_MIN.value, _TIME_TYPE)
_LAST = pa.scalar(TIME_MAX.value, _TIME_TYPE)


def _within_years(
    column: str, stamps: pa.ChunkedArray, cells: pa.ChunkedArray, rows: _Rows
) -> pa.ChunkedArray:
    """`stamps` with those outside FIRST_YEAR to LAST_YEAR reported and made null."""
    outside = pc.or_(pc.less(stamps, _FIRST), pc.greater(stamps, _LAST))
    if not pc.any(outside).as_py():
        return stamps
    rows.report(outside, column, lambda i: f"{column} '{_shown(cells[i].as_py())}' {OUT_OF_RANGE}")
    return pc.if_else(pc.fill_null(outside, False), pa.scalar(None, _TIME_TYPE), stamps)


def _timestamps(column: str, cells: pa.ChunkedArray, rows: _Rows) -> pa.ChunkedArray:
    """ISO 8601 text (already matching TIMESTAMP_PATTERN) to UTC, a naive one taken as UTC."""
    text = pd.Series(pd.arrays.ArrowStringArray(cells), copy=False)
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    given = text.notna().to_numpy()
    unparsed = given & parsed.isna().to_numpy()
    rows.report(
        unparsed, column, lambda i: f"{column} '{_shown(text[i])}' is not an ISO 8601 timestamp"
    )
    out_of_range = ((parsed < TIME_MIN) | (parsed > TIME_MAX)).to_numpy()
    rows.report(
        out_of_range,
        column,
        lambda i: f"{column} '{_shown(text[i])}' {OUT_OF_RANGE}",
    )
    parsed = parsed.mask(out_of_range).astype(PANDAS_DTYPES[TIME])
    return pa.chunked_array([pa.array(parsed, type=_TIME_TYPE)])


def parse_timestamp(value: str) -> pd.Timestamp | None:
    """One ISO 8601 timestamp in UTC (naive = UTC), or None when it is not one."""
    value = value.strip()
    if not re.fullmatch(TIMESTAMP_PATTERN, value):
        return None
    stamp = pd.to_datetime(value, format="ISO8601", utc=True, errors="coerce")
    if pd.isna(stamp) or not TIME_MIN <= stamp <= TIME_MAX:
        return None
    return stamp.as_unit("ns")


def _check_unique(keys: Sequence[str], values: dict[str, pa.ChunkedArray], rows: _Rows) -> None:
    if not keys or not all(key in values for key in keys):
        return
    # One integer per key: each part's dictionary code, combined positionally. A row with an empty
    # key part gets -1 and is left out (it is reported as empty already).
    codes = np.zeros(rows.count, dtype=np.int64)
    present = np.ones(rows.count, dtype=bool)
    for key in keys:
        encoded = pc.dictionary_encode(values[key].combine_chunks())
        part = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        present &= part >= 0
        codes = codes * len(encoded.dictionary) + part
    codes[~present] = -1
    if not pd.Series(codes[present]).duplicated().any():
        return
    # For each key code, the row where it first appears.
    seen, first = np.unique(codes, return_index=True)
    first_row = first[np.searchsorted(seen, codes)]
    duplicate = present & (first_row != np.arange(rows.count))

    def message(index: int) -> str:
        described = ", ".join(f"{key} '{values[key][index].as_py()}'" for key in keys)
        return f"duplicate {described} (first on line {rows.line(int(first_row[index]))})"

    rows.report(duplicate, keys[-1], message)


def _check_order_refs(
    refs: pa.ChunkedArray, order_refs: Any, orders_label: str, rows: _Rows
) -> None:
    known = order_refs if isinstance(order_refs, pa.Array) else pa.array(order_refs, pa.string())
    if isinstance(known, pa.ChunkedArray):
        known = known.combine_chunks()
    missing = pc.invert(pc.is_in(refs, value_set=known, skip_nulls=True))
    rows.report(
        pc.and_(pc.is_valid(refs), missing),
        "order_ref",
        lambda i: f"order_ref '{refs[i].as_py()}' is not in {orders_label}",
    )


def _fill_defaults(file: str, values: dict[str, pa.ChunkedArray], count: int) -> None:
    if file == "products":
        flags = values.get("is_stock_item", pa.chunked_array([pa.nulls(count, pa.bool_())]))
        values["is_stock_item"] = pc.fill_null(flags, True)
    if file == "stock" and {"on_hand", "allocated"} <= values.keys():
        derived = pc.subtract(values["on_hand"], values["allocated"])
        if "available" in values:
            values["available"] = pc.coalesce(values["available"], derived)
        else:
            values["available"] = derived


def _to_frame(
    schema: dict[str, str], values: dict[str, pa.ChunkedArray], rows: _Rows
) -> pd.DataFrame:
    """Canonical columns in schema order (missing ones all <NA>), then the extra columns as text."""
    data: dict[str, Any] = {}
    for column, kind in schema.items():
        if column in values:
            data[column] = _series(values[column], kind)
        else:
            nulls = pa.chunked_array([pa.nulls(rows.count, ARROW_TYPES[kind])])
            data[column] = _series(nulls, kind)
    for column, cells in rows.cells.items():
        if column not in schema:
            data[column] = _series(cells, TEXT)
    return pd.DataFrame(data, index=pd.RangeIndex(rows.count), copy=False)


def _series(values: pa.ChunkedArray, kind: str) -> pd.Series:
    if kind == TIME:
        return values.to_pandas()
    dtype = PANDAS_DTYPES[kind]
    if isinstance(dtype, str):
        dtype = pd.api.types.pandas_dtype(dtype)
    return pd.Series(dtype.__from_arrow__(values), copy=False)
