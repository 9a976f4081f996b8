"""Exceptions people work: one deduplicated record per (rule, key), and its append-only events.

`ExceptionRecord` carries the lifecycle (status, first/last seen, times seen, resolved at) the way
an error tracker groups repeated errors; `ExceptionEvent` rows are written explicitly by whatever
changes a record (the reconciliation sync, and later the people's actions) — never by signals.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone


class Priority(models.TextChoices):
    # Ordered so that the string order is the urgency order: "P1" < "P2" means P1 is more urgent.
    P1 = "P1", "P1 · act now"
    P2 = "P2", "P2 · today"
    P3 = "P3", "P3 · soon"
    P4 = "P4", "P4 · tidy-up"


class Owner(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    OFFICE = "office", "Office"


class Team(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    OPS = "ops", "Ops"
    CX = "cx", "CX"
    FINANCE = "finance", "Finance"
    ECOMMERCE = "ecommerce", "E-commerce"
    MERCHANDISING = "merchandising", "Merchandising"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    # Closed by a person as not an issue or a duplicate. Unlike `resolved`, a run that still finds
    # the mismatch does not reopen it (the sync reopens `resolved` only), nor resolve it.
    DISMISSED = "dismissed", "Dismissed"


class ResolutionReason(models.TextChoices):
    # Why a person resolved an exception (a fixed list so the month's reasons can be counted).
    FIXED_IN_ERP = "fixed_in_erp", "Fixed in ERP"
    FIXED_IN_WMS = "fixed_in_wms", "Fixed in WMS"
    FIXED_IN_STORE = "fixed_in_store", "Fixed in store"
    NOT_AN_ISSUE = "not_an_issue", "Not an issue"
    DUPLICATE = "duplicate", "Duplicate"
    OTHER = "other", "Other (note)"


# The statuses a reconciliation run may resolve when it no longer finds the exception. Statuses
# added later (e.g. an "ignored" state) are deliberately not in here unless they should be.
AUTO_RESOLVABLE: tuple[str, ...] = (Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED)
# What the queue shows when no status filter is given (plus snoozes that have ended).
QUEUE_DEFAULT_STATUSES: tuple[str, ...] = (Status.OPEN, Status.ACKNOWLEDGED)
# Statuses of an exception still being worked (the queue's partial indexes cover these rows).
WORKING_STATUSES: tuple[str, ...] = (Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED)
# Statuses of an exception nobody needs to work any more.
CLOSED_STATUSES: tuple[str, ...] = (Status.RESOLVED, Status.DISMISSED)
# Reasons that dismiss rather than resolve: the data still disagrees, and that is fine.
DISMISSING_REASONS: tuple[str, ...] = (ResolutionReason.NOT_AN_ISSUE, ResolutionReason.DUPLICATE)
# How long an active exception may wait, from first seen, before its SLA is breached.
SLA_HOURS: dict[str, int] = {Priority.P1: 4, Priority.P2: 24, Priority.P3: 72, Priority.P4: 168}
CLEARED_BY_RECONCILIATION = "cleared by reconciliation"


class ExceptionRecord(models.Model):
    rule = models.CharField(max_length=64)
    key = models.TextField()
    owner = models.CharField(max_length=16, choices=Owner.choices)
    team = models.CharField(max_length=32, choices=Team.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    score = models.FloatField(default=0.0)
    summary = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    roles = models.JSONField(default=list, blank=True)  # ["store", "erp", "wms"] involved

    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_exceptions",
        db_index=False,  # a partial index below: most exceptions have no assignee
    )
    assigned_team = models.CharField(max_length=32, choices=Team.choices, null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)

    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    times_seen = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)  # why: "cleared by reconciliation", a person's note
    # Set by a person resolving (actions.resolve); empty when reconciliation cleared it.
    resolution_reason = models.CharField(
        max_length=24, choices=ResolutionReason.choices, blank=True, default="", db_default=""
    )  # db_default: the sync's own INSERT statement does not name this column
    # The team whose queue shows the exception: the team a person assigned it to, else the
    # engine's team. Stored and computed by the database, so the sync (which rewrites `team` on
    # every run) and the actions (which set `assigned_team`) never have to keep it in step.
    queue_team = models.GeneratedField(
        expression=Coalesce("assigned_team", "team"),
        output_field=models.CharField(max_length=32, choices=Team.choices),
        db_persist=True,
    )

    first_run = models.ForeignKey(
        "reconciliation.ReconciliationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exceptions_first_seen",
        # "What did run N open" is answered by the events' run column; an index here would
        # only slow the insert of every new exception down.
        db_index=False,
    )
    last_run = models.ForeignKey(
        "reconciliation.ReconciliationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exceptions_last_seen",
        # Rewritten on every run for every found exception: an index would slow each run down.
        db_index=False,
    )

    class Meta:
        ordering = ["-score", "id"]
        # Granted per role group by integration.roles.ensure_role_groups(); which exceptions a
        # holder may touch (the owner side) is integration.permissions.can()'s object check.
        permissions = [
            ("act_on_exception", "Can acknowledge, comment on and snooze exceptions"),
            ("resolve_exception", "Can resolve and reopen exceptions"),
            ("assign_exception", "Can assign exceptions to a team or person"),
        ]
        constraints = [
            # The fingerprint: at most one exception per (rule, key), ever (rules.md).
            models.UniqueConstraint(fields=["rule", "key"], name="exception_rule_key_unique"),
        ]
        indexes = [
            # The queue's filters, each ending in its default sort. A rule filter uses the unique
            # (rule, key) index above, whose leading column is rule.
            models.Index(fields=["status", "-score"], name="exception_status_score"),
            # "My queue": the team a person assigned it to, else the engine's.
            models.Index(
                fields=["status", "queue_team", "-score"], name="exception_status_qteam_score"
            ),
            models.Index(fields=["status", "owner", "-score"], name="exception_status_owner_score"),
            # Exact and prefix key search (text_pattern_ops makes LIKE 'abc%' indexable on
            # PostgreSQL in any collation; other databases ignore the opclass).
            models.Index(fields=["key"], name="exception_key", opclasses=["text_pattern_ops"]),
            models.Index(
                fields=["assignee"],
                name="exception_assignee",
                condition=Q(assignee__isnull=False),
            ),
            # The working queue (filters.active_q: open, acknowledged, snoozes that ended) read in
            # score order: partial indexes over the unresolved rows only, so a page of "My queue"
            # or of one owner's side is read straight off the index, however many rows are closed.
            models.Index(
                fields=["queue_team", "-score", "id"],
                name="exception_work_team",
                condition=Q(status__in=WORKING_STATUSES),
            ),
            models.Index(
                fields=["owner", "-score", "id"],
                name="exception_work_owner",
                condition=Q(status__in=WORKING_STATUSES),
            ),
            models.Index(
                fields=["-score", "id"],
                name="exception_work_score",
                condition=Q(status__in=WORKING_STATUSES),
            ),
            # The queue's other sorts (views.SORTS): by priority, by age (either way).
            models.Index(
                fields=["priority", "-score", "id"],
                name="exception_work_priority",
                condition=Q(status__in=WORKING_STATUSES),
            ),
            models.Index(
                fields=["first_seen", "id"],
                name="exception_work_age",
                condition=Q(status__in=WORKING_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.key}"

    def get_absolute_url(self) -> str:
        return reverse("exceptions:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status not in CLOSED_STATUSES


class EventKind(models.TextChoices):
    DETECTED = "detected", "Detected"
    REOPENED = "reopened", "Reopened"
    AUTO_RESOLVED = "auto_resolved", "Auto-resolved"
    ESCALATED = "escalated", "Escalated"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ASSIGNED = "assigned", "Assigned"
    COMMENTED = "commented", "Commented"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    UNSNOOZED = "unsnoozed", "Snooze ended"


class AppendOnlyError(Exception):
    """An audit event was about to be changed or deleted."""


class EventQuerySet(models.QuerySet["ExceptionEvent"]):
    # Bulk paths bypass Model.save(); refuse them here so the trail cannot be rewritten in bulk.
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("exception events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("exception events are append-only")


class ExceptionEvent(models.Model):
    exception = models.ForeignKey(
        ExceptionRecord,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # covered by the (exception, at) index
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,  # null: the system (a reconciliation run)
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exception_events",
        db_index=False,  # a partial index below: the sync writes most events, with no actor
    )
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    from_value = models.TextField(blank=True)
    to_value = models.TextField(blank=True)
    note = models.TextField(blank=True)
    run = models.ForeignKey(
        "reconciliation.ReconciliationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exception_events",
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["exception", "at"], name="exception_event_timeline"),
            models.Index(
                fields=["actor", "at"],
                name="exception_event_actor",
                condition=Q(actor__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.exception_id} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Audit trail: an event is written once. A second save would rewrite history.
        if self.pk is not None:
            raise AppendOnlyError("exception events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("exception events are append-only")

    @property
    def actor_label(self) -> str:
        return self.actor.get_username() if self.actor else "system"


# Alert routes and deliveries live in their own module; importing it registers them here.
from exceptions.alert_models import AlertDelivery, AlertRoute, AlertRunPlan  # noqa: E402, F401
