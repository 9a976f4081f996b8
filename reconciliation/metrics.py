"""A completed run summarised once, for the dashboard's trends and the month-end figures.

`record_metrics(run, bundle, result)` is called by the run service after the run's exceptions are
recorded. It stores a `RunMetrics` row (unresolved exceptions by team/priority/owner/rule, SLA
breaches, stock drift at cost, order-flow lag percentiles, top SKUs by drift value, the finance
figures) and the month-end records of the run's month. Everything is computed from the engine's
result, the bundle and one aggregate query, so pages never load exception rows to draw a chart.

The pure parts (`sla_breaches`, `flow_lags`, `tally`, and `reconciliation.finance`) take frames
and return plain values; they are tested without a database.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from exceptions.models import ExceptionRecord, Status
from reconciliation.engine import Result
from reconciliation.finance import Item, drift_summary, finance_figures, finance_items, of_rule
from reconciliation.frames import ROLES, Bundle
from reconciliation.models import MonthEndItem, ReconciliationRun, RunMetrics
from reconciliation.rules.context import DISPATCHED, SYSTEM_NAMES, Context, positions
from reconciliation.settings import ReconSettings

logger = logging.getLogger(__name__)

# Lags are over the orders whose step ended in the week before as_of: recent enough to show a
# change, long enough to have a few hundred orders behind each percentile.
LAG_WINDOW = timedelta(days=7)
LAG_SEGMENTS: dict[str, str] = {
    "placed_to_warehouse": "Placed → warehouse",
    "warehouse_to_dispatched": "Warehouse → dispatched",
    "dispatched_to_posted": "Dispatched → posted",
    "placed_to_posted": "End to end",
}
PERCENTILES = (50, 90, 95)
# "Unresolved": still someone's work. Resolved and dismissed exceptions are closed.
UNRESOLVED_STATUSES: tuple[str, ...] = (Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED)


# -- entry point --------------------------------------------------------------------------------


def record_metrics(
    run: ReconciliationRun, bundle: Bundle, result: Result, settings: ReconSettings
) -> RunMetrics | None:
    """Summarise a run whose exceptions are recorded. Never raises: the run's exceptions are
    already saved, so a failure here is logged and the run completes without its summary."""
    try:
        return summarise_run(run, bundle, result, settings)
    except Exception:
        logger.exception("could not summarise run %s; its dashboard figures are missing", run.pk)
        return None


def summarise_run(
    run: ReconciliationRun, bundle: Bundle, result: Result, settings: ReconSettings
) -> RunMetrics:
    as_of = pd.Timestamp(bundle.as_of).tz_convert("UTC").to_pydatetime()
    month = month_of(as_of)
    set_key, names = system_set(bundle)
    found = result.exceptions
    counts = unresolved_counts()
    items = finance_items(found, as_of)
    breaches, express = sla_breaches(found)
    drift = drift_summary(found)
    metrics = RunMetrics(
        run=run,
        as_of=as_of,
        month=month,
        system_set=set_key,
        systems=names,
        unresolved=counts.total,
        by_team=counts.by_team,
        by_priority_owner=counts.by_priority_owner,
        by_rule=counts.by_rule,
        by_status=counts.by_status,
        sla_breaches=breaches,
        sla_breaches_express=express,
        drift_value_explained=drift.explained_value,
        drift_value_unexplained=drift.unexplained_value,
        top_skus=drift.top,
        lags=flow_lags(bundle, settings),
        finance=finance_figures(items, counts.by_team),
    )
    with transaction.atomic():
        RunMetrics.objects.filter(run=run).delete()
        metrics.save(force_insert=True)
        _replace_month_items(metrics, items)
    return metrics


def _replace_month_items(metrics: RunMetrics, items: list[Item]) -> None:
    """Keep the records of the month's latest run only (a replayed older bundle keeps none)."""
    newer = (
        RunMetrics.objects.filter(
            month=metrics.month, system_set=metrics.system_set, as_of__gt=metrics.as_of
        )
        .exclude(run=metrics.run_id)
        .exists()
    )
    if newer:
        return
    MonthEndItem.objects.filter(month=metrics.month, system_set=metrics.system_set).delete()
    MonthEndItem.objects.bulk_create(
        (
            MonthEndItem(
                run_id=metrics.run_id,
                month=metrics.month,
                system_set=metrics.system_set,
                figure=item.figure,
                kind=item.kind,
                rule=item.rule,
                key=item.key,
                reference=item.reference,
                occurred_at=item.occurred_at,
                amount=item.amount,
                units=item.units,
                data=item.data,
            )
            for item in items
        ),
        batch_size=2000,
    )


