"""Order flow rules (rules.md, "Order flow"): orders that do not move, or move and are not posted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reconciliation.rules.base import (
    age_minutes,
    duration,
    found,
    hours_past,
    minutes,
    nothing,
    order_facts,
    order_value,
    spoken,
    text,
    when,
)
from reconciliation.rules.context import DISPATCHED, HELD_STATUSES, Context, pick, take

HOLD_REASON_TEAMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sku", "product", "item"), "merchandising"),
    (("address", "postcode", "phone"), "cx"),
    (("shipping", "service", "carrier"), "ops"),
    (("stock", "inventory"), "warehouse"),
    (("payment", "credit", "fraud"), "finance"),
)


def team_for_hold_reason(reason: str | None) -> str:
    """The first group of rules.md's list with a word in the reason (case-insensitive), else ops."""
    lowered = (reason or "").lower()
    for words, team in HOLD_REASON_TEAMS:
        if any(word in lowered for word in words):
            return team
    return "ops"


def order_not_in_erp(ctx: Context) -> pd.DataFrame:
    ctx.require("store", "orders")
    ctx.require("erp", "orders")
    store = ctx.orders("store")
    grace = minutes(ctx.settings.grace_store_to_erp_minutes)
    age = ctx.age(store["placed_at"])
    fire = (
        ~store["status"].isin(("pending", "cancelled")).to_numpy(dtype=bool)
        & (age > grace).to_numpy(dtype=bool)
        & (ctx.down("store") < 0)
    )
    hits = store[fire]
    age = age[fire]
    mins = age_minutes(age)
    where = hits.index.to_numpy()
    store_name, erp_name = ctx.system("store"), ctx.system("erp")
    return found(
        key=hits["order_ref"].tolist(),
        team="ecommerce",
        priority=np.where(mins > 24 * 60, "P1", "P2").tolist(),
        summary=[
            f"Order {ref} was placed in {store_name} {duration(a)} ago and has not reached {erp_name}"
            for ref, a in zip(hits["order_ref"], mins, strict=True)
        ],
        details=[
            {"store": fact, "erp": None, "age_minutes": int(a)}
            for fact, a in zip(order_facts(ctx, "store", where), mins, strict=True)
        ],
        roles=["store", "erp"],
        money=order_value(ctx, "store", where),
        hours=hours_past(age, grace),
    )


def order_not_at_wms(ctx: Context) -> pd.DataFrame:
    ctx.require("wms", "orders")
    upstream = ctx.require(ctx.upstream("wms"), "orders")
    orders = ctx.orders(upstream)
    grace = minutes(ctx.settings.grace_to_wms_minutes)
    age = ctx.age(orders["placed_at"])
    fire = (
        orders["status"].isin(("open", "released")).to_numpy(dtype=bool)
        & (age > grace).to_numpy(dtype=bool)
        & (ctx.down(upstream) < 0)
    )
    hits = orders[fire]
    age = age[fire]
    mins = age_minutes(age)
    where = hits.index.to_numpy()
    kinds = np.where(hits["status"].to_numpy(dtype=object) == "released", "lost", "not_sent")
    up_name, wms_name = ctx.system(upstream), ctx.system("wms")
    summaries = [
        f"Order {origin} was released by {up_name} {duration(a)} ago but {wms_name} never received it"
        if kind == "lost"
        else f"Order {origin} has been open in {up_name} for {duration(a)} and was never sent to "
        f"{wms_name}"
        for origin, kind, a in zip(hits["origin"], kinds, mins, strict=True)
    ]
    return found(
        key=hits["origin"].tolist(),
        team="ops",
        priority=["P1" if kind == "lost" else "P2" for kind in kinds],
        summary=summaries,
        details=[
            {"kind": kind, upstream: fact, "wms": None, "age_minutes": int(a)}
            for kind, fact, a in zip(kinds, order_facts(ctx, upstream, where), mins, strict=True)
        ],
        roles=[upstream, "wms"],
        money=order_value(ctx, upstream, where),
        hours=hours_past(age, grace),
    )


