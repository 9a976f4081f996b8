"""A completed run summarised once, for the dashboard's trends and the month-end figures.

`record_metrics(run, bundle, result)` is called by the run service after the run's exceptions are
recorded. It stores a `RunMetrics` row (unresolved exceptions by team/priority/owner/rule, SLA
breaches, stock drift at cost, order-flow lag percentiles, top SKUs by drift value, the finance
figures) and the month-end records of the run's month. Everything is computed from the engine's
result, the bundle and one aggregate query, so pages never load exception rows to draw a chart.

The pure parts (`finance_items`, `finance_figures`, `drift_summary`, `sla_breaches`, `flow_lags`)
take frames and return plain values; they are tested without a database.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from exceptions.models import ExceptionRecord, Status
from reconciliation.engine import Result
from reconciliation.frames import Bundle
from reconciliation.models import Figure, MonthEndItem, ReconciliationRun, RunMetrics
from reconciliation.rules.context import DISPATCHED, SYSTEM_NAMES, Context
from reconciliation.settings import ReconSettings

logger = logging.getLogger(__name__)

TOP_SKUS = 10
# Lags are over the orders whose step ended in the week before as_of: recent enough to show a
# change, long enough to have a few hundred orders behind each percentile.
LAG_WINDOW = timedelta(days=7)
LAG_SEGMENTS: dict[str, str] = {
    "placed_to_warehouse": "Placed → at warehouse",
    "warehouse_to_dispatched": "At warehouse → dispatched",
    "dispatched_to_posted": "Dispatched → posted",
    "placed_to_posted": "Placed → posted (end to end)",
}
PERCENTILES = (50, 90, 95)

# Which month-end figure each finance rule feeds.
FIGURE_RULES: dict[str, str] = {
    "DISPATCH_NOT_POSTED": Figure.DISPATCHED_NOT_POSTED,
    "STORE_NOT_UPDATED": Figure.NOT_IN_STORE,
    "TAX_MISMATCH": Figure.TAX,
    "TOTAL_MISMATCH": Figure.TOTAL,
    "STOCK_DRIFT": Figure.STOCK_DRIFT,
    "ADJUSTMENT_NOT_POSTED": Figure.ADJUSTMENTS,
}
ZERO = Decimal("0")


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
    """'WooCommerce → Prima → Whistl'."""
    return " → ".join(systems.values()) or "no systems"


# -- unresolved exceptions ----------------------------------------------------------------------


@dataclass
class Unresolved:
    total: int = 0
    by_team: dict[str, int] = field(default_factory=dict)
    by_priority_owner: dict[str, dict[str, int]] = field(default_factory=dict)
    by_rule: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)


def unresolved_counts() -> Unresolved:
    """Open, acknowledged and snoozed exceptions, counted in one GROUP BY (team = queue team:
    the team a person assigned it to, else the engine's)."""
    rows = (
        ExceptionRecord.objects.exclude(status=Status.RESOLVED)
        .order_by()
        .values_list("queue_team", "priority", "owner", "rule", "status")
        .annotate(n=Count("id"))
    )
    return tally(rows)


def tally(rows: Iterable[tuple[str, str, str, str, str, int]]) -> Unresolved:
    teams: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    grid: dict[str, Counter[str]] = defaultdict(Counter)
    for team, priority, owner, rule, status, n in rows:
        teams[team] += n
        rules[rule] += n
        statuses[status] += n
        grid[priority][owner] += n
    return Unresolved(
        total=sum(teams.values()),
        by_team=dict(sorted(teams.items())),
        by_priority_owner={p: dict(sorted(grid[p].items())) for p in sorted(grid)},
        by_rule=dict(sorted(rules.items())),
        by_status=dict(sorted(statuses.items())),
    )


# -- from the engine's exceptions ---------------------------------------------------------------


def _of_rule(found: pd.DataFrame, rule: str) -> list[tuple[str, dict[str, Any]]]:
    if found.empty:
        return []
    hits = found[found["rule"] == rule]
    return list(zip(hits["key"].tolist(), hits["details"].tolist(), strict=True))


def sla_breaches(found: pd.DataFrame) -> tuple[int, int]:
    """(orders past their dispatch SLA, of which express), from STUCK_PRE_DISPATCH."""
    stuck = _of_rule(found, "STUCK_PRE_DISPATCH")
    return len(stuck), sum(1 for _, details in stuck if details.get("express"))


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


@dataclass
class Drift:
    explained_value: Decimal = ZERO
    unexplained_value: Decimal = ZERO
    top: list[dict[str, Any]] = field(default_factory=list)


def _drift_row(sku: str, details: dict[str, Any]) -> dict[str, Any]:
    """A STOCK_DRIFT exception valued at cost: explained units are the postings still pending
    (diff − unexplained), unexplained the rest; a SKU with no unit cost has no value."""
    diff = int(details.get("diff") or 0)
    unexplained = int(details.get("unexplained") or 0)
    explained = diff - unexplained
    cost = _dec(details.get("unit_cost"))
    return {
        "sku": sku,
        "erp_on_hand": details.get("erp_on_hand"),
        "wms_on_hand": details.get("wms_on_hand"),
        "diff": diff,
        "explained_units": explained,
        "unexplained_units": unexplained,
        "unit_cost": cost,
        "explained_value": None if cost is None else abs(explained) * cost,
        "unexplained_value": None if cost is None else abs(unexplained) * cost,
    }


def drift_summary(found: pd.DataFrame) -> Drift:
    rows = [_drift_row(sku, details) for sku, details in _of_rule(found, "STOCK_DRIFT")]
    explained = sum((r["explained_value"] or ZERO for r in rows), ZERO)
    unexplained = sum((r["unexplained_value"] or ZERO for r in rows), ZERO)
    ranked = sorted(
        (r for r in rows if r["unit_cost"] is not None),
        key=lambda r: (-(r["explained_value"] + r["unexplained_value"]), r["sku"]),
    )[:TOP_SKUS]
    top = [
        {
            "sku": r["sku"],
            "diff": r["diff"],
            "explained_value": str(r["explained_value"]),
            "unexplained_value": str(r["unexplained_value"]),
        }
        for r in ranked
    ]
    return Drift(explained, unexplained, top)


@dataclass
class Item:
    """One record behind a month-end figure (a MonthEndItem before saving)."""

    figure: str
    rule: str
    key: str
    reference: str
    kind: str = ""
    occurred_at: datetime | None = None
    amount: Decimal | None = None
    units: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _when_dispatched(as_of: datetime, details: dict[str, Any]) -> datetime | None:
    minutes = details.get("dispatched_minutes_ago")
    return None if minutes is None else as_of - timedelta(minutes=int(minutes))


def _facts(details: dict[str, Any], role: str) -> dict[str, Any]:
    value = details.get(role)
    return value if isinstance(value, dict) else {}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def finance_items(found: pd.DataFrame, as_of: datetime) -> list[Item]:
    """The records behind the month-end figures, from the run's finance-relevant exceptions."""
    items: list[Item] = []
    for key, details in _of_rule(found, "DISPATCH_NOT_POSTED"):
        wms = _facts(details, "wms")
        up_role = "erp" if "erp" in details else "store"
        up = _facts(details, up_role)
        at = _when_dispatched(as_of, details)
        gross = _dec(up.get("gross_total")) or _dec(wms.get("gross_total"))
        items.append(
            Item(
                Figure.DISPATCHED_NOT_POSTED,
                "DISPATCH_NOT_POSTED",
                key,
                reference=up.get("order_ref") or key,
                occurred_at=at,
                amount=gross,
                data={
                    "order": key,
                    "warehouse_order": wms.get("order_ref"),
                    "posting_system": up.get("system") or up_role,
                    "posting_order": up.get("order_ref"),
                    "posting_status": up.get("status"),
                    "dispatched_at": _iso(at),
                    "gross_total": gross,
                },
            )
        )
    for key, details in _of_rule(found, "STORE_NOT_UPDATED"):
        store, erp = _facts(details, "store"), _facts(details, "erp")
        at = _when_dispatched(as_of, details)
        gross = _dec(store.get("gross_total")) or _dec(erp.get("gross_total"))
        items.append(
            Item(
                Figure.NOT_IN_STORE,
                "STORE_NOT_UPDATED",
                key,
                reference=key,
                occurred_at=at,
                amount=gross,
                data={
                    "order": key,
                    "store_status": store.get("status"),
                    "erp_order": erp.get("order_ref"),
                    "dispatched_at": _iso(at),
                    "gross_total": gross,
                },
            )
        )
    for key, details in _of_rule(found, "TAX_MISMATCH"):
        difference = _dec(details.get("difference")) or ZERO  # erp − store
        items.append(
            Item(
                Figure.TAX,
                "TAX_MISMATCH",
                key,
                reference=key,
                kind=details.get("kind") or "amount",
                amount=difference,
                data={
                    "order": key,
                    "kind": details.get("kind") or "amount",
                    "store_vat": _dec(details.get("store_tax_total")),
                    "erp_vat": _dec(details.get("erp_tax_total")),
                    "difference": difference,
                },
            )
        )
    for key, details in _of_rule(found, "TOTAL_MISMATCH"):
        difference = _total_difference(details)
        items.append(
            Item(
                Figure.TOTAL,
                "TOTAL_MISMATCH",
                key,
                reference=key,
                amount=difference,
                data={
                    "order": key,
                    "store_gross": _dec(_facts(details, "store").get("gross_total")),
                    "erp_gross": _dec(_facts(details, "erp").get("gross_total")),
                    "difference": difference,
                    "differing": ", ".join(details.get("differing") or []),
                },
            )
        )
    for key, details in _of_rule(found, "STOCK_DRIFT"):
        row = _drift_row(key, details)
        value = None
        if row["unit_cost"] is not None:
            value = row["explained_value"] + row["unexplained_value"]
        items.append(
            Item(
                Figure.STOCK_DRIFT,
                "STOCK_DRIFT",
                key,
                reference=key,
                kind="unexplained" if row["unexplained_units"] else "explained",
                amount=value,
                units=row["diff"],
                data=dict(row),
            )
        )
    for key, details in _of_rule(found, "ADJUSTMENT_NOT_POSTED"):
        at = (
            pd.Timestamp(details["occurred_at"]).to_pydatetime()
            if details.get("occurred_at")
            else None
        )
        value = _dec(details.get("value"))
        items.append(
            Item(
                Figure.ADJUSTMENTS,
                "ADJUSTMENT_NOT_POSTED",
                key,
                reference=key,
                occurred_at=at,
                amount=value,
                units=int(details.get("delta") or 0),
                data={
                    "adjustment": key,
                    "sku": details.get("sku"),
                    "delta": int(details.get("delta") or 0),
                    "reason": details.get("reason"),
                    "occurred_at": details.get("occurred_at"),
                    "value_at_cost": value,
                },
            )
        )
    for item in items:
        item.data = {name: _json(value) for name, value in item.data.items()}
    return items


def _total_difference(details: dict[str, Any]) -> Decimal:
    """(gross_erp − gross_store) − (tax_erp − tax_store), signed; the rule keeps only its size."""
    store, erp = _facts(details, "store"), _facts(details, "erp")
    values = [_dec(x.get(name)) for x in (erp, store) for name in ("gross_total", "tax_total")]
    if any(v is None for v in values):
        return _dec(details.get("difference")) or ZERO
    gross_erp, tax_erp, gross_store, tax_store = values
    return (gross_erp - gross_store) - (tax_erp - tax_store)  # type: ignore[operator]


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _money(value: Decimal) -> str:
    return str(
        value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) else value
    )


