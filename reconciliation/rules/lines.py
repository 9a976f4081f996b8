"""Order rules that compare contents and links: lines, shipped quantities, duplicates, orphans,
and the shipping service actually used."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from reconciliation.rules.base import found, nothing, order_facts, order_value, spoken, text
from reconciliation.rules.context import Context, positions, take


def _sku_differences(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """(pair, qty) frames compared exactly: rows whose quantities differ or a side is missing.

    Instead of an outer merge, both sides are stacked with signed quantities and a side bit, and
    summed per pair: a pair differs when the sum is not 0 or it is not on both sides (bits 1|2).
    Returns columns pair, qty_left, qty_right (NaN where a side has no such SKU).
    """
    pairs = np.concatenate([left["pair"].to_numpy(), right["pair"].to_numpy()])
    stacked = pd.DataFrame(
        {
            "net": np.concatenate([left["qty"].to_numpy(), -right["qty"].to_numpy()]),
            "side": np.concatenate(
                [np.ones(len(left), dtype=np.int8), np.full(len(right), 2, dtype=np.int8)]
            ),
        }
    )
    summed = stacked.groupby(pairs, sort=True).sum()
    differs = summed[(summed["net"] != 0).to_numpy() | (summed["side"] != 3).to_numpy()].index
    if len(differs) == 0:
        return pd.DataFrame({"pair": [], "qty_left": [], "qty_right": []})
    left_qty = pd.Series(left["qty"].to_numpy(), index=left["pair"].to_numpy())
    right_qty = pd.Series(right["qty"].to_numpy(), index=right["pair"].to_numpy())
    return pd.DataFrame(
        {
            "pair": differs.to_numpy(),
            "qty_left": left_qty.reindex(differs).to_numpy(),
            "qty_right": right_qty.reindex(differs).to_numpy(),
        }
    )


def _sku_list(ctx: Context, diffs: pd.DataFrame, left: str, right: str) -> dict[int, list[dict]]:
    """Per order position (pair // sku_count): [{sku, left: qty, right: qty}] sorted by SKU."""
    pos = diffs["pair"].to_numpy() // ctx.sku_count
    codes = diffs["pair"].to_numpy() % ctx.sku_count
    names = ctx.sku_name(codes)
    out: dict[int, list[dict]] = {}
    for p, sku, ql, qr in zip(pos, names, diffs["qty_left"], diffs["qty_right"], strict=True):
        out.setdefault(int(p), []).append(
            {"sku": sku, left: 0 if pd.isna(ql) else int(ql), right: 0 if pd.isna(qr) else int(qr)}
        )
    for skus in out.values():
        skus.sort(key=lambda item: item["sku"])
    return out


def _rekeyed(ctx: Context, up_qty: pd.DataFrame, linked: pd.DataFrame) -> pd.DataFrame:
    """Upstream quantities re-keyed to each linked downstream order (pair = d_pos·K + code).

    Most upstream orders have one downstream copy: those map through an array; the few with
    duplicates are expanded with a merge.
    """
    up_pos = linked["up"].to_numpy()
    shared = pd.Series(up_pos).duplicated(keep=False).to_numpy()
    single_map = np.full(len(ctx.orders(linked.attrs["upstream"])), -1, dtype=np.int64)
    single_map[up_pos[~shared]] = linked.index.to_numpy()[~shared]
    d_pos = single_map[up_qty["pos"].to_numpy()]
    keep = d_pos >= 0
    parts = [
        pd.DataFrame(
            {
                "d_pos": d_pos[keep],
                "code": up_qty["code"].to_numpy()[keep],
                "qty": up_qty["qty"].to_numpy()[keep],
            }
        )
    ]
    if shared.any():
        dup_pairs = pd.DataFrame({"d_pos": linked.index.to_numpy()[shared], "pos": up_pos[shared]})
        parts.append(
            up_qty[["pos", "code", "qty"]].merge(dup_pairs, on="pos")[["d_pos", "code", "qty"]]
        )
    rekeyed = pd.concat(parts, ignore_index=True)
    rekeyed["pair"] = rekeyed["d_pos"].to_numpy() * ctx.sku_count + rekeyed["code"].to_numpy()
    return rekeyed


def lines_mismatch(ctx: Context) -> pd.DataFrame:
    parts = []
    checked = False
    for upstream, downstream in zip(ctx.pipeline, ctx.pipeline[1:], strict=False):
        if not all(ctx.has(role, "orders", "order_lines") for role in (upstream, downstream)):
            continue
        checked = True
        down = ctx.orders(downstream)
        linked = down[(down["up"] >= 0).to_numpy() & ~down["cancelled"].to_numpy(dtype=bool)]
        if linked.empty:
            continue
        linked.attrs["upstream"] = upstream
        up_qty = _rekeyed(ctx, ctx.quantities(upstream, "order_lines"), linked)
        down_qty = ctx.quantities(downstream, "order_lines")
        down_qty = down_qty[np.isin(down_qty["pos"].to_numpy(), linked.index.to_numpy())]
        diffs = _sku_differences(up_qty, down_qty)
        if diffs.empty:
            continue
        per_order = _sku_list(ctx, diffs, upstream, downstream)
        where = np.array(sorted(per_order), dtype=np.int64)
        up_where = down["up"].to_numpy()[where]
        up_name, down_name = ctx.system(upstream), ctx.system(downstream)
        units = [sum(abs(s[upstream] - s[downstream]) for s in per_order[p]) for p in where]
        parts.append(
            found(
                key=down["origin"].to_numpy(dtype=object)[where].tolist(),
                team="ops",
                priority="P2",
                summary=[
                    f"Order {origin} has different lines in {up_name} and {down_name}: "
                    + ", ".join(
                        f"{s['sku']} {s[upstream]} vs {s[downstream]}" for s in per_order[p][:3]
                    )
                    + (" …" if len(per_order[p]) > 3 else "")
                    for origin, p in zip(
                        down["origin"].to_numpy(dtype=object)[where], where, strict=True
                    )
                ],
                details=[
                    {"skus": per_order[p], upstream: u, downstream: d}
                    for p, u, d in zip(
                        where,
                        order_facts(ctx, upstream, up_where),
                        order_facts(ctx, downstream, where),
                        strict=True,
                    )
                ],
                roles=[upstream, downstream],
                money=order_value(ctx, upstream, up_where),
                units=units,
            )
        )
    if not checked:
        ctx.skip("needs two adjacent roles with orders.csv and order_lines.csv")
    if not parts:
        return nothing()
    return _merge_by_key(pd.concat(parts, ignore_index=True))


def _merge_by_key(frame: pd.DataFrame) -> pd.DataFrame:
    """One exception per key: where two hops report the same origin, keep both hops' details."""
    if not frame["key"].duplicated().any():
        return frame
    rows: list[dict[str, Any]] = []
    for _, group in frame.groupby("key", sort=False):
        first = group.iloc[0].to_dict()
        if len(group) > 1:
            first["summary"] = " ; ".join(group["summary"])
            merged: dict[str, Any] = {}
            for details in group["details"]:
                for name, value in details.items():
                    if name == "skus":
                        merged.setdefault("skus", []).extend(value)
                    else:
                        merged.setdefault(name, value)
            first["details"] = merged
            first["roles"] = sorted(
                {r for roles in group["roles"] for r in roles}, key=["store", "erp", "wms"].index
            )
            first["units"] = float(group["units"].sum())
        rows.append(first)
    return pd.DataFrame(rows, columns=frame.columns)


def shipped_qty_mismatch(ctx: Context) -> pd.DataFrame:
    role = ctx.wms_else_erp()
    ctx.require(role, "orders", "shipments", "order_lines")
    orders = ctx.orders(role)
    status = orders["status"].to_numpy(dtype=object)
    dispatched = np.flatnonzero(status == "dispatched")
    partial = np.flatnonzero(status == "partially_dispatched")
    ordered = ctx.quantities(role, "order_lines")
    shipped = ctx.quantities(role, "shipments")
    relevant = np.concatenate([dispatched, partial])
    ordered = ordered[np.isin(ordered["pos"].to_numpy(), relevant)]
    shipped = shipped[np.isin(shipped["pos"].to_numpy(), relevant)]
    merged = _sku_differences(ordered, shipped)
    qty_ordered = merged["qty_left"].fillna(0).to_numpy(dtype=np.int64)
    qty_shipped = merged["qty_right"].fillna(0).to_numpy(dtype=np.int64)
    pos = merged["pair"].to_numpy() // ctx.sku_count
    is_partial = np.isin(pos, partial)
    bad = np.where(is_partial, qty_shipped > qty_ordered, qty_shipped != qty_ordered)
    diffs = merged[bad]
    if diffs.empty:
        return nothing()
    per_order = _sku_list(ctx, diffs, "ordered", "shipped")
    where = np.array(sorted(per_order), dtype=np.int64)
    name = ctx.system(role)
    origins = orders["origin"].to_numpy(dtype=object)[where]
    return found(
        key=origins.tolist(),
        team="warehouse",
        priority="P2",
        summary=[
            f"Order {origin} is {spoken(status[p])} in {name} but shipped "
            + ", ".join(f"{s['sku']} {s['shipped']} of {s['ordered']}" for s in per_order[p][:3])
            + (" …" if len(per_order[p]) > 3 else "")
            for origin, p in zip(origins, where, strict=True)
        ],
        details=[
            {"skus": per_order[p], role: fact}
            for p, fact in zip(where, order_facts(ctx, role, where), strict=True)
        ],
        roles=[role],
        money=order_value(ctx, role, where),
        units=[sum(abs(s["ordered"] - s["shipped"]) for s in per_order[p]) for p in where],
    )


def duplicate_order(ctx: Context) -> pd.DataFrame:
    parts = []
    checked = False
    for upstream, downstream in zip(ctx.pipeline, ctx.pipeline[1:], strict=False):
        if not (ctx.has(upstream, "orders") and ctx.has(downstream, "orders")):
            continue
        checked = True
        down = ctx.orders(downstream)
        live = down[down["source_ref"].notna().to_numpy() & ~down["cancelled"].to_numpy(dtype=bool)]
        shared = live[live["source_ref"].duplicated(keep=False).to_numpy(dtype=bool)]
        if shared.empty:
            continue
        shared = shared.sort_values(["source_ref", "placed_at", "order_ref"])
        up_name, down_name = ctx.system(upstream), ctx.system(downstream)
        rows = []
        for source_ref, group in shared.groupby("source_ref", sort=False, observed=True):
            up_pos = int(group["up"].iloc[0])
            key = group["origin"].iloc[0] if up_pos >= 0 else source_ref
            refs = group["order_ref"].tolist()
            rows.append(
                (
                    str(key),
                    f"{down_name} has {len(refs)} orders for {up_name} order {source_ref}: "
                    + ", ".join(refs),
                    {
                        "source_ref": str(source_ref),
                        "role": downstream,
                        downstream: order_facts(ctx, downstream, group.index.to_numpy()),
                        upstream: order_facts(ctx, upstream, [up_pos])[0],
                    },
                    float(order_value(ctx, downstream, group.index.to_numpy()[1:]).sum()),
                    len(refs) - 1,
                )
            )
        key, summary, details, money, extra = zip(*rows, strict=True)
        parts.append(
            found(
                key, "ops", "P2", summary, details, [upstream, downstream], money=money, units=extra
            )
        )
    if not checked:
        ctx.skip("needs two adjacent roles with orders.csv")
    if not parts:
        return nothing()
    return pd.concat(parts, ignore_index=True).drop_duplicates("key", keep="last")


def orphan_order(ctx: Context) -> pd.DataFrame:
    parts = []
    checked = False
    for upstream, downstream in zip(ctx.pipeline, ctx.pipeline[1:], strict=False):
        if not (ctx.has(upstream, "orders") and ctx.has(downstream, "orders")):
            continue
        checked = True
        down = ctx.orders(downstream)
        ghosts = down[
            down["source_ref"].notna().to_numpy()
            & (down["up"] < 0).to_numpy()
            & ~down["cancelled"].to_numpy(dtype=bool)
        ]
        if ghosts.empty:
            continue
        up_name, down_name = ctx.system(upstream), ctx.system(downstream)
        parts.append(
            found(
                key=ghosts["order_ref"].tolist(),
                team="ops",
                priority="P3",
                summary=[
                    f"{down_name} order {ref} points at {up_name} order {src}, which does not exist"
                    for ref, src in zip(ghosts["order_ref"], ghosts["source_ref"], strict=True)
                ],
                details=[
                    {"role": downstream, "source_ref": text(src), downstream: fact}
                    for src, fact in zip(
                        ghosts["source_ref"],
                        order_facts(ctx, downstream, ghosts.index.to_numpy()),
                        strict=True,
                    )
                ],
                roles=[upstream, downstream],
                money=order_value(ctx, downstream, ghosts.index.to_numpy()),
            )
        )
    if not checked:
        ctx.skip("needs two adjacent roles with orders.csv")
    if not parts:
        return nothing()
    return pd.concat(parts, ignore_index=True).drop_duplicates("key", keep="last")


def service_mismatch(ctx: Context) -> pd.DataFrame:
    methods = ctx.settings.shipping_methods
    if not methods:
        ctx.skip("shipping_methods is empty")
    ctx.require("wms", "orders", "shipments")
    upstream = ctx.require(ctx.upstream("wms"), "orders")
    shipments = ctx.items("wms", "shipments")
    shipments = shipments[shipments["service_code"].notna().to_numpy() & (shipments["pos"] >= 0)]
    wms = ctx.orders("wms")
    up_where = wms["up"].to_numpy()[shipments["pos"].to_numpy()]
    method = pd.Series(take(ctx.orders(upstream)["shipping_method"], up_where), dtype=object)
    codes = set(methods.values())
    expected = method.map(lambda m: methods.get(m, m if m in codes else None))
    actual = shipments["service_code"].to_numpy(dtype=object)
    bad = expected.notna().to_numpy() & (expected.to_numpy(dtype=object) != actual)
    if not bad.any():
        return nothing()
    hits = pd.DataFrame(
        {
            "pos": shipments["pos"].to_numpy()[bad],
            "up": up_where[bad],
            "expected": expected.to_numpy(dtype=object)[bad],
            "actual": actual[bad],
            "method": method.to_numpy(dtype=object)[bad],
        }
    ).drop_duplicates(["pos", "actual"])
    first = hits.drop_duplicates("pos")
    where = first["pos"].to_numpy()
    origins = wms["origin"].to_numpy(dtype=object)[where]
    wms_name, up_name = ctx.system("wms"), ctx.system(upstream)
    express = set(ctx.settings.express_service_codes)
    return found(
        key=origins.tolist(),
        team="warehouse",
        priority=["P2" if e in express else "P3" for e in first["expected"]],
        summary=[
            f"Order {origin} was shipped by {wms_name} as {act} but {up_name} asked for {meth} "
            f"({exp})"
            for origin, act, meth, exp in zip(
                origins, first["actual"], first["method"], first["expected"], strict=True
            )
        ],
        details=[
            {
                "shipping_method": meth,
                "expected_service": exp,
                "shipped_services": sorted(hits.loc[hits["pos"] == p, "actual"].tolist()),
                "wms": fact,
            }
            for p, meth, exp, fact in zip(
                where,
                first["method"],
                first["expected"],
                order_facts(ctx, "wms", where),
                strict=True,
            )
        ],
        roles=[upstream, "wms"],
        money=order_value(ctx, upstream, first["up"].to_numpy()),
    )


__all__ = [
    "duplicate_order",
    "lines_mismatch",
    "orphan_order",
    "service_mismatch",
    "shipped_qty_mismatch",
    "positions",
]
