"""Hostile API records, property-based: every connector's mapping, fed arbitrary JSON or a valid
record with random parts replaced, deleted or nested wrongly, gives canonical rows or quarantines
the record with a reason — never an exception. The answers' parsers (JSON, Prima's XML, the CSV
files of Prima and Whistl) give records or a permanent ConnectorError.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError
from connectors.http import parse_json, parse_xml
from connectors.prima import _read_csv as prima_read_csv
from connectors.prima.mapping import element_record
from connectors.records import Batch
from connectors.whistl.files import read_csv as whistl_read_csv
from reconciliation.frames import SCHEMAS
from tests.hardening.connector_seeds import CASES, PRIMA, Case, prima_order_xml

FUZZ = settings(deadline=None)  # as many examples as the profile says (tests/conftest.py)
BY_NAME = {case.name: case for case in CASES}
# The mappings by system ("woocommerce order" → "woocommerce"): one property test each.
SYSTEMS: dict[str, list[Case]] = {}
for _case in CASES:
    SYSTEMS.setdefault(_case.name.split()[0], []).append(_case)

# Values that API clients have choked on: numbers too big, too precise or not numbers at all,
# text no database column can hold, odd dates and unhashable ids.
HOSTILE: list[Any] = [
    None,
    "",
    " ",
    True,
    0,
    -1,
    2**70,
    1e308,
    float("nan"),
    float("inf"),
    "1e999999",  # int() of it took over a minute: now refused as too large
    "-1e999999",
    "1e-999999",
    "12345678901234567890123456789.123456",  # money() raised InvalidOperation
    "NaN",
    "Infinity",
    "0x10",
    "1,5",
    "2026-02-30T00:00:00",
    "0000-00-00 00:00:00",
    "9999-12-31T23:59:59Z",
    "\ud800",  # a lone surrogate (JSON allows it): pyarrow raised UnicodeEncodeError
    "nul\x00byte",
    "x" * 200_000,
    [],
    {},
    [1, [2]],
    {"value": {"value": 1}},
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(HOSTILE[:24]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document: dict keys and list indexes, depth first."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """The seed with 1–4 places replaced (by a hostile or arbitrary value), deleted, or wrapped."""
    record = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(record)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = record
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["hostile", "hostile", "any", "delete", "wrap"]))
        if action == "hostile":
            parent[last] = copy.deepcopy(draw(st.sampled_from(HOSTILE)))  # HOSTILE is shared
        elif action == "any":
            parent[last] = draw(json_values)
        elif action == "delete":
            del parent[last]
        else:
            parent[last] = [parent[last]]
    return record


def map_all(case: Case, records: list[Any]) -> Batch:
    """The connector's way: map each record into a batch, then validate the batch."""
    batch = Batch("fuzz")
    for file, payload, mapper, ref in case.context:
        batch.map(file, payload, mapper, ref=ref)
    for record in records:
        batch.map(case.file, record, case.mapper, ref=case.ref)
    frames = batch.frames(case.files)
    for file, frame in frames.items():
        assert list(frame.columns[: len(SCHEMAS[file])]) == list(SCHEMAS[file])
    for item in batch.quarantined:
        assert isinstance(item.reason, str)
        assert item.reason.strip()
    if case.one_row_in is not None:
        # Each record is either a row of its file or quarantined: none lost, none twice.
        mapped = len(case.context) + len(records)
        assert len(frames[case.one_row_in]) + len(batch.quarantined) == mapped
    return batch


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_seed_maps_without_quarantine(case: Case) -> None:
    batch = map_all(case, [case.seed])
    assert batch.quarantined == []


@pytest.mark.parametrize("system", sorted(SYSTEMS))
@FUZZ
@given(data=st.data())
def test_a_mutated_record_gives_rows_or_a_reason(system: str, data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(SYSTEMS[system]))
    records = data.draw(st.lists(mutated(case.seed), min_size=1, max_size=3))
    map_all(case, records)


@pytest.mark.parametrize("system", sorted(SYSTEMS))
@FUZZ
@given(data=st.data())
def test_arbitrary_json_gives_rows_or_a_reason(system: str, data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(SYSTEMS[system]))
    map_all(case, data.draw(st.lists(json_values, min_size=1, max_size=3)))


