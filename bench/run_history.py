"""A year of daily run summaries for bench/web.py, and the overview and month-end pages it times.

The summaries copy the real run's (bench/web.py reconciles a synthetic bundle first) with the
numbers varied day by day, one run per day for the `days` before it, so the dashboard's charts
and the month picker have a year to read. Only the real run has month-end records.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from reconciliation.metrics import month_of
from reconciliation.models import ReconciliationRun, RunMetrics


def _scaled(counts: dict[str, Any], factor: float) -> dict[str, Any]:
    return {
        key: _scaled(value, factor) if isinstance(value, dict) else round(value * factor)
        for key, value in counts.items()
    }


def seed_run_history(run_id: int, days: int = 365) -> int:
    """One completed run and its RunMetrics per day for `days` days before run `run_id`."""
    real = RunMetrics.objects.get(run_id=run_id)
    rng = random.Random(7)
    moments = [real.as_of - timedelta(days=day) for day in range(days, 0, -1)]
    runs = ReconciliationRun.objects.bulk_create(
        ReconciliationRun(
            status=ReconciliationRun.Status.COMPLETE,
            created_at=moment,
            started_at=moment,
            finished_at=moment + timedelta(minutes=3),
            as_of=moment,
            currency="GBP",
            source="bench: run history",
        )
        for moment in moments
    )
    summaries = []
    for run, moment in zip(runs, moments, strict=True):
        factor = 0.6 + 0.8 * rng.random()
        summaries.append(
            RunMetrics(
                run=run,
                as_of=moment,
                month=month_of(moment),
                system_set=real.system_set,
                systems=real.systems,
                unresolved=round(real.unresolved * factor),
                by_team=_scaled(real.by_team, factor),
                by_priority_owner=_scaled(real.by_priority_owner, factor),
                by_rule=_scaled(real.by_rule, factor),
                by_status=_scaled(real.by_status, factor),
                sla_breaches=round(real.sla_breaches * factor),
                sla_breaches_express=round(real.sla_breaches_express * factor),
                drift_value_explained=(real.drift_value_explained * Decimal(factor)).quantize(
                    Decimal("0.01")
                ),
                drift_value_unexplained=(real.drift_value_unexplained * Decimal(factor)).quantize(
                    Decimal("0.01")
                ),
                top_skus=real.top_skus,
                lags=real.lags,
                finance=real.finance,
            )
        )
    RunMetrics.objects.bulk_create(summaries, batch_size=1000)
    return len(summaries)


@cache
def _real_month() -> str:
    """The month of the latest summarised run (the reconciled bundle's)."""
    latest = RunMetrics.objects.order_by("-as_of").values_list("month", flat=True).first()
    return f"{latest:%Y-%m}" if latest else "2026-11"


@cache
def _past_month() -> str:
    months = list(RunMetrics.objects.order_by("-month").values_list("month", flat=True).distinct())
    return f"{months[min(6, len(months) - 1)]:%Y-%m}" if months else _real_month()


def month_end_path(records: str = "", suffix: str = "") -> str:
    """/month-end/<the real run's month>/[<records>/ | <suffix>]."""
    path = f"/month-end/{_real_month()}/"
    if records:
        return f"{path}{records}/"
    return path + suffix


def past_month_end_path() -> str:
    return f"/month-end/{_past_month()}/"