def order_held(ctx: Context) -> pd.DataFrame:
    held_parts = []
    for rank, role in enumerate(ctx.pipeline):
        if not ctx.has(role, "orders"):
            continue
        orders = ctx.orders(role)
        held = orders[orders["status"].isin(HELD_STATUSES).to_numpy(dtype=bool)]
        if len(held):
            held_parts.append(
                pd.DataFrame(
                    {
                        "origin": held["origin"].to_numpy(dtype=object),
                        "rank": rank,
                        "role": role,
                        "order_ref": held["order_ref"].to_numpy(dtype=object),
                        "status": held["status"].to_numpy(dtype=object),
                        "hold_reason": held["hold_reason"].to_numpy(dtype=object),
                        "updated_at": held["updated_at"].fillna(held["placed_at"]).to_numpy(),
                        "pos": held.index.to_numpy(),
                    }
                )
            )
    if not held_parts:
        if not any(ctx.has(role, "orders") for role in ctx.pipeline):
            ctx.skip("no orders.csv in any role")
        return nothing()
    held = pd.concat(held_parts, ignore_index=True)
    # The most downstream holding system decides the team; ties go to the lowest order_ref.
    held = held.sort_values(["origin", "rank", "order_ref"], ascending=[True, False, True])
    systems: dict[str, list[dict]] = {}
    for origin, role, ref, status, reason, since in zip(
        held["origin"],
        held["role"],
        held["order_ref"],
        held["status"],
        held["hold_reason"],
        held["updated_at"],
        strict=True,
    ):
        systems.setdefault(origin, []).append(
            {
                "role": role,
                "system": ctx.system(role),
                "order_ref": ref,
                "status": status,
                "hold_reason": text(reason),
                "since": when(since),
            }
        )
    deciding = held.drop_duplicates("origin", keep="first")
    rows = []
    for origin, role, status, reason, since, pos in zip(
        deciding["origin"],
        deciding["role"],
        deciding["status"],
        deciding["hold_reason"],
        deciding["updated_at"],
        deciding["pos"],
        strict=True,
    ):
        holding = systems[origin][::-1]  # pipeline order
        names = " and ".join(dict.fromkeys(s["system"] for s in holding))
        verb = "rejected" if status == "rejected" else "held"
        reason = text(reason)
        rows.append(
            (
                origin,
                team_for_hold_reason(reason),
                f"Order {origin} is {verb} in {names}: {reason or 'no reason given'}",
                {"systems": holding, "hold_reason": reason},
                [s["role"] for s in holding],
                order_value(ctx, role, np.array([pos]))[0],
                max((ctx.as_of - pd.Timestamp(since)).total_seconds() / 3600.0, 0.0),
            )
        )
    key, team, summary, details, roles, money, hours = zip(*rows, strict=True)
    return found(key, team, "P2", summary, details, list(roles), money=money, hours=hours)


def dispatch_not_posted(ctx: Context) -> pd.DataFrame:
    ctx.require("wms", "orders")
    upstream = ctx.require(ctx.upstream("wms"), "orders")
    wms = ctx.orders("wms")
    grace = minutes(ctx.settings.grace_dispatch_post_minutes)
    age = ctx.age(ctx.dispatch_time("wms"))
    up_where = wms["up"].to_numpy()
    up_status = pd.Series(ctx.status_of(upstream, up_where), dtype=object)
    fire = (
        wms["status"].isin(DISPATCHED).to_numpy(dtype=bool)
        & (age > grace).to_numpy(dtype=bool)
        & (up_where >= 0)
        & ~up_status.isin(DISPATCHED).to_numpy(dtype=bool)
    )
    hits = wms[fire]
    age = age[fire]
    mins = age_minutes(age)
    up_hits = up_where[fire]
    statuses = up_status[fire].tolist()
    wms_name, up_name = ctx.system("wms"), ctx.system(upstream)
    return found(
        key=hits["origin"].tolist(),
        team="ops",
        priority="P2",
        summary=[
            f"Order {origin} was dispatched by {wms_name} {duration(a)} ago but {up_name} still "
            f"shows it {spoken(status)}"
            for origin, a, status in zip(hits["origin"], mins, statuses, strict=True)
        ],
        details=[
            {"wms": w, upstream: u, "dispatched_minutes_ago": int(a)}
            for w, u, a in zip(
                order_facts(ctx, "wms", hits.index.to_numpy()),
                order_facts(ctx, upstream, up_hits),
                mins,
                strict=True,
            )
        ],
        roles=[upstream, "wms"],
        money=order_value(ctx, upstream, up_hits),
        hours=hours_past(age, grace),
    )


