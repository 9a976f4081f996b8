"""Month-end for finance: which run closes a month, its figures as rows, their records, the checklist.

A month's figures are those of its **close run**: the latest completed run whose as_of falls in the
month (UK time), for the chosen set of systems. They were computed when that run completed
(`reconciliation.finance`, stored in `RunMetrics.finance` and `MonthEndItem`), so the page is a
few indexed reads whatever the size of the exceptions table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Abs
from django.urls import reverse
from django.utils import timezone

from exceptions.models import Team
from reconciliation.metrics import UNRESOLVED_STATUSES, set_label
from reconciliation.models import (
    ChecklistItem,
    Figure,
    MonthEndCheck,
    MonthEndCheckEvent,
    MonthEndClose,
    MonthEndItem,
    RunMetrics,
)

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


class MonthEndError(ValueError):
    """Input the month-end pages cannot use; the message says which value and why."""


def parse_month(text: str) -> date:
    """'2026-11' → date(2026, 11, 1)."""
    match = MONTH_PATTERN.match(text or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise MonthEndError(f"'{text}' is not a month: use YYYY-MM, e.g. 2026-11")
    return date(int(match[1]), int(match[2]), 1)


def month_text(month: date) -> str:
    return f"{month:%Y-%m}"


# -- which run closes a month ---------------------------------------------------------------------


@dataclass
class SystemSet:
    key: str
    label: str


def months() -> list[date]:
    """Months that have at least one summarised run, newest first."""
    return list(RunMetrics.objects.order_by("-month").values_list("month", flat=True).distinct())


def system_sets(month: date) -> list[SystemSet]:
    """The sets of systems with a run in `month`, the most recently reconciled first."""
    seen: dict[str, SystemSet] = {}
    rows = (
        RunMetrics.objects.filter(month=month)
        .order_by("-as_of")
        .values_list("system_set", "systems")
    )
    for key, systems in rows:
        seen.setdefault(key, SystemSet(key, set_label(systems)))
    return list(seen.values())


def close_metrics(month: date, system_set: str | None = None) -> RunMetrics | None:
    """The close run's metrics: the month's latest run for the set (any set when None)."""
    runs = RunMetrics.objects.filter(month=month).select_related("run")
    if system_set:
        runs = runs.filter(system_set=system_set)
    return runs.order_by("-as_of", "-run_id").first()


# -- the figures as rows --------------------------------------------------------------------------


@dataclass
class FigureRow:
    """One line of the month-end summary: what it counts and where its records are."""

    code: str
    label: str
    count: int
    units: int | None = None
    amount: Decimal | None = None  # the headline money (net for variances)
    absolute: Decimal | None = None  # variances: the sum of their sizes
    note: str = ""
    figure: str = ""  # drill-down: MonthEndItem.figure …
    kinds: tuple[str, ...] = ()  # … and kinds
    queue: str = ""  # or a link to the queue


def _d(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def figure_rows(metrics: RunMetrics) -> list[FigureRow]:
    """The summary lines, in the order finance reads them."""
    f = metrics.finance or {}
    dispatched = f.get(Figure.DISPATCHED_NOT_POSTED, {})
    store = f.get(Figure.NOT_IN_STORE, {})
    tax = f.get(Figure.TAX, {})
    total = f.get(Figure.TOTAL, {})
    drift = f.get(Figure.STOCK_DRIFT, {})
    adjustments = f.get(Figure.ADJUSTMENTS, {})
    rows = [
        FigureRow(
            "dispatched_not_posted",
            "Orders dispatched but not posted in the ERP",
            dispatched.get("count", 0),
            amount=_d(dispatched.get("gross")),
            note="gross value of the orders",
            figure=Figure.DISPATCHED_NOT_POSTED,
        ),
        FigureRow(
            "not_in_store",
            "Dispatches not yet visible in the store",
            store.get("count", 0),
            amount=_d(store.get("gross")),
            note="gross value of the orders",
            figure=Figure.NOT_IN_STORE,
        ),
    ]
    for kind, label, note in (
        ("rounding", "VAT variances: rounding", "ERP − store; a penny or so per line"),
        ("amount", "VAT variances: amount", "ERP − store; more than rounding explains"),
    ):
        part = tax.get(kind, {})
        rows.append(
            FigureRow(
                f"tax_{kind}",
                label,
                part.get("count", 0),
                amount=_d(part.get("net")),
                absolute=_d(part.get("absolute")),
                note=note,
                figure=Figure.TAX,
                kinds=(kind,),
            )
        )
    rows += [
        FigureRow(
            "total",
            "Total variances (net, shipping or discount)",
            total.get("count", 0),
            amount=_d(total.get("net")),
            absolute=_d(total.get("absolute")),
            note="ERP − store, VAT excluded",
            figure=Figure.TOTAL,
        ),
        FigureRow(
            "drift_explained",
            "Stock drift at cost: explained by postings not yet made",
            drift.get("explained_count", 0),
            units=drift.get("explained_units"),
            amount=_d(drift.get("explained_value")),
            note="SKUs; units and value at unit cost",
            figure=Figure.STOCK_DRIFT,
            kinds=("explained", "mixed"),
        ),
        FigureRow(
            "drift_unexplained",
            "Stock drift at cost: unexplained",
            drift.get("unexplained_count", 0),
            units=drift.get("unexplained_units"),
            amount=_d(drift.get("unexplained_value")),
            note=_uncosted(drift.get("uncosted", 0)),
            figure=Figure.STOCK_DRIFT,
            kinds=("unexplained", "mixed"),
        ),
        FigureRow(
            "adjustments",
            "Stock adjustments not posted in the ERP",
            adjustments.get("count", 0),
            units=adjustments.get("units"),
            amount=_d(adjustments.get("value")),
            note="units (net delta) and value at unit cost",
            figure=Figure.ADJUSTMENTS,
        ),
    ]
    teams = dict(Team.choices)
    for team, count in sorted((f.get("unresolved_by_team") or {}).items()):
        rows.append(
            FigureRow(
                f"unresolved_{team}",
                f"Unresolved exceptions at close: {teams.get(team, team)}",
                count,
                note="links to the queue as it is now",
                queue=queue_url(team=team),
            )
        )
    return rows


def _uncosted(uncosted: int) -> str:
    if not uncosted:
        return "SKUs; units and value at unit cost"
    return f"SKUs; units and value at unit cost ({uncosted} SKU(s) have no unit cost: not valued)"


def queue_url(**filters: str) -> str:
    """The exceptions queue filtered to unresolved exceptions and `filters`."""
    query = [("status", s) for s in UNRESOLVED_STATUSES] + sorted(filters.items())
    return f"{reverse('exceptions:queue')}?{urlencode(query)}"


# -- records behind a figure ----------------------------------------------------------------------

# figure -> the columns of its records: (data key, heading, kind: text | money | int | time)
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    Figure.DISPATCHED_NOT_POSTED: [
        ("order", "Order", "text"),
        ("warehouse_order", "Warehouse order", "text"),
        ("posting_system", "Posting system", "text"),
        ("posting_order", "Order there", "text"),
        ("posting_status", "Its status", "text"),
        ("dispatched_at", "Dispatched", "time"),
        ("gross_total", "Gross", "money"),
    ],
    Figure.NOT_IN_STORE: [
        ("order", "Store order", "text"),
        ("store_status", "Store status", "text"),
        ("erp_order", "ERP order", "text"),
        ("dispatched_at", "Dispatched", "time"),
        ("gross_total", "Gross", "money"),
    ],
    Figure.TAX: [
        ("order", "Store order", "text"),
        ("kind", "Kind", "text"),
        ("store_vat", "Store VAT", "money"),
        ("erp_vat", "ERP VAT", "money"),
        ("difference", "Difference (ERP − store)", "money"),
    ],
    Figure.TOTAL: [
        ("order", "Store order", "text"),
        ("store_gross", "Store gross", "money"),
        ("erp_gross", "ERP gross", "money"),
        ("difference", "Difference ex VAT (ERP − store)", "money"),
        ("differing", "Differing", "text"),
    ],
    Figure.STOCK_DRIFT: [
        ("sku", "SKU", "text"),
        ("erp_on_hand", "ERP on hand", "int"),
        ("wms_on_hand", "Warehouse on hand", "int"),
        ("diff", "Difference", "int"),
        ("explained_units", "Explained units", "int"),
        ("unexplained_units", "Unexplained units", "int"),
        ("unit_cost", "Unit cost", "money"),
        ("explained_value", "Explained value", "money"),
        ("unexplained_value", "Unexplained value", "money"),
    ],
    Figure.ADJUSTMENTS: [
        ("adjustment", "Adjustment", "text"),
        ("sku", "SKU", "text"),
        ("delta", "Units", "int"),
        ("reason", "Reason", "text"),
        ("occurred_at", "Made", "time"),
        ("value_at_cost", "Value at cost", "money"),
    ],
}
KINDS: dict[str, tuple[str, ...]] = {
    Figure.TAX: ("rounding", "amount"),
    Figure.STOCK_DRIFT: ("explained", "unexplained", "mixed"),
}


def parse_figure(text: str) -> str:
    if text not in Figure.values:
        raise MonthEndError(
            f"'{text}' is not a month-end figure; known: {', '.join(Figure.values)}"
        )
    return text


def records(
    metrics: RunMetrics, figure: str, kinds: tuple[str, ...] = ()
) -> QuerySet[MonthEndItem]:
    """The close run's records behind `figure`, the largest amounts first."""
    items = MonthEndItem.objects.filter(
        month=metrics.month, system_set=metrics.system_set, figure=figure, run=metrics.run_id
    )
    if kinds:
        items = items.filter(kind__in=kinds)
    return items.order_by(Abs("amount").desc(nulls_last=True), "key")


