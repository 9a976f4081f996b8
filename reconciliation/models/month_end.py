"""The month-end close checklist: per month and set of systems, items finance ticks, with who/when.

Every tick and untick is also an append-only `MonthEndCheckEvent`, so the trail survives a change
of mind. The figures themselves are `RunMetrics.finance` of the month's latest run.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from reconciliation.models.runs import ReconciliationRun


class ChecklistItem(models.TextChoices):
    # In the order finance works through them; labels are what the page shows.
    DISPATCHES_POSTED = (
        "dispatches_posted",
        "Dispatches not posted are posted in the ERP or accrued",
    )
    STORE_UPDATED = "store_updated", "Dispatches not visible in the store are with CX"
    VAT_REVIEWED = "vat_reviewed", "VAT variances reviewed: rounding written off, amounts corrected"
    TOTALS_REVIEWED = "totals_reviewed", "Total variances reviewed"
    STOCK_REVIEWED = "stock_reviewed", "Stock drift reviewed; unexplained value provided for"
    ADJUSTMENTS_POSTED = "adjustments_posted", "Unposted stock adjustments posted or accrued"
    EXCEPTIONS_REVIEWED = "exceptions_reviewed", "Unresolved exceptions at close reviewed by team"


class MonthEndClose(models.Model):
    month = models.DateField()  # the first day of the month
    system_set = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month", "system_set"]
        constraints = [
            models.UniqueConstraint(fields=["month", "system_set"], name="month_end_close_unique")
        ]
        # Granted per role group by integration.roles.ensure_role_groups().
        permissions = [
            ("view_month_end", "Can see month-end figures and exports"),
            ("close_month", "Can tick the month-end close checklist"),
        ]

    def __str__(self) -> str:
        return f"close of {self.month:%Y-%m} ({self.system_set})"


class MonthEndCheck(models.Model):
    """An item's current state; `changed_by`/`changed_at` say who last ticked or unticked it."""

    close = models.ForeignKey(MonthEndClose, on_delete=models.CASCADE, related_name="checks")
    item = models.CharField(max_length=32, choices=ChecklistItem.choices)
    ticked = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    # The run whose figures the person was looking at when they ticked.
    run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["close", "item"], name="month_end_check_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item} {'ticked' if self.ticked else 'not ticked'}"


class AppendOnlyError(Exception):
    """A checklist event was about to be changed or deleted."""


class MonthEndCheckEvent(models.Model):
    # Not "check": that name is Model.check(), Django's system checks.
    entry = models.ForeignKey(MonthEndCheck, on_delete=models.CASCADE, related_name="events")
    ticked = models.BooleanField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    run = models.ForeignKey(
        ReconciliationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return (
            f"{'ticked' if self.ticked else 'unticked'} {self.entry_id} at {self.at:%Y-%m-%d %H:%M}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:  # the trail is written once
            raise AppendOnlyError("month-end checklist events are append-only")
        super().save(*args, **kwargs)
