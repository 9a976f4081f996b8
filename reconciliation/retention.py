"""Personal data retention: snapshots older than PARITY_RETENTION_DAYS are deleted with their rows.

Snapshot rows hold customers' names, addresses, phones and emails; nothing else in Parity keeps
them whole. What is never deleted, however old:

- the snapshots of the latest complete reconciliation run (the queue's evidence, the dashboard);
- for each role, the snapshots of the latest complete run that reconciled that role (a bundle
  without a warehouse leaves the last warehouse run in force);
- each role's latest complete snapshot (the base a delta sync lays its changes over);
- the snapshots of a run still pending or running.

Exceptions, their events (the audit trail), run rows and their summaries (RunMetrics, month-end
items) are not touched: they hold what they need without the raw records. A purged snapshot's
links to its runs go with it, and a sync run that made it keeps its row with no snapshot.

Deletion is set-based and batched: rows go `batch_rows` at a time (one short statement each,
so no long lock or huge transaction), then the snapshots themselves. An interrupted purge leaves
old snapshots with part of their rows; the next purge finishes them (nothing reads them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reconciliation.frames import ROLES
from reconciliation.models import ROW_MODELS, ReconciliationRun, Snapshot
from reconciliation.store import latest_complete_snapshots

logger = logging.getLogger(__name__)

BATCH_ROWS = 50_000  # rows per DELETE: a few hundred milliseconds on PostgreSQL
BATCH_SNAPSHOTS = 20  # snapshots whose rows are deleted together


@dataclass
class PurgeReport:
    cutoff: datetime
    snapshots: int = 0  # deleted
    rows: dict[str, int] = field(default_factory=dict)  # file → rows deleted
    kept: int = 0  # older than the cutoff but protected
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        rows = sum(self.rows.values())
        return (
            f"{verb} {self.snapshots} snapshot(s) and {rows} row(s) taken in before "
            f"{self.cutoff:%Y-%m-%d %H:%M %Z}; kept {self.kept} older snapshot(s) still in use"
        )


def protected_snapshot_ids() -> set[int]:
    """The snapshots a purge never deletes (see the module docstring)."""
    complete = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE)
    runs: set[int] = set()
    latest = complete.order_by("-created_at", "-id").values_list("id", flat=True).first()
    if latest is not None:
        runs.add(latest)
    for role in ROLES:
        of_role = complete.filter(snapshots__role=role).order_by("-created_at", "-id")
        run_id = of_role.values_list("id", flat=True).first()
        if run_id is not None:
            runs.add(run_id)
    in_flight = ReconciliationRun.objects.filter(
        status__in=[ReconciliationRun.Status.PENDING, ReconciliationRun.Status.RUNNING]
    )
    runs |= set(in_flight.values_list("id", flat=True))
    through = ReconciliationRun.snapshots.through.objects.filter(reconciliationrun_id__in=runs)
    keep = set(through.values_list("snapshot_id", flat=True))
    keep |= {snapshot.pk for snapshot in latest_complete_snapshots().values()}
    return keep


def purge_snapshots(
    days: int | None = None,
    *,
    now: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
    batch_snapshots: int = BATCH_SNAPSHOTS,
    dry_run: bool = False,
) -> PurgeReport:
    """Delete the snapshots created more than `days` (default PARITY_RETENTION_DAYS) ago, rows
    first, except the protected ones."""
    days = settings.PARITY_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValueError(f"retention days must be 0 or more, not {days}")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run, rows=dict.fromkeys(ROW_MODELS, 0))
    old = Snapshot.objects.filter(created_at__lt=cutoff)
    keep = protected_snapshot_ids()
    ids = list(old.exclude(pk__in=keep).order_by("id").values_list("id", flat=True))
    report.kept = old.filter(pk__in=keep).count()
    for start in range(0, len(ids), batch_snapshots):
        chunk = ids[start : start + batch_snapshots]
        for file, model in ROW_MODELS.items():
            report.rows[file] += _delete_rows(model, chunk, batch_rows, dry_run)
        if not dry_run:
            with transaction.atomic():  # the snapshots, their run links and sync references
                Snapshot.objects.filter(pk__in=chunk).delete()
        report.snapshots += len(chunk)
    logger.info("retention (%d days): %s", days, report)
    return report


def _delete_rows(model: type, snapshot_ids: list[int], batch_rows: int, dry_run: bool) -> int:
    rows = model.objects.filter(snapshot_id__in=snapshot_ids)
    if dry_run:
        return rows.count()
    deleted = 0
    while True:
        # DELETE … WHERE id IN (SELECT id … LIMIT n): one bounded statement per batch.
        batch = model.objects.filter(pk__in=rows.values("pk")[:batch_rows])
        count, _ = batch.delete()
        deleted += count
        if count < batch_rows:
            return deleted


def purge_snapshots_task() -> str:
    """The scheduled job (connectors/schedules.py): purge with the configured retention."""
    return str(purge_snapshots())
