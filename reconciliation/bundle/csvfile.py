"""Read one CSV file into a pyarrow table of strings, turning reader failures into problems."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from reconciliation.bundle.problems import Problems

HEAD_BYTES = 1 << 20
# Files up to this size are read again as one block when a field outgrows Arrow's 1 MB blocks.
SINGLE_BLOCK_BYTES = 256 << 20
_LINE_END = re.compile(rb"\r\n?|\n")
_BOM = b"\xef\xbb\xbf"
UTF8_MESSAGE = "not valid UTF-8 text: save the file as UTF-8"


def read_csv_table(source: Path | bytes, *, label: str, problems: Problems) -> pa.Table | None:
    """Every column as text, exactly as written (no NA words, no type guessing).

    Returns None, with problems added, when the file cannot be read as a UTF-8 CSV with a header
    and the same number of fields on every record.
    """
    try:
        head = source[:HEAD_BYTES] if isinstance(source, bytes) else _head(source)
    except OSError as exc:
        problems.add(label, f"cannot be read ({exc.strerror or exc})")
        return None
    header = _header(head, label, problems)
    if header is None:
        return None
    invalid: list[pacsv.InvalidRow] = []
    try:
        try:
            table = _read(source, header, invalid, use_threads=True)
        except pa.ArrowInvalid as exc:
            size = len(source) if isinstance(source, bytes) else source.stat().st_size
            if "straddl" not in str(exc) or size >= SINGLE_BLOCK_BYTES:
                raise
            # A field longer than Arrow's 1 MB block (often a quote never closed): read the
            # file as one block, so a runaway quote becomes a short record with its line.
            invalid.clear()
            table = _read(source, header, invalid, use_threads=False, block_size=size + 1)
    except pa.ArrowInvalid as exc:
        bad_line = None
        if "CSV parse error" in str(exc):
            # A record of the wrong width holding bytes that are not UTF-8 fails inside Arrow's
            # invalid-row handling, as a parse error: the bytes are the problem to name.
            bad_line = _first_bad_utf8_line(source)
        if "invalid UTF8" in str(exc) or bad_line is not None:
            problems.add(label, UTF8_MESSAGE, line=bad_line or _first_bad_utf8_line(source))
        else:
            problems.add(label, _reader_message(str(exc)))
        return None
    if not invalid:
        return table
    if any(row.number is None for row in invalid):
        # Arrow only knows record numbers when reading on one thread; this is the error path.
        invalid.clear()
        _read(source, header, invalid, use_threads=False)
    shown = invalid[: problems.room]
    for row in shown:
        problems.add(
            label,
            f"expected {row.expected_columns} fields as in the header, found {row.actual_columns}",
            line=row.number,
        )
    problems.skip(len(invalid) - len(shown))
    return None


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def _header(head: bytes, label: str, problems: Problems) -> list[str] | None:
    # Any line ending ends the header, as for Arrow: old Mac files end lines with a lone \r.
    first_line = _LINE_END.split(head.removeprefix(_BOM), maxsplit=1)[0]
    if not first_line.strip():
        problems.add(label, "the file is empty: a header row is required")
        return None
    try:
        text = first_line.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(label, UTF8_MESSAGE, line=1)
        return None
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error as exc:
        problems.add(label, f"the header row is not readable CSV ({exc})", line=1)
        return None


def _read(
    source: Path | bytes,
    header: list[str],
    invalid: list[pacsv.InvalidRow],
    *,
    use_threads: bool,
    block_size: int | None = None,
) -> pa.Table:
    def skip_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    return pacsv.read_csv(
        pa.BufferReader(source) if isinstance(source, bytes) else str(source),
        read_options=pacsv.ReadOptions(use_threads=use_threads, block_size=block_size),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=skip_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _first_bad_utf8_line(source: Path | bytes) -> int | None:
    """The line of the first byte that is not UTF-8 (error path only: reads the whole file)."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return None


def _reader_message(error: str) -> str:
    if "Empty CSV file" in error:
        return "the file is empty: a header row is required"
    return f"not a readable CSV file ({error.splitlines()[0]})"
