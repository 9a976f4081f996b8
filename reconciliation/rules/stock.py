"""Stock rules (rules.md, "Stock"): drift between ERP and warehouse, unposted adjustments,
available-to-sell against what the base system can really ship, and negative stock."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconciliation.frames import MONEY_SCALE
from reconciliation.rules.base import found, minutes, money, nothing, pounds, text, when
from reconciliation.rules.context import DISPATCHED, OUTBOUND_STATUSES, Context


def _on_hand(ctx: Context, role: str) -> pd.Series:
    return ctx.stock(role)["on_hand"].astype("Int64").fillna(0)


def _pending_dispatch(ctx: Context) -> pd.DataFrame:
    """Units per SKU on wms shipments of orders the wms dispatched and the erp has not posted:
    columns csku, units, in_grace (units whose dispatch is still inside the grace period)."""
    if not (ctx.has("wms", "orders", "shipments") and ctx.has("erp", "orders")):
        return pd.DataFrame({"units": [], "in_grace": []}, index=pd.Index([], name="csku"))
    wms = ctx.orders("wms")
    up = wms["up"].to_numpy()
    up_status = pd.Series(ctx.status_of("erp", up), dtype=object)
    # An orphan wms order (no erp order) adds nothing: there is nothing to post it to.
    unposted = (
        wms["status"].isin(DISPATCHED).to_numpy(dtype=bool)
        & (up >= 0)
        & ~up_status.isin(DISPATCHED).to_numpy(dtype=bool)
    )
    in_grace = (
        ctx.age(ctx.dispatch_time("wms")) <= minutes(ctx.settings.grace_dispatch_post_minutes)
    ).to_numpy(dtype=bool)
    shipments = ctx.items("wms", "shipments")
    shipments = shipments[shipments["stock"] & (shipments["pos"] >= 0)]
    pos = shipments["pos"].to_numpy()
    shipments = shipments[unposted[pos]]
    units = shipments["quantity"].fillna(0).astype("int64")
    frame = pd.DataFrame(
        {
            "csku": shipments["csku"].to_numpy(dtype=object),
            "units": units.to_numpy(),
            "in_grace": np.where(in_grace[shipments["pos"].to_numpy()], units.to_numpy(), 0),
        }
    )
    return frame.groupby("csku").sum()


def _unposted_adjustments(ctx: Context) -> pd.DataFrame:
    """wms adjustments whose adjustment_ref the erp does not have, with canonical SKU and age."""
    wms = ctx.raw("wms", "adjustments").reset_index(drop=True)
    erp_refs = ctx.raw("erp", "adjustments")["adjustment_ref"]
    missing = wms[~wms["adjustment_ref"].isin(erp_refs).to_numpy(dtype=bool)].copy()
    missing["csku"] = ctx.canonical("wms", missing["sku"]).to_numpy(dtype=object)
    missing["age"] = ctx.age(missing["occurred_at"]).to_numpy()
    return missing


def _pending_adjustments(ctx: Context) -> pd.DataFrame:
    """Per SKU: −Σ delta of wms adjustments missing from the erp (units), and those in grace."""
    if not (ctx.has("wms", "adjustments") and ctx.has("erp", "adjustments")):
        return pd.DataFrame({"units": [], "in_grace": []}, index=pd.Index([], name="csku"))
    missing = _unposted_adjustments(ctx)
    grace = minutes(ctx.settings.grace_adjustment_post_minutes)
    units = -missing["delta"].fillna(0).astype("int64").to_numpy()
    in_grace = (pd.Series(missing["age"]) <= grace).to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {"csku": missing["csku"], "units": units, "in_grace": np.where(in_grace, units, 0)}
    )
    return frame.groupby("csku").sum()


def stock_drift(ctx: Context) -> pd.DataFrame:
    ctx.require("erp", "stock")
    ctx.require("wms", "stock")
    erp, wms = _on_hand(ctx, "erp"), _on_hand(ctx, "wms")
    skus = erp.index.union(wms.index)
    erp = erp.reindex(skus, fill_value=0).to_numpy(dtype=np.int64)
    wms = wms.reindex(skus, fill_value=0).to_numpy(dtype=np.int64)
    pending = _pending_dispatch(ctx).add(_pending_adjustments(ctx), fill_value=0)
    pending = pending.reindex(skus, fill_value=0)
    pending_all = pending["units"].to_numpy(dtype=np.int64)
    pending_grace = pending["in_grace"].to_numpy(dtype=np.int64)
    diff = erp - wms
    fire = np.abs(diff - pending_grace) > ctx.settings.stock_tolerance_units
    if not fire.any():
        return nothing()
    skus = skus[fire]
    erp, wms, diff = erp[fire], wms[fire], diff[fire]
    pending_all, pending_grace = pending_all[fire], pending_grace[fire]
    unexplained = diff - pending_all
    costs = ctx.unit_costs().reindex(skus).to_numpy(dtype=object)
    units_valued = np.where(unexplained != 0, np.abs(unexplained), np.abs(diff))
    values = [
        None if c is None or c is pd.NA or pd.isna(c) else int(c) * int(u)
        for c, u in zip(costs, units_valued, strict=True)
    ]
    teams = np.where(unexplained != 0, "warehouse", "finance")
    erp_name, wms_name = ctx.system("erp"), ctx.system("wms")
    summaries = [
        f"SKU {sku}: {erp_name} has {e} on hand, {wms_name} {w}; "
        + (
            f"{abs(u)} units unexplained" + (f" (£{money(v)} at cost)" if v is not None else "")
            if u != 0
            else f"all {d} explained by postings not yet made"
        )
        for sku, e, w, d, u, v in zip(skus, erp, wms, diff, unexplained, values, strict=True)
    ]
    return found(
        key=list(skus),
        team=teams.tolist(),
        priority=["P2" if u != 0 else "P3" for u in unexplained],
        summary=summaries,
        details=[
            {
                "erp_on_hand": int(e),
                "wms_on_hand": int(w),
                "diff": int(d),
                "pending": int(p),
                "pending_in_grace": int(g),
                "unexplained": int(u),
                "unit_cost": money(c) if c is not None and not pd.isna(c) else None,
                "value": money(v),
            }
            for e, w, d, p, g, u, c, v in zip(
                erp, wms, diff, pending_all, pending_grace, unexplained, costs, values, strict=True
            )
        ],
        roles=["erp", "wms"],
        money=[pounds(v) for v in values],
        units=units_valued,
    )


def adjustment_not_posted(ctx: Context) -> pd.DataFrame:
    ctx.require("erp", "adjustments")
    ctx.require("wms", "adjustments")
    missing = _unposted_adjustments(ctx)
    grace = minutes(ctx.settings.grace_adjustment_post_minutes)
    age = pd.Series(missing["age"].to_numpy())
    late = (age > grace).to_numpy(dtype=bool)
    missing, age = missing[late], age[late]
    if missing.empty:
        return nothing()
    costs = ctx.unit_costs().reindex(missing["csku"]).to_numpy(dtype=object)
    deltas = missing["delta"].fillna(0).astype("int64").to_numpy()
    values = [
        None if c is None or pd.isna(c) else abs(int(d)) * int(c)
        for c, d in zip(costs, deltas, strict=True)
    ]
    wms_name, erp_name = ctx.system("wms"), ctx.system("erp")
    return found(
        key=missing["adjustment_ref"].tolist(),
        team="finance",
        priority="P3",
        summary=[
            f"Stock adjustment {ref} ({d:+d} × {sku}, {text(reason) or 'no reason'}) made in "
            f"{wms_name} was never posted to {erp_name}"
            for ref, d, sku, reason in zip(
                missing["adjustment_ref"], deltas, missing["csku"], missing["reason"], strict=True
            )
        ],
        details=[
            {
                "sku": sku,
                "delta": int(d),
                "reason": text(reason),
                "occurred_at": when(at),
                "value": money(v),
            }
            for sku, d, reason, at, v in zip(
                missing["csku"],
                deltas,
                missing["reason"],
                missing["occurred_at"],
                values,
                strict=True,
            )
        ],
        roles=["erp", "wms"],
        money=[pounds(v) for v in values],
        units=np.abs(deltas),
        hours=np.clip((age - grace).dt.total_seconds().to_numpy() / 3600.0, 0, None),
    )


def _available_to_sell(ctx: Context) -> pd.DataFrame:
    """Per SKU in the store's stock: store_available, base, committed, expected (rules.md)."""
    ctx.require("store", "stock")
    base_role = "wms" if "wms" in ctx.bundle.roles else ctx.require("erp")
    ctx.require(base_role, "stock")
    store = ctx.stock("store")["available"].dropna()
    store = store[~store.index.isin(sorted(ctx.non_stock))]
    base = ctx.stock(base_role)["available"].dropna()
    committed = pd.Series(0, index=store.index, dtype="int64")
    for role in ctx.pipeline[: ctx.pipeline.index(base_role)]:
        if not ctx.has(role, "orders", "order_lines"):
            continue
        orders = ctx.orders(role)
        # The most downstream copy before the base system, with no copy beyond it.
        counts = orders["status"].isin(OUTBOUND_STATUSES).to_numpy(dtype=bool) & (
            ctx.down(role) < 0
        )
        lines = ctx.items(role, "order_lines")
        lines = lines[lines["stock"] & (lines["pos"] >= 0)]
        lines = lines[counts[lines["pos"].to_numpy()]]
        units = lines.groupby("csku", observed=True)["quantity"].sum()
        committed = committed.add(units.reindex(committed.index, fill_value=0), fill_value=0)
    table = pd.DataFrame({"store_available": store}).join(pd.DataFrame({"base": base}), how="inner")
    table["committed"] = committed.reindex(table.index, fill_value=0).astype("int64")
    table["expected"] = np.maximum(
        0, table["base"] - table["committed"] - ctx.settings.safety_buffer_units
    ).astype("int64")
    table["store_available"] = table["store_available"].astype("int64")
    table.attrs["base_role"] = base_role
    return table


