"""Record what a reconciliation run found: the idempotent, set-based upsert of exceptions.

`record_exceptions(run, found, rules_run)` turns the engine's exceptions frame into
`ExceptionRecord` rows and `ExceptionEvent` rows, in one transaction:

- a (rule, key) never seen before is opened (event `detected`);
- one already open, acknowledged or snoozed is seen again: last_seen, times_seen, last_run and the
  engine's latest owner/team/priority/score/summary/details/roles are refreshed; the states people
  set (status, assignee, assigned_team, snoozed_until) are left alone; a priority that rose is an
  `escalated` event;
- one that was resolved comes back: reopened (status open, resolution cleared; event `reopened`);
- an open, acknowledged or snoozed exception of a rule that ran (`rules_run`; None = every rule) and
  was not found is resolved "cleared by reconciliation" (event `auto_resolved`).

PostgreSQL does it in a handful of statements (COPY into a temporary table, then UPDATE / INSERT /
UPDATE with data-modifying CTEs that write the events); other databases (SQLite, the embedded
default) use batched bulk_create (an upsert on (rule, key) for the known pairs) and update(). Neither issues a query per exception.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from exceptions.models import (
    AUTO_RESOLVABLE,
    CLEARED_BY_RECONCILIATION,
    EventKind,
    ExceptionEvent,
    ExceptionRecord,
    Priority,
    Status,
)

if TYPE_CHECKING:
    from reconciliation.models import ReconciliationRun

COLUMNS: tuple[str, ...] = (
    "rule",
    "key",
    "owner",
    "team",
    "priority",
    "score",
    "summary",
    "details",
    "roles",
)
COUNTS: tuple[str, ...] = (
    "found",
    "opened",
    "seen_again",
    "reopened",
    "auto_resolved",
    "escalated",
)
PRIORITIES = frozenset(Priority.values)
# Serialises concurrent syncs on PostgreSQL (an arbitrary constant naming this lock).
ADVISORY_LOCK_ID = 7_301_244_519
COPY_CHUNK_ROWS = 20_000
ORM_CHUNK = 500


def record_exceptions(
    run: ReconciliationRun | None,
    found: pd.DataFrame,
    rules_run: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Upsert one run's exceptions; returns {found, opened, seen_again, reopened, auto_resolved,
    escalated} (found = opened + seen_again + reopened; escalated counts within seen_again)."""
    frame = prepare_frame(found)
    now = now or timezone.now()
    run_id = run.pk if run is not None else None
    rules = None if rules_run is None else sorted(set(rules_run))
    alias = router.db_for_write(ExceptionRecord)
    with transaction.atomic(using=alias):
        if connections[alias].vendor == "postgresql":
            counts = _record_postgresql(alias, frame, run_id, rules, now)
        else:
            counts = _record_orm(alias, frame, run_id, rules, now)
    counts["found"] = len(frame)
    return {name: counts.get(name, 0) for name in COUNTS}


def prepare_frame(found: pd.DataFrame) -> pd.DataFrame:
    """Validate the engine's frame and normalise it to plain str/float columns plus JSON text."""
    if len(found) == 0:  # nothing found (a frame with no rows may come without columns too)
        return pd.DataFrame({column: pd.Series([], dtype=object) for column in COLUMNS})
    missing = [column for column in COLUMNS if column not in found.columns]
    if missing:
        raise ValueError(f"exceptions frame lacks columns: {', '.join(missing)}")

    if found["rule"].isna().any() or found["key"].isna().any():
        raise ValueError("exceptions frame has rows without a rule or key")
    frame = pd.DataFrame(
        {
            "rule": found["rule"].astype(str).to_numpy(dtype=object),
            "key": found["key"].astype(str).to_numpy(dtype=object),
            "owner": _text(found["owner"]),
            "team": _text(found["team"]),
            "priority": _text(found["priority"]),
            "score": pd.to_numeric(found["score"]).astype("float64").fillna(0.0).to_numpy(),
            "summary": _text(found["summary"]),
            "details": _json_column(found["details"], dict),
            "roles": _json_column(found["roles"], list),
        }
    )
    bad = sorted(set(frame["priority"]) - PRIORITIES)
    if bad:
        raise ValueError(f"exceptions frame has unknown priorities: {', '.join(bad)}")
    if not all(math.isfinite(score) for score in frame["score"]):
        raise ValueError("exceptions frame has a score that is not a finite number")
    duplicated = frame.duplicated(["rule", "key"])
    if duplicated.any():
        first = frame.loc[duplicated].iloc[0]
        raise ValueError(
            f"exceptions frame has {int(duplicated.sum())} duplicate (rule, key) rows, "
            f"e.g. ({first['rule']}, {first['key']})"
        )
    return frame