def store_not_updated(ctx: Context) -> pd.DataFrame:
    ctx.require("store", "orders")
    ctx.require("erp", "orders")
    erp = ctx.orders("erp")
    # Dispatch time: erp shipments, else the linked wms order's shipments, else erp timestamps.
    dispatch_time = ctx.latest_shipment_time("erp")
    if ctx.has("wms", "orders"):
        from_wms = pick(ctx.latest_shipment_time("wms"), ctx.down("erp"))
        dispatch_time = dispatch_time.fillna(from_wms.set_axis(erp.index))
    dispatch_time = dispatch_time.fillna(erp["updated_at"]).fillna(erp["placed_at"])
    grace = minutes(ctx.settings.grace_store_update_minutes)
    age = ctx.age(dispatch_time)
    store_where = erp["up"].to_numpy()
    store_status = pd.Series(ctx.status_of("store", store_where), dtype=object)
    fire = (
        erp["status"].isin(DISPATCHED).to_numpy(dtype=bool)
        & (age > grace).to_numpy(dtype=bool)
        & (store_where >= 0)
        & ~store_status.isin(DISPATCHED).to_numpy(dtype=bool)
    )
    hits = erp[fire]
    age = age[fire]
    mins = age_minutes(age)
    store_hits = store_where[fire]
    keys = take(ctx.orders("store")["order_ref"], store_hits)
    erp_name, store_name = ctx.system("erp"), ctx.system("store")
    return found(
        key=list(keys),
        team="cx",
        priority="P2",
        summary=[
            f"Order {key} was dispatched {duration(a)} ago by {erp_name}'s record but {store_name} "
            f"still shows it {spoken(status)}: the customer has no dispatch email"
            for key, a, status in zip(keys, mins, store_status[fire], strict=True)
        ],
        details=[
            {"erp": e, "store": s, "dispatched_minutes_ago": int(a)}
            for e, s, a in zip(
                order_facts(ctx, "erp", hits.index.to_numpy()),
                order_facts(ctx, "store", store_hits),
                mins,
                strict=True,
            )
        ],
        roles=["store", "erp"],
        money=order_value(ctx, "store", store_hits),
        hours=hours_past(age, grace),
    )


def cancelled_not_stopped(ctx: Context) -> pd.DataFrame:
    parts = []
    for upstream, downstream in zip(ctx.pipeline, ctx.pipeline[1:], strict=False):
        if not (ctx.has(upstream, "orders") and ctx.has(downstream, "orders")):
            continue
        up = ctx.orders(upstream)
        counterpart = ctx.down(upstream)
        down_status = pd.Series(ctx.status_of(downstream, counterpart), dtype=object)
        fire = (
            up["cancelled"].to_numpy(dtype=bool)
            & (counterpart >= 0)
            & (down_status != "cancelled").to_numpy(dtype=bool)
        )
        if not fire.any():
            continue
        hits = up[fire]
        down_hits = counterpart[fire]
        shipped = down_status[fire].isin(DISPATCHED).to_numpy(dtype=bool)
        if ctx.has(downstream, "shipments"):
            shipments = ctx.items(downstream, "shipments")
            with_units = shipments[shipments["quantity"].fillna(0) > 0]["pos"].unique()
            shipped = shipped | np.isin(down_hits, with_units)
        team = "warehouse" if downstream == "wms" else "finance"
        up_name, down_name = ctx.system(upstream), ctx.system(downstream)
        parts.append(
            found(
                key=hits["origin"].tolist(),
                team=team,
                priority=["P2" if s else "P1" for s in shipped],
                summary=[
                    f"Order {origin} was cancelled in {up_name} but {down_name} "
                    + ("has already dispatched it" if s else f"still has it {spoken(status)}")
                    for origin, s, status in zip(
                        hits["origin"], shipped, down_status[fire], strict=True
                    )
                ],
                details=[
                    {"shipped": bool(s), upstream: u, downstream: d}
                    for s, u, d in zip(
                        shipped,
                        order_facts(ctx, upstream, hits.index.to_numpy()),
                        order_facts(ctx, downstream, down_hits),
                        strict=True,
                    )
                ],
                roles=[upstream, downstream],
                money=order_value(ctx, upstream, hits.index.to_numpy()),
            )
        )
    if not parts:
        if len(ctx.pipeline) < 2:
            ctx.skip("needs two adjacent roles with orders.csv")
        return nothing()
    # The same origin can break at two hops only with duplicates; the downstream hop is reported.
    return pd.concat(parts[::-1], ignore_index=True).drop_duplicates("key", keep="first")