# -- identity of a run --------------------------------------------------------------------------


def month_of(moment: datetime) -> date:
    """The first day of the month `moment` falls in, in the site's time zone (UK months)."""
    return timezone.localtime(moment).date().replace(day=1)


def system_set(bundle: Bundle) -> tuple[str, dict[str, str]]:
    """("store=woocommerce erp=prima wms=whistl", {"store": "WooCommerce", …}) for a bundle."""
    parts, names = [], {}
    for role in bundle.pipeline:
        kind = (bundle.roles[role].kind or "").strip()
        slug = kind.lower().replace(" ", "_").replace("-", "_") or "unnamed"
        parts.append(f"{role}={slug}")
        names[role] = SYSTEM_NAMES.get(slug, kind or role)
    return " ".join(parts), names


def set_label(systems: dict[str, str]) -> str:
    """'WooCommerce → Prima → Whistl', in flow order (jsonb does not keep key order)."""
    return " → ".join(systems[role] for role in ROLES if role in systems) or "no systems"


# -- unresolved exceptions ----------------------------------------------------------------------


@dataclass
class Unresolved:
    total: int = 0
    by_team: dict[str, int] = field(default_factory=dict)
    by_priority_owner: dict[str, dict[str, int]] = field(default_factory=dict)
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)  # rule -> {priority: n}
    by_status: dict[str, int] = field(default_factory=dict)


def unresolved_counts() -> Unresolved:
    """Open, acknowledged and snoozed exceptions, counted in one GROUP BY (team = queue team:
    the team a person assigned it to, else the engine's)."""
    rows = (
        ExceptionRecord.objects.filter(status__in=UNRESOLVED_STATUSES)
        .order_by()
        .values_list("queue_team", "priority", "owner", "rule", "status")
        .annotate(n=Count("id"))
    )
    return tally(rows)


def tally(rows: Iterable[tuple[str, str, str, str, str, int]]) -> Unresolved:
    """Counts per (team, priority, owner, rule, status) folded into each breakdown."""
    teams: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    grid: dict[str, Counter[str]] = defaultdict(Counter)
    rules: dict[str, Counter[str]] = defaultdict(Counter)
    for team, priority, owner, rule, status, n in rows:
        teams[team] += n
        statuses[status] += n
        grid[priority][owner] += n
        rules[rule][priority] += n
    return Unresolved(
        total=sum(teams.values()),
        by_team=dict(sorted(teams.items())),
        by_priority_owner={p: dict(sorted(grid[p].items())) for p in sorted(grid)},
        by_rule={r: dict(sorted(rules[r].items())) for r in sorted(rules)},
        by_status=dict(sorted(statuses.items())),
    )


# -- from the engine's exceptions ---------------------------------------------------------------


def sla_breaches(found: pd.DataFrame) -> tuple[int, int]:
    """(orders past their dispatch SLA, of which express), from STUCK_PRE_DISPATCH."""
    stuck = of_rule(found, "STUCK_PRE_DISPATCH")
    return len(stuck), sum(1 for _, details in stuck if details.get("express"))


# -- order flow lags ----------------------------------------------------------------------------