def _text(series: pd.Series) -> Any:
    return series.astype(object).where(series.notna(), "").astype(str).to_numpy(dtype=object)


def _json_default(value: Any) -> Any:
    # The engine promises JSON-ready dicts; tolerate the numpy/pandas scalars that slip through.
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(
    # allow_nan=False: jsonb refuses NaN, and a ValueError here names the problem clearly.
    default=_json_default,
    allow_nan=False,
    separators=(",", ":"),
)


def _json_column(values: Iterable[Any], kind: type) -> list[str]:
    """JSON text of each details dict or roles list; a missing value is an empty one."""
    encode = _ENCODER.encode  # one encoder for the column: json.dumps(**kw) builds one per call
    return [encode(value if type(value) is kind else _coerce(value, kind)) for value in values]


def _coerce(value: Any, kind: type) -> Any:
    if hasattr(value, "tolist"):  # a numpy array, e.g. from an arrow list column
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return kind()
    if not isinstance(value, kind):
        raise ValueError(f"expected a {kind.__name__}, got {type(value).__name__}: {value!r}")
    return value


# --- PostgreSQL: COPY + set-based statements ---------------------------------------------------

_RECORD = ExceptionRecord._meta.db_table
_EVENT = ExceptionEvent._meta.db_table
_TEMP = "parity_found_exceptions"
_ACTIVE_SQL = ", ".join(f"'{status}'" for status in AUTO_RESOLVABLE)

_CREATE_TEMP = f"""
CREATE TEMPORARY TABLE {_TEMP} (
    rule text NOT NULL, key text NOT NULL, owner text NOT NULL, team text NOT NULL,
    priority text NOT NULL, score double precision NOT NULL, summary text NOT NULL,
    details jsonb NOT NULL, roles jsonb NOT NULL
) ON COMMIT DROP
"""
_COPY = (
    f"COPY {_TEMP} ({', '.join(COLUMNS)}) FROM STDIN "
    "(FORMAT csv, FORCE_NOT_NULL (rule, key, owner, team, priority, summary))"
)

# actor_id is left out: NULL, the system.
_EVENT_COLUMNS = "exception_id, at, kind, from_value, to_value, note, run_id"

# Seen again and reopened, in one pass. src locks each found row (FOR UPDATE: the latest committed
# version) and carries its old status and priority into the events; inside SET, e.* are the old
# values as well, so the CASEs reopen exactly the rows that were resolved.
_UPDATE_FOUND = f"""
WITH upd AS (
    UPDATE {_RECORD} e SET
        owner = src.owner, team = src.team, priority = src.priority, score = src.score,
        summary = src.summary, details = src.details, roles = src.roles,
        last_seen = %(now)s, times_seen = e.times_seen + 1, last_run_id = %(run)s::bigint,
        status = CASE WHEN e.status = '{Status.RESOLVED}' THEN '{Status.OPEN}' ELSE e.status END,
        resolved_at = CASE WHEN e.status = '{Status.RESOLVED}' THEN NULL ELSE e.resolved_at END,
        resolution = CASE WHEN e.status = '{Status.RESOLVED}' THEN '' ELSE e.resolution END,
        snoozed_until = CASE WHEN e.status = '{Status.RESOLVED}' THEN NULL
                             ELSE e.snoozed_until END
    FROM (
        SELECT old.id, old.status AS old_status, old.priority AS old_priority, f.*
        FROM {_RECORD} old JOIN {_TEMP} f ON f.rule = old.rule AND f.key = old.key
        FOR UPDATE OF old
    ) src
    WHERE e.id = src.id
    RETURNING e.id, src.old_status, src.old_priority, e.priority AS new_priority
), ev AS (
    INSERT INTO {_EVENT} ({_EVENT_COLUMNS})
    SELECT id, %(now)s, '{EventKind.REOPENED}', old_status, '{Status.OPEN}', '', %(run)s::bigint
    FROM upd WHERE old_status = '{Status.RESOLVED}'
    UNION ALL
    -- 'P1' < 'P3' as text: a smaller priority string is a more urgent priority.
    SELECT id, %(now)s, '{EventKind.ESCALATED}', old_priority, new_priority, '', %(run)s::bigint
    FROM upd WHERE old_status <> '{Status.RESOLVED}' AND new_priority < old_priority
)
SELECT
    count(*) FILTER (WHERE old_status <> '{Status.RESOLVED}'),
    count(*) FILTER (WHERE old_status = '{Status.RESOLVED}'),
    count(*) FILTER (WHERE old_status <> '{Status.RESOLVED}' AND new_priority < old_priority)
FROM upd
"""

