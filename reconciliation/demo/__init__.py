"""The demo world: Northwind Apparel, a UK clothing brand on WooCommerce → Prima → Whistl.

`build_demo_bundle()` makes three weeks of mostly clean trading with every rule of rules.md
(except SYNC_FAILED, which only connectors raise) broken a few times; `write_demo_bundle()`
writes it as a snapshot bundle, which doubles as an example for users. A seed is a world: the
same seed and as_of give the same bundle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reconciliation.demo import scenarios
from reconciliation.demo.assemble import Renderer, frame
from reconciliation.demo.catalogue import (
    BADLY_KEYED,
    CARRIAGE,
    EXPRESS_CODES,
    GIFT_WRAP,
    SHIPPING,
    WEB_ONLY_SKU,
    Product,
    build_products,
    ean13,
    legacy_aliases,
    new_style_products,
)
from reconciliation.demo.stock import clean_adjustments, plan_stock, settle
from reconciliation.demo.world import Order, World, assign_refs, stop_after
from reconciliation.frames import Bundle, RoleSnapshot

__all__ = ["DEMO_CONFIG", "build_demo_bundle", "write_demo_bundle"]

DAYS = 21
DEMO_CONFIG: dict[str, Any] = {
    "shipping_methods": {name: service for name, (_, service, _) in SHIPPING.items()},
    "express_service_codes": list(EXPRESS_CODES),
    # The ERP's delivery-charge line; gift wrap is flagged is_stock_item=false instead.
    "non_stock_skus": [CARRIAGE],
}
SYSTEMS = {"store": "woocommerce", "erp": "prima", "wms": "whistl"}


def build_demo_bundle(seed: int = 7, orders: int = 3000, as_of: datetime | None = None) -> Bundle:
    """Northwind Apparel's three systems as of `as_of` (default: now, to the minute)."""
    moment = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now(tz="UTC")
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    moment = moment.floor("min")
    rng = np.random.default_rng(seed)

    products = build_products(rng)
    aliases = legacy_aliases(products)
    new_products = new_style_products(start=len(products) + 1)
    web_only = Product(WEB_ONLY_SKU, "Organic Crew Tee Lilac", ean13("506099000001"), 2200, 0, 0)
    bad_keyed = [
        Product(sku, name, ean13(f"50609900{i:04d}"), 5500, 1742, 0)
        for i, (sku, name) in enumerate(BADLY_KEYED.items(), start=2)
    ]

    world = World(rng, moment, products)
    world.prices.update({p.sku: p.price for p in [*new_products, web_only]})
    for scenario in scenarios.ORDER_SCENARIOS:
        scenario(world)
    for _ in range(max(orders - len(world.orders), 0)):
        world.add(_clean_order(world))
    assign_refs(world.orders)

    skus = [p.sku for p in products]
    plan = plan_stock(world, world.orders, skus)
    plan.adjustments = clean_adjustments(world, skus, count=max(12, len(skus) // 6))
    for stock_scenario in scenarios.STOCK_SCENARIOS:
        stock_scenario(world, plan)
    settle(plan)

    render = Renderer(world, aliases)
    catalogue = {
        "store": (products + new_products + [web_only], (GIFT_WRAP,)),
        "erp": (products + new_products + bad_keyed, (GIFT_WRAP, CARRIAGE)),
        "wms": (products, ()),
    }
    taken = {
        # Only the website feed's timestamp is stale (SNAPSHOT_STALE): its rows are kept current
        # so that one late export does not bury the demo queue in knock-on exceptions.
        "store": moment - timedelta(hours=7, minutes=12),
        "erp": moment - timedelta(minutes=4),
        "wms": moment - timedelta(minutes=2),
    }
    roles = {}
    for role, kind in SYSTEMS.items():
        frames = render.orders(role, world.orders)
        frames["products"] = render.products(role, *catalogue[role])
        frames["stock"] = render.stock(role, plan)
        if role != "store":
            frames["adjustments"] = render.adjustments(role, plan)
        roles[role] = RoleSnapshot(role=role, kind=kind, taken_at=taken[role], frames=frames)

    sku_map = frame(
        "sku_map",
        [{"role": "wms", "sku": alias, "canonical_sku": sku} for sku, alias in aliases.items()],
    )
    return Bundle(
        as_of=moment,
        currency="GBP",
        roles=roles,
        sku_map=sku_map,
        config=dict(DEMO_CONFIG),
        source=f"demo (seed {seed})",
    )


def _clean_order(world: World) -> Order:
    """An ordinary order placed some time in the last three weeks.

    Every time is relative to as_of, so running the demo again later rebuilds the same orders
    with the same numbers: the queue sees the same exceptions again instead of churning.
    """
    rng = world.rng
    placed = world.as_of - timedelta(minutes=float(rng.uniform(1, DAYS * 24 * 60)))
    order = world.order(
        placed=placed,
        express=bool(rng.random() < 0.18),
        gift=bool(rng.random() < 0.04),
        discount=0.1 if rng.random() < 0.08 else 0.0,
    )
    order.parcel_split = bool(rng.random() < 0.06)
    roll = rng.random()
    if roll < 0.03:
        # Unpaid: WooCommerce keeps it pending for an hour, then cancels it.
        stop_after(order, "placed").pending = True
        if world.as_of - placed > timedelta(hours=1):
            order.times.cancel = {"store": placed + timedelta(hours=1)}
    elif roll < 0.055:
        at = placed + world.minutes(20, 20 * 60)
        before_dispatch = order.times.dispatch is None or at < order.times.dispatch
        if before_dispatch and at < world.as_of - timedelta(minutes=10):
            world.cancel(order, at)
    return order


def write_demo_bundle(path: str | Path, **kwargs: Any) -> Bundle:
    """Build the demo world (kwargs as build_demo_bundle) and write it as a bundle at `path`."""
    from reconciliation.bundle import write_bundle

    bundle = build_demo_bundle(**kwargs)
    write_bundle(bundle, path)
    return bundle
