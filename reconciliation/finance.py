"""The month-end figures and the records behind them, from a run's exceptions (no database).

Each figure is a finance-relevant rule's exceptions as the run found them: dispatched but not
posted (DISPATCH_NOT_POSTED), dispatches not yet in the store (STORE_NOT_UPDATED), VAT and total
variances (TAX_MISMATCH by kind, TOTAL_MISMATCH), stock drift at cost split into explained and
unexplained (STOCK_DRIFT) and adjustments not posted (ADJUSTMENT_NOT_POSTED). Counted as the rules
count them, so after each rule's grace period, and so the month-end agrees with the queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from reconciliation.models import Figure

TOP_SKUS = 10
# The rule behind each figure (its records link to that rule's exceptions).
FIGURE_RULES: dict[str, str] = {
    Figure.DISPATCHED_NOT_POSTED: "DISPATCH_NOT_POSTED",
    Figure.NOT_IN_STORE: "STORE_NOT_UPDATED",
    Figure.TAX: "TAX_MISMATCH",
    Figure.TOTAL: "TOTAL_MISMATCH",
    Figure.STOCK_DRIFT: "STOCK_DRIFT",
    Figure.ADJUSTMENTS: "ADJUSTMENT_NOT_POSTED",
}
ZERO = Decimal("0")


def of_rule(found: pd.DataFrame, rule: str) -> list[tuple[str, dict[str, Any]]]:
    if found.empty:
        return []
    hits = found[found["rule"] == rule]
    return list(zip(hits["key"].tolist(), hits["details"].tolist(), strict=True))


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


@dataclass
class Drift:
    explained_value: Decimal = ZERO
    unexplained_value: Decimal = ZERO
    top: list[dict[str, Any]] = field(default_factory=list)


def drift_row(sku: str, details: dict[str, Any]) -> dict[str, Any]:
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


def drift_kind(explained: int, unexplained: int) -> str:
    """`explained`, `unexplained` or `mixed`: which parts of a SKU's drift are not zero."""
    if explained and unexplained:
        return "mixed"
    return "unexplained" if unexplained else "explained"


def drift_summary(found: pd.DataFrame) -> Drift:
    rows = [drift_row(sku, details) for sku, details in of_rule(found, "STOCK_DRIFT")]
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
    for key, details in of_rule(found, "DISPATCH_NOT_POSTED"):
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
    for key, details in of_rule(found, "STORE_NOT_UPDATED"):
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
    for key, details in of_rule(found, "TAX_MISMATCH"):
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
    for key, details in of_rule(found, "TOTAL_MISMATCH"):
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
    for key, details in of_rule(found, "STOCK_DRIFT"):
        row = drift_row(key, details)
        value = None
        if row["unit_cost"] is not None:
            value = row["explained_value"] + row["unexplained_value"]
        items.append(
            Item(
                Figure.STOCK_DRIFT,
                "STOCK_DRIFT",
                key,
                reference=key,
                kind=drift_kind(row["explained_units"], row["unexplained_units"]),
                amount=value,
                units=row["diff"],
                data=dict(row),
            )
        )
    for key, details in of_rule(found, "ADJUSTMENT_NOT_POSTED"):
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
            "explained_count": sum(1 for r in drift if r["explained_units"]),
            "unexplained_count": sum(1 for r in drift if r["unexplained_units"]),
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
