"""Reconciliation runs: a small state machine (pending → running → complete | failed) that the
database keeps to one running run at a time.

On PostgreSQL the process running a run also holds a session advisory lock named by the run's id
(taken in the transaction that makes the run `running`, so no other process ever sees the run
without it). The database drops the lock when that process or its connection dies, which is how
`fail_abandoned` tells a dead run from a live one at once instead of after ABANDONED_AFTER.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from reconciliation.models.snapshots import InvalidTransition, Snapshot


class RunAlreadyRunning(Exception):
    """Another reconciliation run is in progress; runs never overlap."""


# The advisory lock's first key (an arbitrary constant naming "a live reconciliation run"); the
# second is the run's id.
LIVE_RUN_LOCK = 730_124
_ABANDONED_SQL = """
SELECT r.id FROM reconciliation_reconciliationrun r
WHERE r.status = 'running' AND NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %s AND l.objid::bigint = r.id
)
"""


def _holds_locks() -> bool:
    return connection.vendor == "postgresql"


def _hold(run_id: int) -> None:
    if _holds_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LIVE_RUN_LOCK, run_id])


def _release(run_id: int) -> None:
    if _holds_locks():
        # Not held (the run was failed from elsewhere, or the connection was replaced): fine.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, %s) FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2",
                [LIVE_RUN_LOCK, run_id, LIVE_RUN_LOCK, run_id],
            )


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    TRANSITIONS: dict[str, set[str]] = {
        Status.PENDING: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.COMPLETE, Status.FAILED},
        Status.COMPLETE: set(),
        Status.FAILED: set(),
    }

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    source = models.TextField(blank=True)
    snapshots = models.ManyToManyField(Snapshot, related_name="runs", blank=True)
    config = models.JSONField(default=dict, blank=True)  # the bundle's config.json as given
    settings = models.JSONField(default=dict, blank=True)  # effective ReconSettings.to_json()
    sku_map = models.JSONField(default=list, blank=True)  # [{role, sku, canonical_sku}]
    timings = models.JSONField(default=dict, blank=True)  # phase -> seconds
    counts = models.JSONField(default=dict, blank=True)  # rule -> exceptions found
    totals = models.JSONField(default=dict, blank=True)  # found/opened/reopened/... from sync
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # "Refuse to start twice", enforced by the database so two processes cannot race.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="running"),
                name="one_running_reconciliation_run",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @classmethod
    def begin(cls, **fields: Any) -> ReconciliationRun:
        """A new run, created straight in `running`; RunAlreadyRunning if another one is."""
        run = cls(status=cls.Status.RUNNING, started_at=timezone.now(), **fields)
        try:
            with transaction.atomic():
                run.save(force_insert=True)
                _hold(run.pk)  # before the commit: no one sees the run running without it
        except IntegrityError as exc:
            raise RunAlreadyRunning(cls._already_running()) from exc
        return run

    @classmethod
    def fail_abandoned(cls, older_than: timedelta) -> int:
        """Fail runs left `running` by a process that died (killed, out of memory, its database
        connection dropped): otherwise they would hold the one running slot for ever. On
        PostgreSQL a run whose lock no connection holds is abandoned at once; anywhere, a run
        still running after `older_than`. Returns how many."""
        now = timezone.now()
        failed = 0
        if _holds_locks():
            with connection.cursor() as cursor:
                cursor.execute(_ABANDONED_SQL, [LIVE_RUN_LOCK])
                dead = [row[0] for row in cursor.fetchall()]
            failed = cls.objects.filter(pk__in=dead, status=cls.Status.RUNNING).update(
                status=cls.Status.FAILED,
                finished_at=now,
                error="abandoned: its process or database connection has gone",
            )
        return failed + cls.objects.filter(
            status=cls.Status.RUNNING, started_at__lt=now - older_than
        ).update(
            status=cls.Status.FAILED,
            finished_at=now,
            error=f"abandoned: still running after {older_than} (its process has gone)",
        )

    @classmethod
    def _already_running(cls) -> str:
        running = cls.objects.filter(status=cls.Status.RUNNING).first()
        if running is None:  # finished in between: the caller may simply try again
            return "another reconciliation run was running"
        return (
            f"reconciliation run {running.pk} is already running "
            f"(since {running.started_at:%Y-%m-%d %H:%M:%S %Z})"
        )

    def _move(self, status: str) -> None:
        if status not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(f"run {self.pk}: cannot go from {self.status} to {status}")
        self.status = status

    def start(self) -> None:
        """pending → running; raises RunAlreadyRunning when another run holds the slot."""
        self._move(self.Status.RUNNING)
        self.started_at = timezone.now()
        try:
            # The savepoint keeps an enclosing transaction usable after the IntegrityError.
            with transaction.atomic():
                self.save(update_fields=["status", "started_at"])
                _hold(self.pk)
        except IntegrityError as exc:
            self.status = self.Status.PENDING
            self.started_at = None
            raise RunAlreadyRunning(self._already_running()) from exc

    def complete(self, **fields: Any) -> None:
        """running → complete, storing results such as counts, timings and totals.
        InvalidTransition when the row is no longer running (failed as abandoned meanwhile):
        a run that lost its slot must not complete over the one that took it."""
        was = self.status
        self._move(self.Status.COMPLETE)
        self.finished_at = timezone.now()
        for name, value in fields.items():
            setattr(self, name, value)
        self._save_if_still(was, ["status", "finished_at", *fields])
        _release(self.pk)

    def fail(self, error: str) -> None:
        was = self.status
        self._move(self.Status.FAILED)
        self.finished_at = timezone.now()
        self.error = error
        self._save_if_still(was, ["status", "finished_at", "error"])
        _release(self.pk)

    def _save_if_still(self, was: str, fields: list[str]) -> None:
        """Save only over the state this instance moved from (the row may have moved since)."""
        values = {name: getattr(self, name) for name in fields}
        try:
            saved = type(self).objects.filter(pk=self.pk, status=was).update(**values)
        except DatabaseError:
            self.status = was  # not saved: a retry on a fresh connection starts from here
            raise
        if not saved:
            current = type(self).objects.filter(pk=self.pk).values_list("status", flat=True)
            self.status = current.first() or was
            raise InvalidTransition(
                f"run {self.pk} is {current.first() or 'gone'} in the database, not {was}"
            )