def _sell_exceptions(ctx: Context, table: pd.DataFrame, oversell: bool) -> pd.DataFrame:
    base_role = table.attrs["base_role"]
    gap = table["store_available"] - table["expected"]
    table = table[(gap > 0) if oversell else (gap < 0)]
    if table.empty:
        return nothing()
    gap = (table["store_available"] - table["expected"]).abs().to_numpy()
    costs = ctx.unit_costs().reindex(table.index).to_numpy(dtype=object)
    at_risk = [
        0.0 if c is None or pd.isna(c) else int(c) * int(g) / MONEY_SCALE
        for c, g in zip(costs, gap, strict=True)
    ]
    store_name, base_name = ctx.system("store"), ctx.system(base_role)
    if oversell:
        summaries = [
            f"SKU {sku}: {store_name} offers {s} but "
            + (f"only {e} can be shipped " if e else "none can be shipped ")
            + f"({base_name} has {b} available, {c} committed to orders not yet there)"
            for sku, s, e, b, c in table[
                ["store_available", "expected", "base", "committed"]
            ].itertuples()
        ]
        priority = ["P1" if e == 0 else "P2" for e in table["expected"]]
    else:
        summaries = [
            f"SKU {sku}: {store_name} offers {s} but {e} could be sold ({base_name} has {b} "
            f"available)"
            for sku, s, e, b in table[["store_available", "expected", "base"]].itertuples()
        ]
        priority = "P3"
    return found(
        key=list(table.index),
        team="ecommerce",
        priority=priority,
        summary=summaries,
        details=[
            {
                "store_available": int(s),
                "expected": int(e),
                "base": int(b),
                "committed": int(c),
                "base_role": base_role,
            }
            for s, e, b, c in zip(
                table["store_available"],
                table["expected"],
                table["base"],
                table["committed"],
                strict=True,
            )
        ],
        roles=["store", base_role],
        money=at_risk,
        units=gap,
    )


