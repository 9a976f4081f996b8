"""Master data rules (rules.md, "Master data"): what the warehouse will refuse before it is sent."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reconciliation.rules.base import found, nothing, order_value, text
from reconciliation.rules.context import OUTBOUND_STATUSES, Context
from reconciliation.rules.validation import address_problems, sku_matches

ORDER_EXAMPLES = 10


def _outbound_lines(ctx: Context, role: str, orders: pd.DataFrame) -> pd.DataFrame:
    """Stock lines of the given orders of `role`: columns pos, csku, quantity, origin."""
    lines = ctx.items(role, "order_lines")
    lines = lines[lines["stock"] & np.isin(lines["pos"].to_numpy(), orders.index.to_numpy())]
    out = lines[["pos", "csku", "quantity"]].copy()
    out["origin"] = ctx.orders(role)["origin"].to_numpy(dtype=object)[out["pos"].to_numpy()]
    return out


def _per_sku(lines: pd.DataFrame, skus: np.ndarray) -> pd.DataFrame:
    """For each SKU of `skus`: orders (origins, first few), order count and units."""
    picked = lines[np.isin(lines["csku"].to_numpy(dtype=object), skus)]
    grouped = picked.groupby("csku", sort=True, observed=True)
    return pd.DataFrame(
        {
            "orders": grouped["origin"].agg(lambda s: sorted(set(s))[:ORDER_EXAMPLES]),
            "order_count": grouped["origin"].nunique(),
            "units": grouped["quantity"].sum(),
        }
    )


def sku_unknown(ctx: Context) -> pd.DataFrame:
    parts: list[tuple[str, str, pd.DataFrame]] = []
    if ctx.has("erp", "products") and ctx.has("store", "orders", "order_lines"):
        store = ctx.orders("store")
        waiting = store["status"].isin(OUTBOUND_STATUSES).to_numpy(dtype=bool) & (
            ctx.down("store") < 0
        )
        parts.append(("erp", "store", store[waiting]))
    if ctx.has("wms", "products", "orders"):
        upstream = ctx.upstream("wms")
        if upstream is not None and ctx.has(upstream, "orders", "order_lines"):
            parts.append(("wms", upstream, ctx.outbound()))
    if not parts:
        ctx.skip("needs erp or wms products.csv and the upstream orders and order_lines")
    found_parts = []
    for missing_in, upstream, orders in parts:
        lines = _outbound_lines(ctx, upstream, orders)
        products = ctx.raw(missing_in, "products")
        known = ctx.canonical(missing_in, products["sku"])
        unknown = lines[~lines["csku"].isin(known).to_numpy(dtype=bool)]
        if unknown.empty:
            continue
        per_sku = _per_sku(unknown, unknown["csku"].unique())
        name = ctx.system(missing_in)
        found_parts.append(
            found(
                key=per_sku.index.tolist(),
                team="merchandising",
                priority="P2",
                summary=[
                    f"SKU {sku} is not set up in {name}: {n} order{'s' if n != 1 else ''} waiting "
                    f"({u} units)"
                    for sku, n, u in zip(
                        per_sku.index, per_sku["order_count"], per_sku["units"], strict=True
                    )
                ],
                details=[
                    {"missing_in": missing_in, "orders": o, "order_count": int(n), "units": int(u)}
                    for o, n, u in zip(
                        per_sku["orders"], per_sku["order_count"], per_sku["units"], strict=True
                    )
                ],
                roles=[upstream, missing_in],
                units=per_sku["units"].to_numpy(),
            )
        )
    if not found_parts:
        return nothing()
    # A SKU missing in both erp and wms is one exception, reported where it blocks first.
    return pd.concat(found_parts, ignore_index=True).drop_duplicates("key", keep="first")


def sku_invalid_format(ctx: Context) -> pd.DataFrame:
    ctx.require("wms")
    upstream = ctx.require(ctx.upstream("wms"))
    pattern = ctx.settings.sku_pattern
    candidates: list[pd.DataFrame] = []
    if ctx.has("wms", "orders") and ctx.has(upstream, "orders", "order_lines"):
        lines = _outbound_lines(ctx, upstream, ctx.outbound())
        candidates.append(
            pd.DataFrame(
                {
                    "csku": lines["csku"].to_numpy(dtype=object),
                    "origin": lines["origin"],
                    "quantity": lines["quantity"].to_numpy(),
                    "where": "order",
                }
            )
        )
    if ctx.has(upstream, "products"):
        products = ctx.raw(upstream, "products")
        csku = ctx.canonical(upstream, products["sku"])
        stock_item = products["is_stock_item"].fillna(True).to_numpy(dtype=bool) & ~csku.isin(
            sorted(ctx.non_stock)
        ).to_numpy(dtype=bool)
        candidates.append(
            pd.DataFrame(
                {
                    "csku": csku[stock_item].to_numpy(dtype=object),
                    "origin": None,
                    "quantity": 0,
                    "where": "product",
                }
            )
        )
    if not candidates:
        ctx.skip("needs the upstream order_lines.csv or products.csv")
    every = pd.concat(candidates, ignore_index=True)
    unique = pd.Series(every["csku"].unique(), dtype="string[pyarrow]")
    sent = ctx.sent_to_wms(unique)
    bad = ~sku_matches(sent, pattern).to_numpy(dtype=bool)
    if not bad.any():
        return nothing()
    bad_skus = unique[bad].to_numpy(dtype=object)
    sent_as = dict(zip(bad_skus, sent[bad].to_numpy(dtype=object), strict=True))
    hits = every[np.isin(every["csku"].to_numpy(dtype=object), bad_skus)]
    rows: list[tuple[str, str, dict[str, Any], int]] = []
    for sku, group in hits.groupby("csku", sort=True):
        orders = sorted({o for o in group["origin"] if isinstance(o, str)})
        units = int(group["quantity"].sum())
        on_orders = (
            f"on {len(orders)} waiting order{'s' if len(orders) != 1 else ''}"
            if orders
            else "in the product catalogue"
        )
        rows.append(
            (
                sku,
                f"SKU {sent_as[sku]} does not match the warehouse SKU pattern ({on_orders})",
                {
                    "sent_as": sent_as[sku],
                    "pattern": pattern,
                    "orders": orders[:ORDER_EXAMPLES],
                    "order_count": len(orders),
                    "in_products": bool((group["where"] == "product").any()),
                },
                units,
            )
        )
    key, summary, details, units = zip(*rows, strict=True)
    priority = ["P2" if d["order_count"] else "P3" for d in details]
    return found(key, "merchandising", priority, summary, details, [upstream, "wms"], units=units)


def shipping_unmapped(ctx: Context) -> pd.DataFrame:
    methods = ctx.settings.shipping_methods
    if not methods:
        ctx.skip("shipping_methods is empty")
    ctx.require("wms", "orders")
    upstream = ctx.require(ctx.upstream("wms"), "orders")
    orders = ctx.outbound()
    known = set(methods) | set(methods.values())
    method = orders["shipping_method"].to_numpy(dtype=object)
    bad = np.array([not isinstance(m, str) or m not in known for m in method], dtype=bool)
    hits = orders[bad]
    wms_name = ctx.system("wms")
    return found(
        key=hits["origin"].tolist(),
        team="ops",
        priority="P2",
        summary=[
            f"Order {origin} cannot go to {wms_name}: shipping method "
            + (f"'{m}' has no service code mapped" if isinstance(m, str) else "is empty")
            for origin, m in zip(hits["origin"], method[bad], strict=True)
        ],
        details=[
            {
                "shipping_method": text(m),
                "order_ref": ref,
                "role": upstream,
                "known_methods": sorted(methods),
            }
            for m, ref in zip(method[bad], hits["order_ref"], strict=True)
        ],
        roles=[upstream, "wms"],
        money=order_value(ctx, upstream, hits.index.to_numpy()),
    )


def address_invalid(ctx: Context) -> pd.DataFrame:
    ctx.require("wms", "orders")
    upstream = ctx.require(ctx.upstream("wms"), "orders")
    orders = ctx.outbound()
    problems = address_problems(orders, require_phone=ctx.settings.require_phone)
    bad = np.array([bool(p) for p in problems], dtype=bool)
    hits = orders[bad]
    problems = [p for p in problems if p]
    return found(
        key=hits["origin"].tolist(),
        team="cx",
        priority="P2",
        summary=[
            f"Order {origin} cannot be shipped: " + "; ".join(p["message"] for p in probs)
            for origin, probs in zip(hits["origin"], problems, strict=True)
        ],
        details=[
            {
                "problems": probs,
                "order_ref": ref,
                "role": upstream,
                "address": {
                    f: text(row[f])
                    for f in (
                        "ship_name",
                        "ship_line1",
                        "ship_line2",
                        "ship_city",
                        "ship_postcode",
                        "ship_country",
                        "ship_phone",
                        "email",
                    )
                },
            }
            for probs, ref, row in zip(
                problems, hits["order_ref"], hits.to_dict("records"), strict=True
            )
        ],
        roles=[upstream, "wms"],
        money=order_value(ctx, upstream, hits.index.to_numpy()),
    )


def non_stock_sent(ctx: Context) -> pd.DataFrame:
    ctx.require("wms", "orders", "order_lines")
    lines = ctx.items("wms", "order_lines")
    sent = lines[~lines["stock"] & (lines["pos"] >= 0)]
    if sent.empty:
        return nothing()
    wms = ctx.orders("wms")
    per_order = sent.groupby("pos", sort=True)["csku"].agg(lambda s: sorted(set(s)))
    where = per_order.index.to_numpy()
    origins = wms["origin"].to_numpy(dtype=object)[where]
    name = ctx.system("wms")
    return found(
        key=origins.tolist(),
        team="ops",
        priority="P3",
        summary=[
            f"Order {origin} was sent to {name} with non-stock line{'s' if len(skus) > 1 else ''} "
            + ", ".join(skus)
            for origin, skus in zip(origins, per_order, strict=True)
        ],
        details=[
            {"skus": skus, "wms_order_ref": ref}
            for skus, ref in zip(
                per_order, wms["order_ref"].to_numpy(dtype=object)[where], strict=True
            )
        ],
        roles=["wms"],
    )