def stuck_pre_dispatch(ctx: Context) -> pd.DataFrame:
    ctx.require("wms", "orders")
    wms = ctx.orders("wms")
    settings = ctx.settings
    method = wms["shipping_method"].astype(object)
    service = method.map(settings.shipping_methods).astype(object).fillna(method)
    express = service.isin(settings.express_service_codes).to_numpy(dtype=bool)
    sla = pd.Series(
        np.where(express, settings.express_sla_hours, settings.dispatch_sla_hours), index=wms.index
    )
    sla = pd.to_timedelta(sla, unit="h")
    age = ctx.age(wms["placed_at"])
    fire = (wms["status"] == "in_progress").to_numpy(dtype=bool) & (age > sla).to_numpy(dtype=bool)
    hits = wms[fire]
    age, sla, express, service = age[fire], sla[fire], express[fire], service[fire]
    mins = age_minutes(age)
    sla_hours = (sla.dt.total_seconds().to_numpy() // 3600).astype(int)
    wms_name = ctx.system("wms")
    return found(
        key=hits["origin"].tolist(),
        team="warehouse",
        priority=["P1" if e else "P2" for e in express],
        summary=[
            f"{'Express order' if e else 'Order'} {origin} has been in progress at {wms_name} for "
            f"{duration(a)}, past its {s} h dispatch SLA"
            for origin, e, a, s in zip(hits["origin"], express, mins, sla_hours, strict=True)
        ],
        details=[
            {
                "wms": fact,
                "service": text(svc),
                "express": bool(e),
                "sla_hours": int(s),
                "age_hours": round(a / 60, 1),
            }
            for fact, svc, e, s, a in zip(
                order_facts(ctx, "wms", hits.index.to_numpy()),
                service,
                express,
                sla_hours,
                mins,
                strict=True,
            )
        ],
        roles=["wms"],
        money=order_value(ctx, "wms", hits.index.to_numpy()),
        hours=hours_past(age, sla),
    )


def tracking_missing(ctx: Context) -> pd.DataFrame:
    role = ctx.wms_else_erp()
    ctx.require(role, "orders", "shipments")
    shipments = ctx.items(role, "shipments")
    missing = shipments[
        shipments["tracking_number"].isna().to_numpy(dtype=bool)
        | shipments["carrier"].isna().to_numpy(dtype=bool)
    ]
    if missing.empty:
        return nothing()
    orders = ctx.orders(role)
    per_order = missing.groupby("pos", sort=True).agg(
        parcels=("shipment_ref", lambda s: sorted({str(v) for v in s.dropna()})),
        rows=("sku", "size"),
        no_tracking=("tracking_number", lambda s: int(s.isna().sum())),
        no_carrier=("carrier", lambda s: int(s.isna().sum())),
    )
    where = per_order.index.to_numpy()
    origins = orders["origin"].to_numpy(dtype=object)[where]
    name = ctx.system(role)
    dispatched = ctx.latest_shipment_time(role).to_numpy()[where]
    age = ctx.age(pd.Series(dispatched))
    return found(
        key=list(origins),
        team="warehouse",
        priority="P3",
        summary=[
            f"Order {origin} was shipped by {name} without "
            + ("a tracking number" if nt else "a carrier")
            + (f" on {rows} shipment rows" if rows > 1 else "")
            for origin, nt, rows in zip(
                origins, per_order["no_tracking"], per_order["rows"], strict=True
            )
        ],
        details=[
            {
                role: fact,
                "shipments": parcels,
                "rows_missing_tracking": int(nt),
                "rows_missing_carrier": int(nc),
            }
            for fact, parcels, nt, nc in zip(
                order_facts(ctx, role, where),
                per_order["parcels"],
                per_order["no_tracking"],
                per_order["no_carrier"],
                strict=True,
            )
        ],
        roles=[role],
        money=order_value(ctx, role, where),
        hours=hours_past(age, pd.Timedelta(0)),
    )
