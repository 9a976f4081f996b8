"""Connections to the systems, their sync runs and the records a pull could not read.

Credentials live only as a Fernet token (connectors/crypto.py): the plain values exist in memory
while a connector runs and are never rendered, logged or readable from the table.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from connectors import crypto
from connectors.base import ConnectionSettings
from reconciliation.models import InvalidTransition, Role, Snapshot


class SyncAlreadyRunning(Exception):
    """The connection already has a pending or running sync; two never overlap."""


class Connection(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=40, help_text="The system: a registered connector kind.")
    role = models.CharField(max_length=8, choices=Role.choices)
    base_url = models.CharField(max_length=500, verbose_name="base URL")
    # A Fernet token of the credentials JSON; see set_credentials(). Never plain text.
    credentials_token = models.TextField(blank=True, editable=False)
    # The names of the credential fields that are set, so pages can say "set" without decrypting.
    credential_names = models.JSONField(default=list, blank=True, editable=False)
    options = models.JSONField(
        default=dict, blank=True, help_text="Connector options, e.g. field mapping overrides."
    )
    enabled = models.BooleanField(default=True)
    schedule_minutes = models.PositiveIntegerField(
        default=15, help_text="Pull changes every this many minutes (0: only when asked)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role", "name"]
        permissions = [("manage_connections", "Can manage connections, test and sync them")]
        constraints = [
            # A bundle has one snapshot per role, so one enabled system may feed each role.
            models.UniqueConstraint(
                fields=["role"], condition=Q(enabled=True), name="one_enabled_connection_per_role"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # no credentials, ever
        return f"<Connection {self.pk} {self.name!r} {self.kind}/{self.role}>"

    def set_credentials(self, values: dict[str, str], *, keep_blank: bool = True) -> None:
        """Store credentials encrypted. With keep_blank, an empty value keeps the stored one (the
        form never shows secrets back, so an untouched field arrives empty)."""
        current = self.credentials() if keep_blank else {}
        merged = {**current, **{k: v for k, v in values.items() if v or not keep_blank}}
        merged = {k: v for k, v in merged.items() if v}
        self.credentials_token = crypto.encrypt(merged) if merged else ""
        self.credential_names = sorted(merged)

    def credentials(self) -> dict[str, str]:
        return crypto.decrypt(self.credentials_token)

    def connection_settings(self) -> ConnectionSettings:
        return ConnectionSettings(
            name=self.name,
            kind=self.kind,
            role=self.role,
            base_url=self.base_url,
            credentials=self.credentials(),
            options=dict(self.options or {}),
        )

    def active_run(self) -> SyncRun | None:
        return self.sync_runs.filter(state__in=SyncRun.ACTIVE).first()

    def last_run(self) -> SyncRun | None:
        return self.sync_runs.order_by("-created_at", "-id").first()


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        DELTA = "delta", "Changes since the last pull"
        FULL = "full", "Full refresh"
        DISPATCH = "dispatch", "Dispatch poll"
        STOCK = "stock", "Stock levels"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Sync now"
        RETRY = "retry", "Retry"

    ACTIVE = (State.PENDING, State.RUNNING)
    TRANSITIONS: dict[str, set[str]] = {
        State.PENDING: {State.RUNNING, State.FAILED},
        State.RUNNING: {State.COMPLETE, State.FAILED},
        State.COMPLETE: set(),
        State.FAILED: set(),
    }

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DELTA)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(null=True, blank=True, help_text="A delta's lower bound.")
    pages_done = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(null=True, blank=True)
    records_done = models.PositiveIntegerField(default=0)
    records_total = models.PositiveIntegerField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(null=True, blank=True, help_text="Failed for good (auth...)")
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_runs"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="syncrun_latest")]
        constraints = [
            # Two runs of one connection never overlap: enforced by the database, so two workers
            # racing for the same connection cannot both start.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(state__in=["pending", "running"]),
                name="one_active_sync_per_connection",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.kind} sync {self.pk} ({self.state})"

    # -- state machine --------------------------------------------------------------------------

    @classmethod
    def create(cls, connection: Connection, **fields: Any) -> SyncRun:
        """A new run (pending unless `state` says otherwise); SyncAlreadyRunning if one is active."""
        run = cls(connection=connection, **fields)
        if run.state == cls.State.RUNNING:
            run.started_at = timezone.now()
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction stays usable
                run.save(force_insert=True)
        except IntegrityError as exc:
            raise SyncAlreadyRunning(cls._already(connection)) from exc
        return run

    @classmethod
    def _already(cls, connection: Connection) -> str:
        active = connection.active_run()
        if active is None:
            return f"{connection}: another sync was active"
        return f"{connection}: sync {active.pk} is already {active.state}"

    @classmethod
    def fail_stale(cls, connection: Connection | None, older_than: timedelta) -> int:
        """Fail runs whose worker died: `running` longer than a task may live (the Q timeout),
        or `pending` so long that its task is lost. Returns how many."""
        now = timezone.now()
        runs = (
            cls.objects.all() if connection is None else cls.objects.filter(connection=connection)
        )
        stale = runs.filter(
            Q(state=cls.State.RUNNING, started_at__lt=now - older_than)
            | Q(state=cls.State.PENDING, created_at__lt=now - 2 * older_than)
        )
        return stale.update(
            state=cls.State.FAILED,
            finished_at=now,
            permanent=False,
            error=f"abandoned: no result after {older_than} (the worker died or timed out)",
        )

    def _move(self, state: str) -> None:
        if state not in self.TRANSITIONS[self.state]:
            raise InvalidTransition(f"sync {self.pk}: cannot go from {self.state} to {state}")
        self.state = state

    def start(self) -> None:
        """pending → running, only if still pending in the database (a redelivered task, or the
        stale-run sweep, may have moved it)."""
        self._move(self.State.RUNNING)
        self.started_at = timezone.now()
        moved = SyncRun.objects.filter(pk=self.pk, state=self.State.PENDING).update(
            state=self.State.RUNNING, started_at=self.started_at
        )
        if not moved:
            self.refresh_from_db()
            raise InvalidTransition(f"sync {self.pk} is {self.state}, not pending")

    def complete(self, snapshot: Snapshot | None, **fields: Any) -> None:
        self._move(self.State.COMPLETE)
        self.finished_at = timezone.now()
        self.snapshot = snapshot
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=["state", "finished_at", "snapshot", *fields])

    def fail(self, error: str, *, permanent: bool | None = None) -> None:
        self._move(self.State.FAILED)
        self.finished_at = timezone.now()
        self.error = error
        self.permanent = permanent
        self.save(update_fields=["state", "finished_at", "error", "permanent"])

    # -- display --------------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def percent(self) -> int | None:
        """Progress 0-100 when a total is known; None while it is not (an indeterminate bar)."""
        if self.state == self.State.COMPLETE:
            return 100
        if self.records_total:
            return min(100, self.records_done * 100 // self.records_total)
        if self.pages_total:
            return min(100, self.pages_done * 100 // self.pages_total)
        return None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class QuarantinedRecord(models.Model):
    """A record a pull could not read: kept with its payload and the reason, never dropped."""

    sync_run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="quarantine")
    file = models.CharField(max_length=32)
    ref = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    payload = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sync_run", "id"]

    def __str__(self) -> str:
        return f"{self.file} {self.ref or '?'}: {self.reason}"
