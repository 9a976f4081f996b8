"""CSV export of a queue selection, streamed: rows leave as they are read, so memory stays flat
however many match, and the first bytes go out before the last row is read.

On PostgreSQL the database writes the CSV itself (COPY … TO STDOUT, formulas neutralised and times
formatted in SQL): several times faster than formatting each row in Python. Elsewhere (SQLite)
Python writes the same text. Times are UTC, ISO 8601 with the offset.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone

from exceptions.models import SLA_HOURS, WORKING_STATUSES, ExceptionRecord
from integration import privacy

HEADER: tuple[str, ...] = (
    "id",
    "rule",
    "key",
    "priority",
    "score",
    "status",
    "owner",
    "team",
    "queue_team",
    "assignee",
    "snoozed_until",
    "first_seen",
    "last_seen",
    "times_seen",
    "sla_breached",
    "summary",
    "resolution_reason",
    "resolution",
)
_FIELDS: tuple[str, ...] = (
    "id",
    "rule",
    "key",
    "priority",
    "score",
    "status",
    "owner",
    "team",
    "queue_team",
    "assignee__username",
    "snoozed_until",
    "first_seen",
    "last_seen",
    "times_seen",
    "summary",
    "resolution_reason",
    "resolution",
)
CHUNK = 5_000  # rows per fetch from the database (Python path)
BATCH = 500  # rows per piece of the response body (one write per row would be slow)
PIECE_BYTES = 64 * 1024  # bytes per piece of the response body (COPY path)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with an apostrophe."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Echo:
    # csv.writer wants a file; this one hands back what it is given.
    def write(self, value: str) -> str:
        return value


class _Writer:
    """csv.writer whose rows end in "\n", as PostgreSQL's COPY writes them, so that both paths
    give the same bytes. (Its own line terminator stays "\r\n": that is what makes it quote a
    field holding a carriage return.)"""

    def __init__(self) -> None:
        self._writer = csv.writer(_Echo())

    def writerow(self, row: Sequence[Any]) -> str:
        return self._writer.writerow(row)[:-2] + "\n"


def csv_writer() -> _Writer:
    return _Writer()


def csv_rows(
    queryset: QuerySet[ExceptionRecord],
    ordering: Sequence[str],
    *,
    now: datetime | None = None,
    personal: bool = True,
) -> Iterator[str | bytes]:
    """The header, then the selection's rows in `ordering`, as CSV in pieces. Without
    `personal` (integration.privacy.can_see_personal), customers' data in summaries is masked."""
    now = now or timezone.now()
    writer = csv_writer()
    yield writer.writerow(HEADER)
    if connections[queryset.db].vendor == "postgresql":
        yield from _copy_rows(queryset, ordering, now, personal)
    else:
        yield from _python_rows(queryset, ordering, now, writer, personal)


# --- any database: Python formats each row -----------------------------------------------------