def finance_figures(items: list[Item], unresolved_by_team: dict[str, int]) -> dict[str, Any]:
    """The month-end figures: counts and sums of the items, plus unresolved exceptions by team.
    Money is a decimal string (JSON has no exact decimals)."""
    by_figure: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_figure[item.figure].append(item)

    def amounts(rows: list[Item]) -> dict[str, Any]:
        values = [r.amount or ZERO for r in rows]
        return {
            "count": len(rows),
            "net": _money(sum(values, ZERO)),
            "absolute": _money(sum((abs(v) for v in values), ZERO)),
        }

    tax = by_figure[Figure.TAX]
    drift = [r.data for r in by_figure[Figure.STOCK_DRIFT]]
    adjustments = by_figure[Figure.ADJUSTMENTS]

    def drift_sum(name: str) -> str:
        return _money(sum((Decimal(r[name]) for r in drift if r[name] is not None), ZERO))

    return {
        Figure.DISPATCHED_NOT_POSTED: {
            "count": len(by_figure[Figure.DISPATCHED_NOT_POSTED]),
            "gross": amounts(by_figure[Figure.DISPATCHED_NOT_POSTED])["net"],
        },
        Figure.NOT_IN_STORE: {
            "count": len(by_figure[Figure.NOT_IN_STORE]),
            "gross": amounts(by_figure[Figure.NOT_IN_STORE])["net"],
        },
        Figure.TAX: {
            **amounts(tax),
            "rounding": amounts([r for r in tax if r.kind == "rounding"]),
            "amount": amounts([r for r in tax if r.kind != "rounding"]),
        },
        Figure.TOTAL: amounts(by_figure[Figure.TOTAL]),
        Figure.STOCK_DRIFT: {
            "count": len(drift),
            "explained_units": sum(abs(r["explained_units"]) for r in drift),
            "unexplained_units": sum(abs(r["unexplained_units"]) for r in drift),
            "explained_value": drift_sum("explained_value"),
            "unexplained_value": drift_sum("unexplained_value"),
            "uncosted": sum(1 for r in drift if r["unit_cost"] is None),
        },
        Figure.ADJUSTMENTS: {
            "count": len(adjustments),
            "units": sum(r.units or 0 for r in adjustments),
            "value": amounts(adjustments)["net"],
        },
        "unresolved_by_team": dict(unresolved_by_team),
        "unresolved": sum(unresolved_by_team.values()),
    }


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
    dispatched = np.where(
        dispatched_status, _naive_ns(ctx.dispatch_time("wms")), np.datetime64("NaT")
    )
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