_INSERT_NEW = f"""
WITH ins AS (
    INSERT INTO {_RECORD} (
        rule, key, owner, team, priority, score, summary, details, roles, status,
        assignee_id, assigned_team, snoozed_until, first_seen, last_seen, times_seen,
        resolved_at, resolution, first_run_id, last_run_id
    )
    SELECT f.rule, f.key, f.owner, f.team, f.priority, f.score, f.summary, f.details, f.roles,
           '{Status.OPEN}', NULL, NULL, NULL, %(now)s, %(now)s, 1, NULL, '',
           %(run)s::bigint, %(run)s::bigint
    FROM {_TEMP} f
    WHERE NOT EXISTS (SELECT 1 FROM {_RECORD} e WHERE e.rule = f.rule AND e.key = f.key)
    ON CONFLICT (rule, key) DO NOTHING
    RETURNING id
), ev AS (
    INSERT INTO {_EVENT} ({_EVENT_COLUMNS})
    SELECT id, %(now)s, '{EventKind.DETECTED}', '', '{Status.OPEN}', '', %(run)s::bigint FROM ins
)
SELECT count(*) FROM ins
"""

_AUTO_RESOLVE = f"""
WITH gone AS (
    SELECT e.id, e.status FROM {_RECORD} e
    WHERE e.status IN ({_ACTIVE_SQL}) {{rule_filter}}
      AND NOT EXISTS (SELECT 1 FROM {_TEMP} f WHERE f.rule = e.rule AND f.key = e.key)
    FOR UPDATE OF e
), upd AS (
    UPDATE {_RECORD} e SET
        status = '{Status.RESOLVED}', resolved_at = %(now)s, resolution = %(why)s,
        snoozed_until = NULL
    FROM gone WHERE e.id = gone.id
    RETURNING e.id, gone.status AS old_status
), ev AS (
    INSERT INTO {_EVENT} ({_EVENT_COLUMNS})
    SELECT id, %(now)s, '{EventKind.AUTO_RESOLVED}', old_status, '{Status.RESOLVED}',
           %(why)s, %(run)s::bigint
    FROM upd
)
SELECT count(*) FROM upd
"""


def _record_postgresql(
    alias: str,
    frame: pd.DataFrame,
    run_id: int | None,
    rules: list[str] | None,
    now: datetime,
) -> dict[str, int]:
    params = {"now": now, "run": run_id, "why": CLEARED_BY_RECONCILIATION}
    counts: dict[str, int] = {}
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
        # Room for the hash joins and sorts over the whole frame (this transaction only).
        cursor.execute("SET LOCAL work_mem = '128MB'")
        # A caller's enclosing transaction (tests, a retried run) may still hold the table.
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_TEMP}")
        cursor.execute(_CREATE_TEMP)
        with cursor.copy(_COPY) as copy:
            for text in _csv_chunks(frame):
                copy.write(text)
        # Temporary tables are never auto-analysed: without this the planner guesses its size.
        cursor.execute(f"ANALYZE {_TEMP}")

        cursor.execute(_UPDATE_FOUND, params)
        counts["seen_again"], counts["reopened"], counts["escalated"] = cursor.fetchone()
        cursor.execute(_INSERT_NEW, params)
        (counts["opened"],) = cursor.fetchone()
        if rules is None or rules:
            rule_filter = "" if rules is None else "AND e.rule = ANY(%(rules)s)"
            cursor.execute(
                _AUTO_RESOLVE.format(rule_filter=rule_filter), {**params, "rules": rules}
            )
            (counts["auto_resolved"],) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {_TEMP}")
    return counts


def _csv_chunks(frame: pd.DataFrame) -> Iterable[str]:
    for start in range(0, len(frame), COPY_CHUNK_ROWS):
        buffer = io.StringIO()
        # "\r\n": Python's csv quotes a value holding a character of the line terminator, and
        # COPY ends a line at a bare \r too (a key like "W1\rb" from a quoted CSV cell).
        frame.iloc[start : start + COPY_CHUNK_ROWS].to_csv(
            buffer, columns=list(COLUMNS), index=False, header=False, lineterminator="\r\n"
        )
        yield buffer.getvalue()


# --- Any other database: batched bulk_create and update() ---------------------------------------