def oversell_risk(ctx: Context) -> pd.DataFrame:
    return _sell_exceptions(ctx, _available_to_sell(ctx), oversell=True)


def undersell(ctx: Context) -> pd.DataFrame:
    return _sell_exceptions(ctx, _available_to_sell(ctx), oversell=False)


def negative_stock(ctx: Context) -> pd.DataFrame:
    parts = []
    for role in ctx.pipeline:
        if not ctx.has(role, "stock"):
            continue
        stock = ctx.stock(role)
        negative = (stock["on_hand"].fillna(0) < 0) | (stock["available"].fillna(0) < 0)
        rows = stock[negative.to_numpy(dtype=bool)]
        parts.append(
            pd.DataFrame(
                {
                    "csku": rows.index.to_numpy(dtype=object),
                    "role": role,
                    "on_hand": rows["on_hand"].to_numpy(dtype=object),
                    "available": rows["available"].to_numpy(dtype=object),
                }
            )
        )
    if not parts:
        ctx.skip("no stock.csv in any role")
    negative = pd.concat(parts, ignore_index=True)
    if negative.empty:
        return nothing()
    rows = []
    for sku, group in negative.groupby("csku", sort=True):
        roles = group["role"].tolist()
        team = "warehouse" if "wms" in roles else "ops"
        where = ", ".join(
            f"{ctx.system(r)} {int(o) if not pd.isna(o) else '?'} on hand / "
            f"{int(a) if not pd.isna(a) else '?'} available"
            for r, o, a in zip(group["role"], group["on_hand"], group["available"], strict=True)
        )
        worst = min(int(v) for v in pd.concat([group["on_hand"], group["available"]]).dropna())
        rows.append(
            (
                sku,
                team,
                f"SKU {sku} has negative stock: {where}",
                {
                    r: {
                        "on_hand": None if pd.isna(o) else int(o),
                        "available": None if pd.isna(a) else int(a),
                    }
                    for r, o, a in zip(
                        group["role"], group["on_hand"], group["available"], strict=True
                    )
                },
                roles,
                abs(worst),
            )
        )
    key, team, summary, details, roles, units = zip(*rows, strict=True)
    return found(key, team, "P2", summary, details, list(roles), units=units)
