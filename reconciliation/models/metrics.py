"""What each completed run looked like, summarised once when it completed (`reconciliation.metrics`).

Dashboards and month-end read these small rows instead of the exceptions table, so a year of
trends is a few hundred rows and survives restarts. `MonthEndItem` keeps the records behind the
month-end figures, for the latest run of each month only.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from reconciliation.models.runs import ReconciliationRun


def _money() -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=4, default=0)


class RunMetrics(models.Model):
    run = models.OneToOneField(
        ReconciliationRun, on_delete=models.CASCADE, primary_key=True, related_name="metrics"
    )
    as_of = models.DateTimeField()
    # The first day of as_of's month in TIME_ZONE (Europe/London): the month it closes.
    month = models.DateField()
    # The systems reconciled, e.g. "store=woocommerce erp=prima wms=whistl": month-end figures are
    # per set, since two stores' months are closed separately.
    system_set = models.CharField(max_length=200)
    systems = models.JSONField(default=dict, blank=True)  # role -> the system's name for people

    # Unresolved (open, acknowledged or snoozed) exceptions just after the run recorded its own.
    unresolved = models.PositiveIntegerField(default=0)
    by_team = models.JSONField(default=dict, blank=True)  # queue team -> count
    by_priority_owner = models.JSONField(default=dict, blank=True)  # priority -> {owner: count}
    by_rule = models.JSONField(default=dict, blank=True)  # rule -> {priority: count}
    by_status = models.JSONField(default=dict, blank=True)  # status -> count

    # Orders past their dispatch SLA in this run (STUCK_PRE_DISPATCH), and the express ones.
    sla_breaches = models.PositiveIntegerField(default=0)
    sla_breaches_express = models.PositiveIntegerField(default=0)
    # STOCK_DRIFT valued at cost: units explained by postings not yet made, and the rest.
    drift_value_explained = _money()
    drift_value_unexplained = _money()
    top_skus = models.JSONField(default=list, blank=True)  # [{sku, value, explained, unexplained…}]
    # segment -> {count, p50, p90, p95} in hours, over the segments completed in the last week.
    lags = models.JSONField(default=dict, blank=True)
    finance = models.JSONField(default=dict, blank=True)  # month-end figures (month_end.FIGURES)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "run metrics"
        ordering = ["-as_of", "-run_id"]
        indexes = [
            models.Index(fields=["as_of"], name="run_metrics_as_of"),
            # Month-end: the latest run of a month for a set of systems.
            models.Index(fields=["system_set", "month", "-as_of"], name="run_metrics_close"),
        ]

    def __str__(self) -> str:
        return f"metrics of run {self.run_id} as of {self.as_of:%Y-%m-%d %H:%M}"


class Figure(models.TextChoices):
    """The month-end figures that have records behind them."""

    DISPATCHED_NOT_POSTED = "dispatched_not_posted", "Dispatched but not posted"
    NOT_IN_STORE = "not_in_store", "Dispatches not yet visible in the store"
    TAX = "tax", "VAT variances"
    TOTAL = "total", "Total variances"
    STOCK_DRIFT = "stock_drift", "Stock drift at cost"
    ADJUSTMENTS = "adjustments", "Adjustments not posted"


class MonthEndItem(models.Model):
    """One record behind a month-end figure, as the month's latest run found it.

    Only the latest run of each (month, system set) keeps items: a newer run of the same month
    replaces them, so the table holds about one run's worth per month."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    system_set = models.CharField(max_length=200)
    figure = models.CharField(max_length=32, choices=Figure.choices)
    kind = models.CharField(max_length=32, blank=True)  # tax: rounding | amount; drift: …
    rule = models.CharField(max_length=64)
    key = models.TextField()  # the exception's key: with rule, a link to its evidence
    reference = models.TextField(blank=True)  # the order, SKU or adjustment people look up
    occurred_at = models.DateTimeField(null=True, blank=True)  # dispatched / adjusted at
    amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    units = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)  # the row's export columns

    class Meta:
        indexes = [
            models.Index(
                fields=["month", "system_set", "figure", "key"], name="month_end_item_figure"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.figure} {self.key} ({self.month:%Y-%m})"