# -- the close checklist --------------------------------------------------------------------------


@dataclass
class ChecklistLine:
    item: str
    label: str
    ticked: bool = False
    changed_by: str = ""
    changed_at: Any = None
    run_id: int | None = None
    history: list[MonthEndCheckEvent] = field(default_factory=list)


def checklist(month: date, system_set: str) -> list[ChecklistLine]:
    """Every checklist item with its state and who last changed it (two queries)."""
    checks = {
        check.item: check
        for check in MonthEndCheck.objects.filter(
            close__month=month, close__system_set=system_set
        ).select_related("changed_by")
    }
    lines = []
    for item, label in ChecklistItem.choices:
        check = checks.get(item)
        line = ChecklistLine(item, label)
        if check is not None:
            line.ticked = check.ticked
            line.changed_by = _who(check.changed_by)
            line.changed_at = check.changed_at
            line.run_id = check.run_id
        lines.append(line)
    return lines


def _who(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "a deleted user"
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def parse_item(text: str) -> str:
    if text not in ChecklistItem.values:
        raise MonthEndError(f"'{text}' is not an item of the close checklist")
    return text


def set_check(
    metrics: RunMetrics, item: str, ticked: bool, user: AbstractBaseUser
) -> MonthEndCheck:
    """Tick or untick a checklist item of the close of `metrics`' month, recording who, when and
    against which run's figures. Setting the state it already has changes and records nothing."""
    with transaction.atomic():
        close, _ = MonthEndClose.objects.get_or_create(
            month=metrics.month, system_set=metrics.system_set
        )
        check, _ = MonthEndCheck.objects.select_for_update().get_or_create(close=close, item=item)
        if check.ticked == ticked:
            return check
        check.ticked = ticked
        check.changed_by = user
        check.changed_at = timezone.now()
        check.run_id = metrics.run_id
        check.save()
        MonthEndCheckEvent.objects.create(
            entry=check, ticked=ticked, actor=user, at=check.changed_at, run_id=metrics.run_id
        )
    return check
