"""Sync service, "no partial truth": a pull either completes and becomes a complete snapshot, or
fails and saves nothing, leaving the role's last complete snapshot in force.

- A full pull becomes a new snapshot of the connection's role as it is.
- A delta pull (and a dispatch or stock poll) is laid over the role's last complete snapshot —
  changed orders replace their rows, lines and shipments by order_ref, stock rows are replaced by
  sku, products by sku, adjustments by adjustment_ref — and the result saved as a new complete
  snapshot. With no snapshot yet, a delta runs as a full pull.
- Records a connector could not read are stored as QuarantinedRecord rows and counted.
- `reconcile_latest()` reconciles the latest complete snapshot of each role, only when every role
  fed by an enabled connection has one and that set (or the set of failing syncs) is newer than
  the last run; failing connections go in as `Bundle.sync_failures` so SYNC_FAILED reports them.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from connectors.base import ConnectorError, Progress, PullResult
from connectors.http import connector_for
from connectors.models import Connection, QuarantinedRecord, SyncAlreadyRunning, SyncRun
from integration.logging import log_context
from reconciliation.frames import FILES, SCHEMAS, Bundle, RoleSnapshot
from reconciliation.models import (
    InvalidTransition,
    ReconciliationRun,
    RunAlreadyRunning,
    Snapshot,
)
from reconciliation.runs import reconcile_saved
from reconciliation.store import latest_complete_snapshots, load_bundle, save_snapshots

logger = logging.getLogger(__name__)

# The files each kind of partial pull asks a connector for (a connector whose pull() takes
# `files` gets them; others pull what they pull and the overlay keeps everything they return).
KIND_FILES: dict[str, tuple[str, ...] | None] = {
    SyncRun.Kind.FULL: None,
    SyncRun.Kind.DELTA: None,
    SyncRun.Kind.DISPATCH: ("orders", "shipments"),
    SyncRun.Kind.STOCK: ("stock",),
}
# Which earlier runs a partial pull may take its `since` from.
SINCE_FROM: dict[str, tuple[str, ...]] = {
    SyncRun.Kind.DELTA: (SyncRun.Kind.DELTA, SyncRun.Kind.FULL),
    SyncRun.Kind.DISPATCH: (SyncRun.Kind.DISPATCH, SyncRun.Kind.DELTA, SyncRun.Kind.FULL),
    SyncRun.Kind.STOCK: (SyncRun.Kind.STOCK, SyncRun.Kind.FULL),
}
# A changed record's keys: delta rows replace base rows with the same key.
ORDER_KEYED = ("orders", "order_lines", "shipments")
KEYS = {"products": "sku", "stock": "sku", "adjustments": "adjustment_ref"}
PROGRESS_EVERY = 0.5  # seconds between progress writes


def stale_after() -> timedelta:
    """A run `running` longer than a task may live (the Q timeout) lost its worker."""
    return timedelta(seconds=int(settings.Q_CLUSTER.get("timeout", 1800)))


def delta_overlap() -> timedelta:
    """A delta starts this long before the last pull did: clocks differ, writes land late."""
    return timedelta(minutes=int(getattr(settings, "PARITY_SYNC_OVERLAP_MINUTES", 5)))


# -- running a sync ------------------------------------------------------------------------------


def begin_sync(
    connection: Connection, kind: str, *, trigger: str = SyncRun.Trigger.SCHEDULE
) -> SyncRun:
    """A pending run for a task to pick up ("Sync now"); SyncAlreadyRunning if one is active."""
    SyncRun.fail_stale(connection, stale_after())
    return SyncRun.create(connection, kind=kind, trigger=trigger)


def run_sync(
    connection_id: int,
    kind: str = SyncRun.Kind.DELTA,
    *,
    run_id: int | None = None,
    trigger: str = SyncRun.Trigger.SCHEDULE,
    client_options: dict[str, Any] | None = None,
    on_complete: Callable[[SyncRun], None] | None = None,
) -> SyncRun | None:
    """Run one sync of a connection; idempotent for a given `run_id`.

    Returns the run (complete or failed), or None when there was nothing to do: the connection
    is disabled, another sync of it is active, or `run_id` is already being worked on. A run left
    `running` by a dead worker is failed first and, when it is this task's own run, retried as a
    new run. `on_complete` is called after the snapshot is committed (e.g. to queue a reconcile).
    """
    connection = Connection.objects.get(pk=connection_id)
    SyncRun.fail_stale(connection, stale_after())
    run = _claim(connection, kind, run_id, trigger)
    if run is None:
        return None
    # Every record logged during the sync (httpx's request lines too) names it in JSON logs.
    with log_context(sync_run=run.pk, connection=connection.pk):
        return _run_claimed(connection, run, client_options or {}, on_complete)


def _run_claimed(
    connection: Connection,
    run: SyncRun,
    client_options: dict[str, Any],
    on_complete: Callable[[SyncRun], None] | None,
) -> SyncRun:
    try:
        snapshot, result = _pull_and_save(connection, run, client_options)
    except BaseException as exc:  # Ctrl-C and worker shutdown too: never leave it `running`
        permanent = exc.permanent if isinstance(exc, ConnectorError) else None
        _fail(run, exc, permanent)
        if not isinstance(exc, Exception):
            raise
        if not isinstance(exc, ConnectorError):
            logger.exception("sync %s of %s failed", run.pk, connection.name)
        return run
    logger.info(
        "sync %s of %s complete: snapshot %s, %d records, %d quarantined, %d requests",
        run.pk,
        connection.name,
        snapshot.pk,
        run.records_done,
        run.quarantined,
        run.requests,
    )
    if on_complete is not None:
        transaction.on_commit(lambda: on_complete(run))
    return run


def _claim(connection: Connection, kind: str, run_id: int | None, trigger: str) -> SyncRun | None:
    if run_id is not None:
        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None:
            return None
        if run.state == SyncRun.State.PENDING:
            try:
                run.start()
            except InvalidTransition:
                return None  # another delivery of this task got there first
            return run
        if run.state != SyncRun.State.FAILED or not run.error.startswith("abandoned"):
            return None  # complete, running elsewhere, or failed for a reason a retry won't fix
        trigger, kind = SyncRun.Trigger.RETRY, run.kind  # its worker died: go again
    elif not connection.enabled:
        return None
    try:
        return SyncRun.create(connection, kind=kind, trigger=trigger, state=SyncRun.State.RUNNING)
    except SyncAlreadyRunning as exc:
        logger.info("skipped: %s", exc)
        return None


def _pull_and_save(
    connection: Connection, run: SyncRun, client_options: dict[str, Any]
) -> tuple[Snapshot, PullResult]:
    base = None
    if run.kind != SyncRun.Kind.FULL:
        base = latest_complete_snapshots().get(connection.role)
        if base is None:
            run.kind = SyncRun.Kind.FULL  # nothing to lay changes over yet
        else:
            run.since = _since(connection, run.kind)
        SyncRun.objects.filter(pk=run.pk).update(kind=run.kind, since=run.since)

    connector = connector_for(connection.connection_settings(), **client_options)
    reporter = _Reporter(run, connector.client)
    try:
        arguments: dict[str, Any] = {"since": run.since, "progress": reporter}
        files = KIND_FILES.get(run.kind)
        if files and "files" in inspect.signature(connector.pull).parameters:
            arguments["files"] = files
        result = connector.pull(**arguments)
    except BaseException:
        # The counters as far as it got; the pull's own error is the one to report (a dropped
        # database connection would fail this write too, hiding why).
        with contextlib.suppress(DatabaseError):
            reporter.flush()
        raise
    finally:
        connector.client.close()
    reporter.flush()
    run.requests = max(result.requests, connector.client.requests)

    frames = _checked_frames(result)
    if run.kind == SyncRun.Kind.FULL and not result.complete:
        raise ConnectorError("a full pull returned only part of the records", permanent=True)
    if not result.complete:
        frames = overlay(_load_frames(base), frames)
    taken_at = result.taken_at or run.started_at or timezone.now()

    with transaction.atomic():
        # Re-read under a lock: if the run was failed meanwhile, nothing of it may be saved.
        if SyncRun.objects.select_for_update().get(pk=run.pk).state != SyncRun.State.RUNNING:
            raise InvalidTransition(f"sync {run.pk} is no longer running")
        snapshot = save_role_snapshot(connection, frames, taken_at)
        QuarantinedRecord.objects.bulk_create(
            QuarantinedRecord(
                sync_run=run,
                file=item.file,
                ref=_storable(str(item.ref or ""))[:200],
                reason=_storable(item.reason),
                payload=_jsonable(item.payload),
            )
            for item in result.quarantined
        )
        run.complete(
            snapshot,
            requests=run.requests,
            quarantined=len(result.quarantined),
            records_done=reporter.progress.records_done or _record_count(result.frames),
            pages_done=reporter.progress.pages_done,
        )
    return snapshot, result


def _since(connection: Connection, kind: str) -> datetime | None:
    previous = (
        connection.sync_runs.filter(state=SyncRun.State.COMPLETE, kind__in=SINCE_FROM[kind])
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return previous - delta_overlap() if previous else None


def _fail(run: SyncRun, exc: BaseException, permanent: bool | None) -> None:
    message = str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"
    message = message.strip()[:2000]

    def mark() -> None:
        current = SyncRun.objects.get(pk=run.pk)
        if current.state == SyncRun.State.RUNNING:
            current.fail(message, permanent=permanent)
        run.refresh_from_db()

    try:
        try:
            mark()
        except (OperationalError, InterfaceError):
            # The connection itself died (the error may be that): a fresh one records the
            # failure, or the run would stay `running` until it is taken for abandoned.
            if db_connection.in_atomic_block:
                raise
            db_connection.close()
            mark()
    except Exception:
        logger.exception("could not mark sync %s failed", run.pk)


class _Reporter:
    """The connector's progress callback: writes the counters to the run, at most twice a second."""

    def __init__(self, run: SyncRun, client: Any) -> None:
        self.run = run
        self.client = client
        self.progress = Progress()
        self._written = 0.0

    def __call__(self, progress: Progress) -> None:
        self.progress = progress
        if time.monotonic() - self._written >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        p = self.progress
        SyncRun.objects.filter(pk=self.run.pk).update(
            pages_done=p.pages_done,
            pages_total=p.pages_total,
            records_done=p.records_done,
            records_total=p.records_total,
            requests=max(p.requests, getattr(self.client, "requests", 0)),
        )
        self._written = time.monotonic()


