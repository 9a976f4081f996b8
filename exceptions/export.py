"""CSV export of a queue selection, streamed: rows leave as they are read, so memory stays flat
however many match, and the first bytes go out before the last row is read."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from exceptions.models import SLA_HOURS, ExceptionRecord

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
CHUNK = 5_000
BATCH = 500  # rows per piece of the response body (one write per row would be slow)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ACTIVE = frozenset({"open", "acknowledged", "snoozed"})


def neutralise(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with an apostrophe."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Echo:
    # csv.writer wants a file; this one hands back what it is given.
    def write(self, value: str) -> str:
        return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return neutralise(str(value))


def csv_rows(
    queryset: QuerySet[ExceptionRecord], ordering: Sequence[str], *, now: datetime | None = None
) -> Iterator[str]:
    """The header, then the selection's rows in `ordering`, as CSV text in batches."""
    now = now or timezone.now()
    sla_seconds = {priority: hours * 3600 for priority, hours in SLA_HOURS.items()}
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    rows = queryset.order_by(*ordering).values_list(*_FIELDS).iterator(chunk_size=CHUNK)
    batch: list[str] = []
    for row in rows:
        (pk, rule, key, priority, score, status, owner, team, queue_team, assignee) = row[:10]
        (snoozed_until, first_seen, last_seen, times_seen, summary, reason, resolution) = row[10:]
        breached = status in ACTIVE and (now - first_seen).total_seconds() > sla_seconds.get(
            priority, float("inf")
        )
        batch.append(
            writer.writerow(
                (
                    pk,
                    _text(rule),
                    _text(key),
                    priority,
                    repr(score),
                    status,
                    owner,
                    team,
                    queue_team,
                    _text(assignee),
                    _text(snoozed_until),
                    _text(first_seen),
                    _text(last_seen),
                    times_seen,
                    "yes" if breached else "no",
                    _text(summary),
                    reason,
                    _text(resolution),
                )
            )
        )
        if len(batch) >= BATCH:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
