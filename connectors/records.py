"""API records → canonical frames, with the records that cannot be read quarantined.

A connector maps each API record (an order, a product, a stock item) to canonical rows of text
cells — exactly what a CSV bundle would hold — and adds them to a `Batch`. `Batch.frames()`
validates every file with `reconciliation.bundle.parse_table` (the checks and messages of a CSV
bundle) and keeps a record only when all of its rows pass: an order whose line has a bad
quantity is quarantined whole, lines and all, never saved without that line. The rest of the
pull goes on.

Cell helpers (`text`, `money`, `number`, `whole`, `utc`) turn API values into cells; a value that
cannot be read raises `RecordError`, whose message becomes the quarantine reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pandas as pd
import pyarrow as pa

from connectors.base import ConnectorError, Progress, Quarantined
from connectors.http import Page
from reconciliation.bundle import Problems, parse_table
from reconciliation.frames import FILES, SCHEMAS, empty_frame

Cell = str | None
Row = dict[str, Cell]
Rows = dict[str, list[Row]]

# Files whose rows belong to an order: validated against the orders of the same batch.
ORDER_CHILDREN = ("order_lines", "shipments")
FOUR_PLACES = Decimal("0.0001")
# Whole digits a number may have: frames hold int64 (19 digits) and decimal(18, 4).
MAX_DIGITS = 18
_NAIVE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
_FIRST_ON_LINE = re.compile(r" \(first on line \d+\)$")


class RecordError(ValueError):
    """A record that cannot be mapped; the message is the reason it is quarantined."""


# -- cells ---------------------------------------------------------------------------------------


def text(value: Any) -> Cell:
    """A text cell: None and blank strings are empty."""
    if value is None:
        return None
    value = str(value).strip()
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON may carry lone surrogates ("\ud800"); no UTF-8 column can hold them.
            raise RecordError(f"text {value!r} is not valid Unicode") from None
    return value or None


def number(value: Any, what: str) -> Decimal | None:
    """An API number (JSON number or numeric string) as an exact Decimal; None when empty.

    JSON numbers arrive as floats: repr gives back the shortest decimal that round-trips, which
    is the digits the server sent for any amount of up to 15 significant digits.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RecordError(f"{what} {value!r} is not a number")
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(f"{what} {value!r} is not a number") from None
    if not result.is_finite():
        raise RecordError(f"{what} {value!r} is not a number")
    if result and result.adjusted() > MAX_DIGITS:
        # No frame column holds it, and int() of "1e999999" takes minutes: refuse it here.
        raise RecordError(f"{what} {value!r} is too large")
    return result


def money(value: Any, what: str = "amount") -> Cell:
    """A money cell: the amount to four places at most (frames keep ten-thousandths)."""
    amount = number(value, what) if not isinstance(value, Decimal) else value
    return decimal_text(amount)


def decimal_text(amount: Decimal | None) -> Cell:
    if amount is None:
        return None
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        amount = amount.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
    return format(amount, "f")


def whole(value: Any, what: str) -> Cell:
    """A whole-number cell (quantities come as 2 or 2.0 or "2.0000"); a fraction is an error."""
    amount = number(value, what)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise RecordError(f"{what} {value!r} is not a whole number")
    return str(int(amount))


def rate(percent: Any, what: str = "tax percent") -> Cell:
    """A tax rate cell as a fraction (20 → 0.2) from a percentage."""
    amount = number(percent, what)
    if amount is None:
        return None
    return format((amount / 100).normalize(), "f")


def utc(value: Any) -> Cell:
    """A timestamp cell; a naive "YYYY-MM-DD HH:MM:SS" (how these APIs write UTC) gets a Z."""
    stamp = text(value)
    if stamp is None:
        return None
    naive = _NAIVE.match(stamp)
    return f"{naive.group(1)}T{naive.group(2)}Z" if naive else stamp