@pytest.mark.parametrize("value", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_every_hostile_value_in_every_top_level_field(value: Any) -> None:
    """Exhaustive rather than sampled: each hostile value in each field of each seed (one batch
    per mapping: records that share a ref are quarantined as duplicates, after being mapped)."""
    for case in CASES:
        map_all(case, [{**case.seed, key: copy.deepcopy(value)} for key in case.seed])


# -- the answers' parsers ------------------------------------------------------------------------


def _response(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, request=httpx.Request("GET", "http://127.0.0.1/x"))


def value_or_permanent_error(call: Callable[[], Any]) -> Any:
    """What `call` returns, or the ConnectorError it raised — which must be permanent (a retry
    gets the same answer). Any other exception propagates: that is the crash looked for."""
    try:
        return call()
    except ConnectorError as exc:
        error = exc
    assert error.permanent, error
    return error


@FUZZ
@given(body=st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode()))
@example(body=b"[" * 100_000)  # json.loads raised RecursionError, not a ValueError
@example(body=b'{"a": "\\ud800"}')
def test_a_json_answer_is_a_value_or_a_permanent_error(body: bytes) -> None:
    outcome = value_or_permanent_error(lambda: parse_json(_response(body)))
    if isinstance(outcome, ConnectorError):
        assert "malformed JSON" in str(outcome)


XML = prima_order_xml()
xml_snippets = st.sampled_from(
    [b"<", b">", b"</SalesOrder>", b"<Line>", b"&amp;", b"&bogus;", b"\x00", b"\xff", b"]]>"]
) | st.binary(max_size=8)


@st.composite
def mutated_xml(draw: st.DrawFn) -> bytes:
    data = XML
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        inserted = draw(xml_snippets) if draw(st.booleans()) else None
        data = data[:at] + inserted + data[at:] if inserted is not None else data[:at]
    return data


@FUZZ
@given(body=mutated_xml() | st.binary(max_size=1024))
@example(body=b"<R><SalesOrders>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</SalesOrders></R>")
@example(body=b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
@example(body=b'<?xml version="1.0" encoding="u-tf-8"?><R/>')  # LookupError escaped
@example(body=b'<?xml version="1.0" encoding="shift_jis"?><R/>')  # so did ValueError
def test_a_prima_answer_gives_records_or_a_permanent_error(body: bytes) -> None:
    def records() -> list[dict[str, Any]]:
        answer = parse_xml(_response(body))
        container = answer.find(PRIMA.requests["orders"]["container"])
        elements = list(container) if container is not None else []
        return [element_record(element) for element in elements]

    outcome = value_or_permanent_error(records)
    if not isinstance(outcome, ConnectorError):
        map_all(BY_NAME["prima order"], outcome)


def test_the_prima_xml_seed_maps_without_quarantine() -> None:
    answer = parse_xml(_response(XML))
    records = [element_record(e) for e in answer.find(PRIMA.requests["orders"]["container"])]
    assert map_all(BY_NAME["prima order"], records).quarantined == []


csv_bodies = st.binary(max_size=2048) | st.text(max_size=400).map(str.encode)


@FUZZ
@given(body=csv_bodies)
@example(body=b"a,b\n" + b"x" * 200_000 + b",1\n")  # csv raised "field larger than field limit"
@example(body=b"a,b\r1,2\r")
def test_a_csv_file_gives_rows_or_a_permanent_error(tmp_path_factory: Any, body: bytes) -> None:
    path = tmp_path_factory.mktemp("csv") / "StockLevels_1.csv"
    path.write_bytes(body)
    for read in (lambda: prima_read_csv(path), lambda: whistl_read_csv(body, path.name)):
        rows = value_or_permanent_error(read)
        if isinstance(rows, ConnectorError):
            continue
        assert all(isinstance(row, dict) for row in rows)
        batch = Batch("fuzz")
        for row in rows:
            batch.map("stock", row, lambda r: PRIMA.flat_rows("stock", r), ref=lambda r: "")
        batch.frames(["stock"])
