"""write_bundle: a `Bundle` to its canonical on-disk form, which read_bundle reads back as is."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from reconciliation.bundle.parse import schema_of
from reconciliation.frames import BOOL, FLOAT, INT, MONEY, MONEY_SCALE, TEXT, TIME, Bundle

# Arrow's "needed" quotes every text value; "none" refuses values with commas, quotes or newlines.
_PLAIN = pacsv.WriteOptions(include_header=False, quoting_style="none")
_QUOTED = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def write_bundle(bundle: Bundle, path: Path) -> Path:
    """Write `bundle` to a new directory, or to a zip (bundle at its root) when `path` ends .zip.

    Refuses to write into a non-empty directory or over an existing zip: stale files from an
    older bundle would be read back as part of this one.
    """
    path = Path(path)
    # One file's text at a time: a big bundle's CSVs are never all in memory at once.
    files = bundle_files(bundle)
    if path.suffix.lower() == ".zip":
        if path.exists():
            raise FileExistsError(f"{path} exists already")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(name, data)
        return path
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty")
    for name, data in files:
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for role in bundle.roles:
        (path / role).mkdir(parents=True, exist_ok=True)
    return path


def bundle_files(bundle: Bundle) -> Iterator[tuple[str, bytes]]:
    """(relative path, contents) of every file of the on-disk form, made one at a time."""
    manifest = {
        "as_of": timestamp_str(bundle.as_of),
        "currency": bundle.currency,
        "systems": {
            role: {"kind": snapshot.kind, "taken_at": timestamp_str(snapshot.taken_at)}
            for role, snapshot in bundle.roles.items()
        },
    }
    yield "bundle.json", _json_bytes(manifest)
    if bundle.config:
        yield "config.json", _json_bytes(bundle.config)
    if bundle.sku_map is not None and len(bundle.sku_map):
        yield "sku_map.csv", frame_csv("sku_map", bundle.sku_map)
    for role, snapshot in bundle.roles.items():
        for file, frame in snapshot.frames.items():
            if frame is not None:
                yield f"{role}/{file}.csv", frame_csv(file, frame)


def frame_csv(file: str, frame: pd.DataFrame) -> bytes:
    """One canonical frame as CSV: canonical columns first, then the extra ones, as in the frame."""
    schema = schema_of(file)
    columns = [column for column in schema if column in frame.columns]
    columns += [column for column in frame.columns if column not in schema]
    table = pa.table({column: _text(frame[column], schema.get(column, TEXT)) for column in columns})
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(columns)
    try:
        body = _csv_body(table, _PLAIN)
    except pa.ArrowInvalid:
        body = _csv_body(table, _QUOTED)
    return header.getvalue().encode("utf-8") + body


def _csv_body(table: pa.Table, options: pacsv.WriteOptions) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, write_options=options)
    return buffer.getvalue()


def timestamp_str(value: pd.Timestamp) -> str:
    return _timestamps(pa.array([value], type=pa.timestamp("ns", tz="UTC")))[0].as_py()


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _text(series: pd.Series, kind: str) -> pa.Array:
    if kind == MONEY:
        return _money(pa.array(series, type=pa.int64(), from_pandas=True))
    if kind == TIME:
        return _timestamps(pa.array(series, type=pa.timestamp("ns", tz="UTC"), from_pandas=True))
    if kind == BOOL:
        flags = pa.array(series, type=pa.bool_(), from_pandas=True)
        return pc.if_else(flags, "true", "false")
    if kind in (INT, FLOAT):
        number_type = pa.int64() if kind == INT else pa.float64()
        return pa.array(series, type=number_type, from_pandas=True).cast(pa.string())
    return pa.array(series, type=pa.string(), from_pandas=True)


def _money(amounts: pa.Array) -> pa.Array:
    """Ten-thousandths as exact decimals with 2 to 4 places, like frames.money_str."""
    size = pc.abs(amounts)
    units = pc.divide(size, MONEY_SCALE)  # integer division: both are int64
    places = pc.subtract(size, pc.multiply(units, MONEY_SCALE)).cast(pa.string())
    places = pc.utf8_rpad(pc.utf8_rtrim(pc.utf8_lpad(places, 4, "0"), "0"), 2, "0")
    sign = pc.if_else(pc.less(amounts, 0), "-", "")
    return pc.binary_join_element_wise(sign, units.cast(pa.string()), ".", places, "")


def _timestamps(stamps: pa.Array) -> pa.Array:
    """ISO 8601 in UTC with a Z; fractional seconds only where there are some."""
    seconds = pc.floor_temporal(stamps, unit="second")
    nanos = pc.subtract(stamps.cast(pa.int64()), seconds.cast(pa.int64()))
    # Arrow casts a naive timestamp to "YYYY-MM-DD hh:mm:ss" some 30x faster than strftime.
    whole = seconds.cast(pa.timestamp("s", tz="UTC")).cast(pa.timestamp("s")).cast(pa.string())
    whole = pc.replace_substring(whole, " ", "T", max_replacements=1)
    fraction = pc.utf8_rtrim(pc.utf8_lpad(nanos.cast(pa.string()), 9, "0"), "0")
    fraction = pc.if_else(pc.equal(nanos, 0), "", pc.binary_join_element_wise(".", fraction, ""))
    return pc.binary_join_element_wise(whole, fraction, "Z", "")