def in_utc(moment: datetime) -> datetime:
    """A `since` in UTC for an API's filter; a naive one is taken as UTC, as bundles do."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def joined(*parts: Any, sep: str = " ") -> Cell:
    return text(sep.join(str(p).strip() for p in parts if p is not None and str(p).strip()))


# -- progress ------------------------------------------------------------------------------------


class Tracker:
    """Progress over several listings (orders, products, …), reported after every page."""

    def __init__(self, callback: Callable[[Progress], None] | None, client: Any) -> None:
        self.callback = callback
        self.client = client
        self.progress = Progress()
        self._totals: dict[str, tuple[int | None, int | None]] = {}
        self._done: dict[str, tuple[int, int]] = {}

    def page(self, listing: str, page: Page) -> None:
        pages, records = self._done.get(listing, (0, 0))
        self._done[listing] = (pages + 1, records + len(page.items))
        self._totals[listing] = (page.total_pages, page.total_records)
        done = self.progress
        done.pages_done = sum(p for p, _ in self._done.values())
        done.records_done = sum(r for _, r in self._done.values())
        # A listing without totals counts what it has fetched so far.
        done.pages_total = sum(
            total if total is not None else self._done[name][0]
            for name, (total, _) in self._totals.items()
        )
        done.records_total = sum(
            total if total is not None else self._done[name][1]
            for name, (_, total) in self._totals.items()
        )
        done.requests = getattr(self.client, "requests", 0)
        if self.callback is not None:
            self.callback(done)


# -- a batch of records --------------------------------------------------------------------------


@dataclass
class _Record:
    file: str
    ref: str
    payload: Any
    rows: Rows


@dataclass
class Batch:
    """The records of one pull; `frames()` validates them and quarantines the failing ones."""

    label: str  # names the system in messages, e.g. "woocommerce"
    records: list[_Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    def add(self, file: str, ref: Any, payload: Any, rows: Mapping[str, list[Row]]) -> None:
        # parse_table drops all-empty rows, which would shift the line numbers its problems name.
        if any(not any(row.values()) for file_rows in rows.values() for row in file_rows):
            self.reject(file, ref, payload, f"{file}: the record has no readable fields")
            return
        self.records.append(_Record(file, str(ref or ""), payload, dict(rows)))

    def reject(self, file: str, ref: Any, payload: Any, reason: str) -> None:
        self.quarantined.append(Quarantined(file, reason, payload, str(ref or "")))

    def map(
        self,
        file: str,
        payload: Any,
        mapper: Callable[[Any], tuple[str, Rows]],
        ref: Callable[[Any], Any],
    ) -> None:
        """Map one record with `mapper` (→ its ref and rows); a RecordError quarantines it."""
        try:
            if not isinstance(payload, dict):
                raise RecordError(f"expected a JSON object, got {type(payload).__name__}")
            key, rows = mapper(payload)
        except RecordError as exc:
            self.reject(file, _safe_ref(ref, payload), payload, str(exc))
            return
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            # A record of an unexpected shape: quarantined with what went wrong, pull goes on.
            reason = f"unreadable record ({type(exc).__name__}: {exc})"
            self.reject(file, _safe_ref(ref, payload), payload, reason)
            return
        self.add(file, key, payload, rows)

    def frames(self, files: Iterable[str]) -> dict[str, pd.DataFrame]:
        """Validated frames of `files`; records with any failing row are quarantined whole."""
        wanted = [f for f in FILES if f in set(files)]
        alive = set(range(len(self.records)))
        # A record dropped in one pass can make another pass (the second of two duplicates):
        # validate again until a pass finds nothing.
        for _ in range(10):
            frames, failures = self._validate(wanted, alive)
            if not failures:
                return frames
            for index, reasons in sorted(failures.items()):
                record = self.records[index]
                # One reason per kind of problem: three bad rows need not say it three times.
                reason = "; ".join(dict.fromkeys(reasons))
                self.reject(record.file, record.ref, record.payload, reason)
                alive.discard(index)
        raise ConnectorError(f"{self.label}: records kept failing validation", permanent=True)

    def _validate(
        self, files: list[str], alive: set[int]
    ) -> tuple[dict[str, pd.DataFrame], dict[int, list[str]]]:
        frames: dict[str, pd.DataFrame] = {}
        failures: dict[int, list[str]] = {}
        order_refs: list[str] | None = None
        for file in files:
            # A record already failing in an earlier file is going anyway: checking its other
            # rows would only add "order_ref is not in orders" to its reason.
            owners = [
                (index, row)
                for index in sorted(alive)
                if index not in failures
                for row in self.records[index].rows.get(file, ())
            ]
            refs = order_refs if file in ORDER_CHILDREN else None
            frame, problems = _parse(file, [row for _, row in owners], self.label, refs)
            for problem in problems:
                if problem.line is None:  # a header problem: our own table is wrong
                    raise ConnectorError(f"{self.label} {file}: {problem.message}", permanent=True)
                index = owners[problem.line - 2][0]
                message = _FIRST_ON_LINE.sub("", problem.message)
                failures.setdefault(index, []).append(f"{file}: {message}")
            if file == "orders":
                order_refs = [
                    row["order_ref"]
                    for index, row in owners
                    if index not in failures and row.get("order_ref")
                ]
            frames[file] = frame
        return frames, failures


def _safe_ref(ref: Callable[[Any], Any], payload: Any) -> str:
    try:
        return str(ref(payload) or "")
    except (KeyError, TypeError, IndexError, AttributeError):
        return ""


def _parse(
    file: str, rows: list[Row], label: str, order_refs: list[str] | None
) -> tuple[pd.DataFrame, Problems]:
    problems = Problems(limit=max(200, len(rows) * (len(SCHEMAS[file]) + 1)))
    if not rows:
        return empty_frame(file), problems
    table = pa.table(
        {col: pa.array([row.get(col) for row in rows], pa.string()) for col in SCHEMAS[file]}
    )
    frame, problems = parse_table(
        file,
        table,
        label=f"{label} {file}",
        problems=problems,
        order_refs=order_refs,
        orders_label=f"{label} orders",
    )
    return frame, problems