def _utc(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _float(value: float) -> str:
    # As PostgreSQL prints a double: 57.25, and 100 where Python says 100.0.
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _python_rows(
    queryset: QuerySet[ExceptionRecord],
    ordering: Sequence[str],
    now: datetime,
    writer: _Writer,
    personal: bool = True,
) -> Iterator[str]:
    sla_seconds = {priority: hours * 3600 for priority, hours in SLA_HOURS.items()}
    rows = queryset.order_by(*ordering).values_list(*_FIELDS).iterator(chunk_size=CHUNK)
    batch: list[str] = []
    for row in rows:
        (pk, rule, key, priority, score, status, owner, team, queue_team, assignee) = row[:10]
        (snoozed_until, first_seen, last_seen, times_seen, summary, reason, resolution) = row[10:]
        age = (now - first_seen).total_seconds()
        breached = status in WORKING_STATUSES and age > sla_seconds.get(priority, float("inf"))
        if not personal:
            summary = privacy.mask_summary(summary)
        batch.append(
            writer.writerow(
                (
                    pk,
                    neutralise(rule),
                    neutralise(key),
                    priority,
                    _float(score),
                    status,
                    owner,
                    team,
                    queue_team,
                    neutralise(assignee or ""),
                    _utc(snoozed_until),
                    _utc(first_seen),
                    _utc(last_seen),
                    times_seen,
                    "yes" if breached else "no",
                    neutralise(summary),
                    reason,
                    neutralise(resolution),
                )
            )
        )
        if len(batch) >= BATCH:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


# --- PostgreSQL: COPY writes the CSV -----------------------------------------------------------

_SQL_CHARS = {"\t": "E'\\t'", "\r": "E'\\r'"}
_FORMULA_SQL = ", ".join(_SQL_CHARS.get(char, f"'{char}'") for char in FORMULA_STARTS)


def _safe_sql(column: str) -> str:
    """neutralise() in SQL; an empty text is written as nothing, as Python's csv writes it (COPY
    would write it as "" to tell it from NULL)."""
    return _text_sql(
        f"CASE WHEN left({column}, 1) IN ({_FORMULA_SQL}) THEN '''' || {column} ELSE {column} END"
    )


def _text_sql(column: str) -> str:
    return f"nullif({column}, '')"


def _time_sql(column: str) -> str:
    """_utc() in SQL."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""


def copy_statement(ordering: Sequence[str], selection: str, *, personal: bool = True) -> str:
    """COPY of the export's columns for the rows whose ids `selection` (SQL) returns."""
    table = ExceptionRecord._meta.db_table
    users = ExceptionRecord._meta.get_field("assignee").related_model._meta.db_table
    sla = " ".join(f"WHEN '{priority}' THEN {hours}" for priority, hours in SLA_HOURS.items())
    working = ", ".join(f"'{status}'" for status in WORKING_STATUSES)
    order = ", ".join(
        f"e.{name.lstrip('-')} {'DESC' if name.startswith('-') else 'ASC'}" for name in ordering
    )
    columns = (
        "e.id",
        _safe_sql("e.rule"),
        _safe_sql("e.key"),
        "e.priority",
        "e.score::text",
        "e.status",
        "e.owner",
        "e.team",
        "e.queue_team",
        _safe_sql("coalesce(u.username, '')"),
        _time_sql("e.snoozed_until"),
        _time_sql("e.first_seen"),
        _time_sql("e.last_seen"),
        "e.times_seen",
        f"CASE WHEN e.status IN ({working}) AND e.first_seen < %s - make_interval("
        f"hours => CASE e.priority {sla} END) THEN 'yes' ELSE 'no' END",
        _safe_sql("e.summary" if personal else privacy.summary_sql("e.summary")),
        _text_sql("e.resolution_reason"),
        _safe_sql("e.resolution"),
    )
    return (
        f"COPY (SELECT {', '.join(columns)} FROM {table} e "
        f"LEFT JOIN {users} u ON u.id = e.assignee_id "
        f"WHERE e.id IN ({selection}) ORDER BY {order}) TO STDOUT (FORMAT csv)"
    )


def _copy_rows(
    queryset: QuerySet[ExceptionRecord], ordering: Sequence[str], now: datetime, personal: bool
) -> Iterator[bytes]:
    # The filterset's WHERE, as Django writes it, selects the ids; COPY cannot take server-side
    # parameters, and Django's psycopg cursor binds them client-side, safely quoted.
    try:
        selection, params = queryset.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # queryset.none(): an invalid filter selects nothing
        return
    statement = copy_statement(ordering, selection, personal=personal)
    # COPY hands rows over one at a time: gather them into pieces of a useful size. Leaving early
    # (the client went away) cancels the COPY and leaves the connection usable.
    with (
        connections[queryset.db].cursor() as cursor,
        cursor.cursor.copy(statement, [now, *params]) as copy,
    ):
        piece = bytearray()
        for data in copy:
            piece += data
            if len(piece) >= PIECE_BYTES:
                yield bytes(piece)
                piece.clear()
        if piece:
            yield bytes(piece)
