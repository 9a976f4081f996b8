"""Reconciliation runs: a small state machine (pending → running → complete | failed) that the
database keeps to one running run at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from reconciliation.models.snapshots import InvalidTransition, Snapshot


class RunAlreadyRunning(Exception):
    """Another reconciliation run is in progress; runs never overlap."""


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
        except IntegrityError as exc:
            raise RunAlreadyRunning(cls._already_running()) from exc
        return run

    @classmethod
    def fail_abandoned(cls, older_than: timedelta) -> int:
        """Fail runs left `running` by a process that died (killed, out of memory): otherwise
        they would hold the one running slot for ever. Returns how many."""
        now = timezone.now()
        return cls.objects.filter(
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
        except IntegrityError as exc:
            self.status = self.Status.PENDING
            self.started_at = None
            raise RunAlreadyRunning(self._already_running()) from exc

    def complete(self, **fields: Any) -> None:
        """running → complete, storing results such as counts, timings and totals."""
        self._move(self.Status.COMPLETE)
        self.finished_at = timezone.now()
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=["status", "finished_at", *fields])

    def fail(self, error: str) -> None:
        self._move(self.Status.FAILED)
        self.finished_at = timezone.now()
        self.error = error
        self.save(update_fields=["status", "finished_at", "error"])
