"""Money rules (rules.md, "Money"): tax and totals that differ between store and ERP."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconciliation.frames import MONEY_SCALE
from reconciliation.rules.base import found, money, nothing, order_facts
from reconciliation.rules.context import Context

EXCLUDED = ("pending", "cancelled")


def _linked_pairs(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Store orders and their erp counterparts, neither pending nor cancelled, aligned by row."""
    ctx.require("store", "orders")
    ctx.require("erp", "orders")
    store = ctx.orders("store")
    counterpart = ctx.down("store")
    linked = counterpart >= 0
    store = store[linked]
    erp = ctx.orders("erp").iloc[counterpart[linked]]
    keep = (~store["status"].isin(EXCLUDED).to_numpy(dtype=bool)) & (
        ~erp["status"].isin(EXCLUDED).to_numpy(dtype=bool)
    )
    return store[keep], erp[keep]


def _store_line_counts(ctx: Context, store: pd.DataFrame) -> np.ndarray:
    if not ctx.has("store", "order_lines"):
        return np.ones(len(store), dtype=np.int64)
    lines = ctx.items("store", "order_lines")
    counts = np.bincount(lines["pos"].to_numpy(), minlength=len(ctx.orders("store")))
    return np.maximum(counts[store.index.to_numpy()], 1)


def tax_mismatch(ctx: Context) -> pd.DataFrame:
    store, erp = _linked_pairs(ctx)
    tax_store = store["tax_total"].to_numpy(dtype="float64", na_value=np.nan)
    tax_erp = erp["tax_total"].to_numpy(dtype="float64", na_value=np.nan)
    # Ten-thousandths are integers well inside float64's exact range: the difference is exact.
    diff = np.abs(tax_erp - tax_store)
    fire = ~np.isnan(diff) & (diff > ctx.settings.money_tolerance_units)
    if not fire.any():
        return nothing()
    lines = _store_line_counts(ctx, store)[fire]
    diff = diff[fire]
    kinds = np.where(diff <= 0.01 * MONEY_SCALE * lines, "rounding", "amount")
    store, erp = store[fire], erp[fire]
    store_name, erp_name = ctx.system("store"), ctx.system("erp")
    return found(
        key=store["order_ref"].tolist(),
        team="finance",
        priority=["P4" if kind == "rounding" else "P2" for kind in kinds],
        summary=[
            f"Order {ref}: VAT is £{money(ts)} in {store_name} but £{money(te)} in {erp_name} "
            f"({'rounding, ' if kind == 'rounding' else ''}£{money(d)} difference)"
            for ref, ts, te, d, kind in zip(
                store["order_ref"], store["tax_total"], erp["tax_total"], diff, kinds, strict=True
            )
        ],
        details=[
            {
                "kind": kind,
                "store_tax_total": money(ts),
                "erp_tax_total": money(te),
                "difference": money(int(te) - int(ts)),
                "store_lines": int(n),
                "store": sf,
                "erp": ef,
            }
            for kind, ts, te, n, sf, ef in zip(
                kinds,
                store["tax_total"],
                erp["tax_total"],
                lines,
                order_facts(ctx, "store", store.index.to_numpy()),
                order_facts(ctx, "erp", erp.index.to_numpy()),
                strict=True,
            )
        ],
        roles=["store", "erp"],
        money=diff / MONEY_SCALE,
    )


def total_mismatch(ctx: Context) -> pd.DataFrame:
    store, erp = _linked_pairs(ctx)

    def values(frame: pd.DataFrame, column: str) -> np.ndarray:
        return frame[column].to_numpy(dtype="float64", na_value=np.nan)

    gap = (values(erp, "gross_total") - values(store, "gross_total")) - (
        values(erp, "tax_total") - values(store, "tax_total")
    )
    gap = np.abs(gap)
    fire = ~np.isnan(gap) & (gap > ctx.settings.money_tolerance_units)
    if not fire.any():
        return nothing()
    store, erp, gap = store[fire], erp[fire], gap[fire]
    store_name, erp_name = ctx.system("store"), ctx.system("erp")
    parts = ("net_total", "shipping_total", "discount_total", "gross_total", "tax_total")
    return found(
        key=store["order_ref"].tolist(),
        team="finance",
        priority="P2",
        summary=[
            f"Order {ref}: totals before VAT differ by £{money(g)} between {store_name} "
            f"(£{money(gs)} gross) and {erp_name} (£{money(ge)} gross)"
            for ref, g, gs, ge in zip(
                store["order_ref"], gap, store["gross_total"], erp["gross_total"], strict=True
            )
        ],
        details=[
            {
                "difference": money(int(g)),
                "store": {name: money(s[name]) for name in parts},
                "erp": {name: money(e[name]) for name in parts},
                "differing": [
                    name
                    for name in ("net_total", "shipping_total", "discount_total")
                    if not pd.isna(s[name]) and not pd.isna(e[name]) and s[name] != e[name]
                ],
            }
            for g, s, e in zip(
                gap,
                store[list(parts)].to_dict("records"),
                erp[list(parts)].to_dict("records"),
                strict=True,
            )
        ],
        roles=["store", "erp"],
        money=gap / MONEY_SCALE,
    )