def _record_orm(
    alias: str,
    frame: pd.DataFrame,
    run_id: int | None,
    rules: list[str] | None,
    now: datetime,
) -> dict[str, int]:
    records = ExceptionRecord.objects.using(alias)
    resolvable = Q(status__in=AUTO_RESOLVABLE)
    if rules is not None:
        resolvable &= Q(rule__in=rules)
    wanted = Q(rule__in=sorted(set(frame["rule"]))) | resolvable
    existing: dict[tuple[str, str], tuple[int, str, str, int]] = {
        (rule, key): (pk, status, priority, times_seen)
        for pk, rule, key, status, priority, times_seen in records.filter(wanted)
        .order_by()  # no need for the model's default ordering here
        .values_list("id", "rule", "key", "status", "priority", "times_seen")
        .iterator(chunk_size=5_000)
    }

    new: list[ExceptionRecord] = []
    seen: list[ExceptionRecord] = []
    reopened: list[int] = []
    events: list[ExceptionEvent] = []
    found_pairs: set[tuple[str, str]] = set()
    for row in frame.itertuples(index=False):
        pair = (row.rule, row.key)
        found_pairs.add(pair)
        fields = {
            "owner": row.owner,
            "team": row.team,
            "priority": row.priority,
            "score": float(row.score),
            "summary": row.summary,
            "details": json.loads(row.details),
            "roles": json.loads(row.roles),
        }
        if pair not in existing:
            new.append(
                ExceptionRecord(
                    rule=row.rule,
                    key=row.key,
                    status=Status.OPEN,
                    first_seen=now,
                    last_seen=now,
                    times_seen=1,
                    first_run_id=run_id,
                    last_run_id=run_id,
                    **fields,
                )
            )
            continue
        pk, status, priority, times_seen = existing[pair]
        seen.append(
            ExceptionRecord(
                rule=row.rule,
                key=row.key,
                last_seen=now,
                times_seen=times_seen + 1,
                last_run_id=run_id,
                **fields,
            )
        )
        if status == Status.RESOLVED:
            reopened.append(pk)
            events.append(_event(pk, EventKind.REOPENED, status, Status.OPEN, run_id, now))
        elif row.priority < priority:  # "P1" < "P3": more urgent
            events.append(_event(pk, EventKind.ESCALATED, priority, row.priority, run_id, now))

    escalated = sum(event.kind == EventKind.ESCALATED for event in events)
    # An upsert on (rule, key) that only ever takes the update branch: one multi-row statement per
    # batch, where bulk_update's per-row CASE WHEN grows quadratically with the batch. Human states
    # (status, assignee, snooze) are not among the updated fields: they survive.
    records.bulk_create(
        seen,
        batch_size=ORM_CHUNK,
        update_conflicts=True,
        unique_fields=["rule", "key"],
        update_fields=["owner", "team", "priority", "score", "summary", "details", "roles"]
        + ["last_seen", "times_seen", "last_run"],
    )
    for chunk in _chunks(reopened):
        records.filter(pk__in=chunk, status=Status.RESOLVED).update(
            status=Status.OPEN, resolved_at=None, resolution="", snoozed_until=None
        )
    for record in records.bulk_create(new, batch_size=ORM_CHUNK):
        events.append(_event(record.pk, EventKind.DETECTED, "", Status.OPEN, run_id, now))

    gone = [
        (pk, status)
        for (rule, _key), (pk, status, _priority, _times) in existing.items()
        if status in AUTO_RESOLVABLE
        and (rules is None or rule in rules)
        and (rule, _key) not in found_pairs
    ]
    for chunk in _chunks([pk for pk, _status in gone]):
        records.filter(pk__in=chunk, status__in=AUTO_RESOLVABLE).update(
            status=Status.RESOLVED,
            resolved_at=now,
            resolution=CLEARED_BY_RECONCILIATION,
            snoozed_until=None,
        )
    events.extend(
        _event(
            pk,
            EventKind.AUTO_RESOLVED,
            status,
            Status.RESOLVED,
            run_id,
            now,
            note=CLEARED_BY_RECONCILIATION,
        )
        for pk, status in gone
    )
    ExceptionEvent.objects.using(alias).bulk_create(events, batch_size=ORM_CHUNK)
    return {
        "opened": len(new),
        "seen_again": len(seen) - len(reopened),
        "reopened": len(reopened),
        "auto_resolved": len(gone),
        "escalated": escalated,
    }


def _event(
    exception_id: int,
    kind: str,
    from_value: str,
    to_value: str,
    run_id: int | None,
    at: datetime,
    *,
    note: str = "",
) -> ExceptionEvent:
    return ExceptionEvent(
        exception_id=exception_id,
        kind=kind,
        from_value=from_value,
        to_value=to_value,
        note=note,
        run_id=run_id,
        at=at,
    )


def _chunks(items: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(items), ORM_CHUNK):
        yield items[start : start + ORM_CHUNK]
