"""Stock and adjustments for the demo, derived from its orders so that clean SKUs reconcile.

The warehouse's on-hand is the physical truth. The ERP's differs from it only by what it has not
heard about yet (dispatches and adjustments still to post), and the website shows what the
warehouse can still sell once orders that have not reached it are set aside: exactly the
quantities rules.md compares. Stock anomalies then edit single SKUs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reconciliation.demo.world import Copy, Order, World

DISPATCHED = ("dispatched", "partially_dispatched")
OUTBOUND = ("open", "released", "held", "rejected")


@dataclass
class Adjustment:
    ref: str
    sku: str  # canonical
    delta: int
    reason: str
    at: pd.Timestamp
    posted: bool = True


@dataclass
class StockPlan:
    """Per canonical SKU; everything not set is 0."""

    wms_on_hand: dict[str, int] = field(default_factory=dict)
    wms_allocated: Counter[str] = field(default_factory=Counter)
    erp_on_hand: dict[str, int] = field(default_factory=dict)
    erp_allocated: Counter[str] = field(default_factory=Counter)
    store_available: dict[str, int] = field(default_factory=dict)
    pending: Counter[str] = field(default_factory=Counter)
    committed: Counter[str] = field(default_factory=Counter)
    adjustments: list[Adjustment] = field(default_factory=list)
    second_location: set[str] = field(default_factory=set)

    def expected(self, sku: str) -> int:
        """What the website may show: the warehouse's available less orders not there yet."""
        available = self.wms_on_hand[sku] - self.wms_allocated[sku]
        return max(0, available - self.committed[sku])


def _stock_units(copy: Copy) -> Counter[str]:
    from reconciliation.demo.catalogue import NON_STOCK

    units: Counter[str] = Counter()
    for line in copy.lines:
        if line.sku not in NON_STOCK:
            units[line.sku] += line.quantity
    return units


def _shipped(copy: Copy) -> Counter[str]:
    units: Counter[str] = Counter()
    for parcel in copy.parcels:
        for sku, quantity in parcel.items:
            units[sku] += quantity
    return units


def _open_units(copy: Copy) -> Counter[str]:
    """Units a system still has to ship for this copy (what it allocates)."""
    if copy.status in DISPATCHED:
        if copy.status == "dispatched":
            return Counter()
        remaining = _stock_units(copy)
        remaining.subtract(_shipped(copy))
        return Counter({sku: units for sku, units in remaining.items() if units > 0})
    return _stock_units(copy)


def plan_stock(world: World, orders: list[Order], skus: list[str]) -> StockPlan:
    plan = StockPlan()
    for order in orders:
        for copy in order.copies:
            if copy.role == "wms" and (copy.status == "in_progress" or copy.status in DISPATCHED):
                plan.wms_allocated.update(_open_units(copy))
            if copy.role == "erp" and (copy.status in OUTBOUND or copy.status in DISPATCHED):
                plan.erp_allocated.update(_open_units(copy))
            # Shipped by the warehouse, not yet posted upstream: the ERP still counts it.
            parent = copy.parent
            shipped = copy.role == "wms" and copy.status in DISPATCHED
            if shipped and parent is not None and parent.status not in DISPATCHED:
                plan.pending.update(_shipped(copy))
        if order.copy("wms") is None:
            # Orders the warehouse has not got: the website must keep their units back.
            before = order.copy("erp") or order.copy("store")
            if before is not None and before.status in OUTBOUND:
                plan.committed.update(_stock_units(before))

    rng = world.rng
    for sku in skus:
        floor = max(
            plan.wms_allocated[sku] + plan.committed[sku],
            plan.erp_allocated[sku] - plan.pending[sku],
        )
        sold_out = rng.random() < 0.05
        # Bestsellers are bought deep, the tail a few of each size.
        free = 0 if sold_out else int(rng.poisson(6 + 3000 * world.popularity(sku)))
        plan.wms_on_hand[sku] = floor + free
        if plan.wms_on_hand[sku] > 12 and rng.random() < 0.1:
            plan.second_location.add(sku)
    return plan


def clean_adjustments(world: World, skus: list[str], count: int) -> list[Adjustment]:
    """Cycle counts, damages and goods-in variances, all posted to the ERP."""
    reasons = (("Cycle count", (-2, -1, 1, 2)), ("Damaged", (-1,)), ("Goods-in variance", (-1, 1)))
    adjustments = []
    for number in range(count):
        reason, deltas = reasons[int(world.rng.integers(len(reasons)))]
        adjustments.append(
            Adjustment(
                ref=f"WA{55010 + number}",
                sku=str(world.rng.choice(skus)),
                delta=int(world.rng.choice(deltas)),
                reason=reason,
                at=world.ago(float(world.rng.uniform(3, 24 * 20))),
            )
        )
    adjustments.sort(key=lambda a: a.at)
    for number, adjustment in enumerate(adjustments):
        adjustment.ref = f"WA{55010 + number}"
    return adjustments


def settle(plan: StockPlan) -> None:
    """ERP on-hand and website availability from the warehouse's, for every SKU not yet set."""
    missing: Counter[str] = Counter()
    for adjustment in plan.adjustments:
        if not adjustment.posted:
            missing[adjustment.sku] += adjustment.delta
    for sku, on_hand in plan.wms_on_hand.items():
        plan.erp_on_hand.setdefault(sku, on_hand + plan.pending[sku] - missing[sku])
        plan.store_available.setdefault(sku, plan.expected(sku))


def spread(total: int, parts: int, rng: np.random.Generator) -> list[int]:
    """Split a quantity over locations (the first takes the remainder)."""
    if parts == 1:
        return [total]
    second = int(rng.integers(1, max(2, total // 2)))
    return [total - second, second]
