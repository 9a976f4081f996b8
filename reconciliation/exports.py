"""Month-end exports: the summary or one figure's records as CSV, everything as one XLSX workbook.

Cells come from data people typed somewhere upstream (order refs, reasons, SKUs), so text that a
spreadsheet would run as a formula (= + - @, or a tab or carriage return first) is neutralised:
in CSV by a leading apostrophe, in XLSX by storing it as text with Excel's quote prefix. Numbers
stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reconciliation.metrics import set_label
from reconciliation.models import Figure, MonthEndItem, RunMetrics
from reconciliation.month_end import COLUMNS, ChecklistLine, FigureRow, month_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00;-#,##0.00"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
SUMMARY_HEADER = ["Figure", "Count", "Units", "Amount (GBP)", "Absolute (GBP)", "Note"]
SHEET_NAMES: dict[str, str] = {
    Figure.DISPATCHED_NOT_POSTED: "Dispatched not posted",
    Figure.NOT_IN_STORE: "Not in store",
    Figure.TAX: "VAT variances",
    Figure.TOTAL: "Total variances",
    Figure.STOCK_DRIFT: "Stock drift",
    Figure.ADJUSTMENTS: "Adjustments not posted",
}


def neutralise(text: str) -> str:
    """CSV: text a spreadsheet would evaluate gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(moment: datetime) -> datetime:
    """UK wall-clock time without a zone: spreadsheets have no time zones."""
    return timezone.localtime(moment).replace(tzinfo=None)


def _value(raw: Any, kind: str) -> Any:
    """A record's cell as a Python value: Decimal, int, naive UK datetime or text (None empty)."""
    if raw is None or raw == "":
        return None
    if kind == "money":
        return Decimal(str(raw))
    if kind == "int":
        return int(raw)
    if kind == "time":
        moment = parse_datetime(str(raw))
        return _local(moment) if moment is not None else str(raw)
    return str(raw)


def record_rows(figure: str, items: Iterable[MonthEndItem]) -> Iterator[list[Any]]:
    columns = COLUMNS[figure]
    for item in items:
        yield [_value(item.data.get(key), kind) for key, _, kind in columns]


# -- CSV --------------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Decimal | int):
        return str(value)
    return neutralise(str(value))


def _csv(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue()


def summary_csv(metrics: RunMetrics, rows: list[FigureRow]) -> str:
    """The summary: one line per figure, with the month and systems on each line so months can
    be stacked in one sheet."""
    header = ["Month", "Systems", *SUMMARY_HEADER]
    lead = [month_text(metrics.month), set_label(metrics.systems)]
    return _csv([header, *([*lead, *_summary_cells(row)] for row in rows)])


def records_csv(figure: str, items: Iterable[MonthEndItem]) -> str:
    header = [heading for _, heading, _ in COLUMNS[figure]]
    return _csv([header, *record_rows(figure, items)])


def _summary_cells(row: FigureRow) -> list[Any]:
    return [row.label, row.count, row.units, row.amount, row.absolute, row.note]


# -- XLSX -------------------------------------------------------------------------------------------


class _Sheet:
    """A write-only sheet with typed cells (write-only keeps a large month's memory flat)."""

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet

    def cell(self, value: Any, *, bold: bool = False) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value=value)
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            # openpyxl would store "=…" as a formula; as text with a quote prefix Excel shows it
            # and never evaluates it, even after the cell is edited.
            cell.data_type = "s"
            cell.quotePrefix = True
        elif isinstance(value, Decimal):  # money: openpyxl writes Decimals as numbers
            cell.number_format = MONEY_FORMAT
        elif isinstance(value, datetime):
            cell.number_format = TIME_FORMAT
        if bold:
            cell.font = Font(bold=True)
        return cell

    def row(self, values: Iterable[Any], *, bold: bool = False) -> None:
        self.sheet.append([self.cell(value, bold=bold) for value in values])


def workbook(
    metrics: RunMetrics,
    rows: list[FigureRow],
    items: dict[str, Iterable[MonthEndItem]],
    checklist: list[ChecklistLine],
    *,
    exported_by: str,
) -> bytes:
    """Summary, one sheet per figure's records, and the checklist, as an .xlsx file."""
    book = Workbook(write_only=True)
    summary = _Sheet(book.create_sheet("Summary"))
    summary.sheet.column_dimensions["A"].width = 58
    summary.row([f"Month-end {month_text(metrics.month)}"], bold=True)
    summary.row(["Systems", set_label(metrics.systems)])
    summary.row(["Close run", f"run {metrics.run_id}"])
    summary.row(["Figures as of", _local(metrics.as_of)])
    summary.row(["Exported", _local(timezone.now())])
    summary.row(["Exported by", exported_by])
    summary.row([])
    summary.row(SUMMARY_HEADER, bold=True)
    for row in rows:
        summary.row(_summary_cells(row))

    for figure, name in SHEET_NAMES.items():
        sheet = _Sheet(book.create_sheet(name))
        sheet.row([heading for _, heading, _ in COLUMNS[figure]], bold=True)
        for values in record_rows(figure, items.get(figure, ())):
            sheet.row(values)

    checks = _Sheet(book.create_sheet("Checklist"))
    checks.row(["Item", "Ticked", "Changed by", "Changed at", "Against run"], bold=True)
    for line in checklist:
        checks.row(
            [
                line.label,
                "yes" if line.ticked else "no",
                line.changed_by or None,
                _local(line.changed_at) if line.changed_at else None,
                line.run_id,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