def _naive_ns(series: pd.Series) -> np.ndarray:
    """UTC timestamps as datetime64[ns] (NaT kept), for arithmetic in numpy."""
    return pd.to_datetime(series, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _origin_placed(ctx: Context, role: str) -> np.ndarray:
    """Per order of `role`: placed_at of its most upstream copy (its own when it has none)."""
    orders = ctx.orders(role)
    own = _naive_ns(orders["placed_at"])
    upstream = ctx.upstream(role)
    if upstream is None or not ctx.has(upstream, "orders"):
        return own
    up = orders["up"].to_numpy()
    above = _origin_placed(ctx, upstream)
    if not len(above):
        return np.where(up >= 0, np.datetime64("NaT"), own)
    picked = above[np.where(up >= 0, up, 0)]
    return np.where(up >= 0, picked, own)


def _latest_shipment(ctx: Context, wms: pd.DataFrame) -> np.ndarray:
    """Per warehouse order, the latest dispatched_at of its shipments (NaT when none).

    The same as Context.latest_shipment_time, without canonicalising every shipment's SKU
    (which lags do not need and which is most of that function's time)."""
    latest = np.full(len(wms), np.datetime64("NaT"), dtype="datetime64[ns]")
    shipments = ctx.raw("wms", "shipments")
    if not len(shipments) or not len(wms):
        return latest
    where = positions(shipments["order_ref"], wms["order_ref"])
    moments = _naive_ns(shipments["dispatched_at"])
    usable = (where >= 0) & ~np.isnat(moments)
    per_order = pd.Series(moments[usable].view("int64")).groupby(where[usable]).max()
    latest[per_order.index.to_numpy()] = per_order.to_numpy().view("datetime64[ns]")
    return latest


def _percentiles(
    starts: np.ndarray, ends: np.ndarray, since: np.datetime64, until: np.datetime64
) -> dict[str, Any] | None:
    usable = ~np.isnat(starts) & ~np.isnat(ends) & (ends > since) & (ends <= until)
    if not usable.any():
        return None
    hours = (ends[usable] - starts[usable]).astype("timedelta64[s]").astype(np.float64) / 3600.0
    hours = np.clip(hours, 0, None)  # clocks disagree by a little: a negative lag is no lag
    values = np.percentile(hours, PERCENTILES)
    return {
        "count": int(usable.sum()),
        **{f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, values, strict=True)},
    }


def flow_lags(bundle: Bundle, settings: ReconSettings) -> dict[str, dict[str, Any]]:
    """Hours between an order's steps (placed → at warehouse → dispatched → posted), as
    percentiles over the steps completed in LAG_WINDOW before as_of. "At warehouse" is the
    warehouse order's placed_at; "dispatched" its dispatch time; "posted" the updated_at of its
    upstream copy once that copy says dispatched. Needs a warehouse with orders."""
    ctx = Context(bundle, settings)
    if not ctx.has("wms", "orders"):
        return {}
    until = np.datetime64(ctx.as_of.tz_convert("UTC").tz_localize(None).to_datetime64(), "ns")
    since = until - np.timedelta64(int(LAG_WINDOW.total_seconds()), "s")
    wms = ctx.orders("wms")
    placed = _origin_placed(ctx, "wms")
    at_wms = _naive_ns(wms["placed_at"])
    dispatched_status = wms["status"].isin(DISPATCHED).to_numpy(dtype=bool)
    # The dispatch time of rules.md: latest shipment, else updated_at, else placed_at.
    dispatch_time = _latest_shipment(ctx, wms)
    for fallback in (_naive_ns(wms["updated_at"]), at_wms):
        dispatch_time = np.where(np.isnat(dispatch_time), fallback, dispatch_time)
    dispatched = np.where(dispatched_status, dispatch_time, np.datetime64("NaT"))
    posted = np.full(len(wms), np.datetime64("NaT"), dtype="datetime64[ns]")
    upstream = ctx.upstream("wms")
    if upstream is not None and ctx.has(upstream, "orders"):
        up = wms["up"].to_numpy()
        up_orders = ctx.orders(upstream)
        up_posted = np.where(
            up_orders["status"].isin(DISPATCHED).to_numpy(dtype=bool),
            _naive_ns(up_orders["updated_at"]),
            np.datetime64("NaT"),
        )
        if len(up_posted):
            posted = np.where(up >= 0, up_posted[np.where(up >= 0, up, 0)], np.datetime64("NaT"))
    segments = {
        "placed_to_warehouse": (placed, at_wms),
        "warehouse_to_dispatched": (at_wms, dispatched),
        "dispatched_to_posted": (dispatched, posted),
        "placed_to_posted": (placed, posted),
    }
    lags = {}
    for name, (start, end) in segments.items():
        found = _percentiles(
            np.asarray(start, dtype="datetime64[ns]"),
            np.asarray(end, dtype="datetime64[ns]"),
            since,
            until,
        )
        if found is not None:
            lags[name] = found
    return lags