# -- snapshots -----------------------------------------------------------------------------------


def save_role_snapshot(
    connection: Connection, frames: dict[str, pd.DataFrame], taken_at: datetime
) -> Snapshot:
    """One role's frames as a complete snapshot, through the store's bundle API."""
    stamp = pd.Timestamp(taken_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    role = RoleSnapshot(role=connection.role, kind=connection.kind, taken_at=stamp, frames=frames)
    bundle = Bundle(as_of=stamp, currency="", roles={connection.role: role})
    (snapshot,) = save_snapshots(
        bundle, source=Snapshot.Source.CONNECTOR, source_name=connection.name
    )
    return snapshot


def _checked_frames(result: PullResult) -> dict[str, pd.DataFrame]:
    unknown = sorted(set(result.frames) - set(FILES))
    if unknown:
        raise ConnectorError(f"the connector returned unknown files: {unknown}", permanent=True)
    for file, frame in result.frames.items():
        missing = [col for col in SCHEMAS[file] if col not in frame.columns]
        if missing:
            raise ConnectorError(
                f"{file}: the connector left out columns {missing}", permanent=True
            )
    return {file: frame for file, frame in result.frames.items() if frame is not None}


def _load_frames(snapshot: Snapshot | None) -> dict[str, pd.DataFrame]:
    if snapshot is None:
        return {}
    bundle = load_bundle([snapshot], as_of=snapshot.taken_at, currency="")
    return dict(bundle.roles[snapshot.role].frames)


def overlay(
    base: dict[str, pd.DataFrame], delta: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """The base snapshot's frames with the delta's changed records in place of the old ones.

    An order in the delta brings its lines and shipments: every base row of that order_ref goes.
    Shipments for an order not in the delta (a dispatch poll) replace that order's shipments.
    """
    merged = dict(base)
    changed_orders = _keys(delta.get("orders"), "order_ref")
    for file in ORDER_KEYED:
        refs = changed_orders
        if file == "shipments":
            refs = refs | _keys(delta.get("shipments"), "order_ref")
        merged[file] = _replace(base.get(file), delta.get(file), "order_ref", refs)
    for file, key in KEYS.items():
        merged[file] = _replace(base.get(file), delta.get(file), key, _keys(delta.get(file), key))
    return {file: frame for file, frame in merged.items() if frame is not None}


def _keys(frame: pd.DataFrame | None, column: str) -> set[str]:
    if frame is None or frame.empty:
        return set()
    return set(frame[column].dropna().astype(str))


def _replace(
    base: pd.DataFrame | None, delta: pd.DataFrame | None, key: str, refs: set[str]
) -> pd.DataFrame | None:
    if delta is None:
        if base is None or not refs:
            return base
        return base[~base[key].astype(str).isin(refs)].reset_index(drop=True)
    if base is None:
        return delta.reset_index(drop=True)
    kept = base[~base[key].isin(list(refs))] if refs else base
    combined = pd.concat([kept, delta], ignore_index=True)
    # concat widens a dtype when one side lacks a column; give back the base's canonical dtypes.
    for column, dtype in base.dtypes.items():
        if column in combined.columns and combined[column].dtype != dtype:
            combined[column] = combined[column].astype(dtype)
    return combined


def _record_count(frames: dict[str, pd.DataFrame]) -> int:
    return sum(len(frame) for frame in frames.values() if frame is not None)


def _jsonable(value: Any) -> Any:
    """A payload as JSON values (quarantined payloads come from APIs: nearly always JSON already)."""
    if isinstance(value, dict):
        return {_storable(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON readers take NaN and Infinity; jsonb does not
    if value is None or isinstance(value, int | float | bool):
        return value
    return _storable(str(value))


def _storable(text: str) -> str:
    """Text PostgreSQL can store: a NUL or a lone surrogate (JSON carries both; text and jsonb
    refuse them, failing the whole sync) is written out as its escape."""
    if text.isascii() and "\x00" not in text:
        return text
    text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# -- reconciling the latest complete set ---------------------------------------------------------


def current_sync_failures() -> list[dict[str, Any]]:
    """Enabled connections whose latest finished sync failed: [{connection, role, error, at}]."""
    failures = []
    for connection in Connection.objects.filter(enabled=True).order_by("role", "name"):
        last = (
            connection.sync_runs.filter(state__in=[SyncRun.State.COMPLETE, SyncRun.State.FAILED])
            .order_by("-finished_at", "-id")
            .first()
        )
        if last is not None and last.state == SyncRun.State.FAILED:
            failures.append(
                {
                    "connection": connection.name,
                    "role": connection.role,
                    "error": last.error,
                    "at": last.finished_at.isoformat() if last.finished_at else None,
                }
            )
    return failures


def reconcile_latest(*, force: bool = False) -> ReconciliationRun | None:
    """Reconcile the latest complete snapshots when they (or the failing syncs) changed since
    the last run. None when there is nothing new, the set is incomplete or a run is going on."""
    latest = latest_complete_snapshots()
    needed = set(Connection.objects.filter(enabled=True).values_list("role", flat=True))
    if not latest or needed - set(latest):
        logger.info(
            "not reconciling: no complete snapshot yet for %s", sorted(needed - set(latest))
        )
        return None
    failures = current_sync_failures()
    last = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE).first()
    if last is not None and not force and not _newer(latest.values(), last):
        return None
    snapshots = list(latest.values())
    bundle = load_bundle(
        snapshots,
        as_of=timezone.now(),
        # Settings come from the profile and the mapping tables (no config.json here).
        currency=(last.currency if last else "") or getattr(settings, "PARITY_CURRENCY", "GBP"),
        source="connectors",
        sync_failures=failures,
    )
    source = "connectors: " + ", ".join(f"{s.role} {s.source_name}" for s in snapshots)
    try:
        run, _ = reconcile_saved(bundle, snapshots, source=source)
    except RunAlreadyRunning as exc:
        logger.info("not reconciling now: %s", exc)
        return None
    return run


def _newer(snapshots: Iterable[Snapshot], last: ReconciliationRun) -> bool:
    """New snapshots, or a sync that failed since the last run (a recovery brings a snapshot)."""
    reconciled = set(last.snapshots.values_list("id", flat=True))
    if any(snapshot.pk not in reconciled for snapshot in snapshots):
        return True
    since = last.started_at or last.created_at
    return SyncRun.objects.filter(state=SyncRun.State.FAILED, finished_at__gt=since).exists()
