"""The demo's orders: one `Order` per customer order, copied into each system along a timeline.

An order carries the moments it reaches each system (imported into the ERP, released to the
warehouse, dispatched, posted back, shown as shipped on the website). `World.add` turns those
moments into one `Copy` per system as it stands at `as_of`; anomalies are made by removing or
moving a moment (the ERP never posts the dispatch) or by editing a copy afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np
import pandas as pd

from reconciliation.demo.catalogue import (
    CARRIAGE,
    FREE_STANDARD_OVER,
    GIFT_WRAP,
    NON_STOCK,
    SERVICE_CARRIER,
    SHIPPING,
    Address,
    Product,
    random_address,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def net_of(gross: int) -> int:
    """The VAT-exclusive part of a VAT-inclusive amount in pence, rounded half up."""
    return (gross * 10 + 6) // 12


@dataclass
class Line:
    sku: str  # canonical
    quantity: int
    price: int  # gross pence per unit
    discount: float = 0.0

    @property
    def gross(self) -> int:
        return round(self.price * self.quantity * (1 - self.discount))

    @property
    def net(self) -> int:
        return net_of(self.gross)

    @property
    def tax(self) -> int:
        return self.gross - self.net

    @property
    def unit_price(self) -> int:
        """Net unit price before discount, in the frames' ten-thousandths."""
        return (self.price * 1000 + 6) // 12


@dataclass
class Parcel:
    ref: str
    carrier: str | None
    service: str | None
    tracking: str | None
    at: pd.Timestamp
    items: list[tuple[str, int]]  # canonical SKU, units


@dataclass
class Hold:
    at: pd.Timestamp
    status: str  # held or rejected
    reason: str


@dataclass
class Times:
    """When the order reaches each stage; None means it never does (or not yet planned)."""

    placed: pd.Timestamp
    erp: pd.Timestamp | None = None
    release: pd.Timestamp | None = None
    wms: pd.Timestamp | None = None
    dispatch: pd.Timestamp | None = None
    post: pd.Timestamp | None = None
    update: pd.Timestamp | None = None
    cancel: dict[str, pd.Timestamp] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)


@dataclass
class Copy:
    """The order as one system holds it."""

    role: str
    placed_at: pd.Timestamp
    updated_at: pd.Timestamp
    status: str
    lines: list[Line]
    address: Address
    shipping_method: str | None
    hold_reason: str | None = None
    parent: Copy | None = None
    source_ref: str | None = None  # set only where it is not the parent's order_ref
    order_ref: str = ""
    parcels: list[Parcel] = field(default_factory=list)
    net: int | None = None  # header totals in pence (the warehouse keeps none)
    tax: int | None = None
    shipping: int | None = None
    discount: int | None = None

    @property
    def gross(self) -> int | None:
        return None if self.net is None or self.tax is None else self.net + self.tax

    @property
    def link(self) -> str | None:
        if self.source_ref is not None:
            return self.source_ref
        return self.parent.order_ref if self.parent else None


@dataclass
class Order:
    times: Times
    method: str
    lines: list[Line]
    address: Address
    pending: bool = False
    born_in: str = "store"  # an orphan is born downstream with a source_ref matching nothing
    orphan_source_ref: str | None = None
    dispatch_status: str = "dispatched"
    shipped: dict[str, int] | None = None  # canonical SKU -> units, when not what was ordered
    parcel_split: bool = False
    duplicate_in: str | None = None  # "erp" or "wms": the order was imported twice there
    copies: list[Copy] = field(default_factory=list)

    def copy(self, role: str) -> Copy | None:
        return next((c for c in self.copies if c.role == role), None)

    @property
    def stock_lines(self) -> list[Line]:
        return [line for line in self.lines if line.sku not in NON_STOCK]


class World:
    """Builds orders against a fixed `as_of` with one random generator (so a seed is a world)."""

    def __init__(
        self, rng: np.random.Generator, as_of: pd.Timestamp, products: list[Product]
    ) -> None:
        self.rng = rng
        self.as_of = as_of
        self.products = products
        self.prices = {p.sku: p.price for p in products}
        self.prices[GIFT_WRAP] = NON_STOCK[GIFT_WRAP][1]
        self._skus = np.array([p.sku for p in products])
        weights = np.array([p.weight for p in products])
        self._weights = weights / weights.sum()
        self._index = {sku: i for i, sku in enumerate(self._skus)}
        self.orders: list[Order] = []
        self.reserved: set[str] = set()  # SKUs given to anomalies, kept out of stock anomalies
        self._parcel_number = 0

    # Random pieces ---------------------------------------------------------------------------

    def ago(self, hours: float) -> pd.Timestamp:
        """A moment about `hours` before as_of (a few random minutes either way)."""
        return self.as_of - timedelta(hours=hours) + self.minutes(-5, 5)

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=float(self.rng.uniform(low, high)))

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=float(self.rng.uniform(low, high)))

    def popularity(self, sku: str) -> float:
        """The SKU's share of units sold (all SKUs sum to 1)."""
        return float(self._weights[self._index[sku]])

    def popular_skus(self, count: int) -> list[str]:
        chosen = self.rng.choice(self._skus, size=count, replace=False, p=self._weights)
        return [str(sku) for sku in chosen]

    def scenario_skus(self, count: int) -> list[str]:
        """Fresh SKUs for an anomaly's order, reserved so that no two anomalies share a SKU
        (their stock effects would merge into one exception)."""
        free = np.array([sku not in self.reserved for sku in self._skus])
        weights = self._weights * free
        chosen = self.rng.choice(self._skus, size=count, replace=False, p=weights / weights.sum())
        skus = [str(sku) for sku in chosen]
        self.reserved.update(skus)
        return skus

    def lines_for(self, skus: list[str], quantities: list[int] | None = None) -> list[Line]:
        if quantities is None:
            quantities = [1 + int(self.rng.random() < 0.15) for _ in skus]
        return [Line(sku, qty, self.prices[sku]) for sku, qty in zip(skus, quantities, strict=True)]

    # Orders ----------------------------------------------------------------------------------

    def order(
        self,
        *,
        placed: pd.Timestamp | None = None,
        dispatched: pd.Timestamp | None = None,
        express: bool = False,
        method: str | None = None,
        skus: list[str] | None = None,
        quantities: list[int] | None = None,
        gift: bool = False,
        discount: float = 0.0,
    ) -> Order:
        """A clean order whose every stage happens on time, placed or dispatched when given."""
        if method is None:
            method = "Next Day Delivery" if express else "Standard Delivery"
        express = express or method == "Next Day Delivery"
        if skus is None:
            count = int(self.rng.choice([1, 2, 3, 4, 5], p=[0.5, 0.28, 0.13, 0.06, 0.03]))
            skus = self.popular_skus(count)
        lines = self.lines_for(skus, quantities)
        for line in lines:
            line.discount = discount
        if gift:
            lines.append(Line(GIFT_WRAP, 1, self.prices[GIFT_WRAP]))
        times = self._timeline(placed, dispatched, express)
        return Order(times=times, method=method, lines=lines, address=random_address(self.rng))

    def _timeline(
        self, placed: pd.Timestamp | None, dispatched: pd.Timestamp | None, express: bool
    ) -> Times:
        # Import in minutes, release within the hour, dispatch inside the SLA, post back and
        # update the website inside their graces: a clean order never trips a rule.
        pick_pack = self.hours(2, 18) if express else self.hours(4, 30)
        if dispatched is not None:
            wms = dispatched - pick_pack
            release = wms
            erp = release - self.minutes(10, 45)
            placed = erp - self.minutes(2, 15)
        else:
            assert placed is not None
            erp = placed + self.minutes(2, 15)
            release = erp + self.minutes(10, 45)
            wms = release
            dispatched = wms + pick_pack
        post = dispatched + self.minutes(10, 60)
        update = post + self.minutes(5, 45)
        return Times(placed, erp, release, wms, dispatched, post, update)

    def anomaly(self, skus: int | list[str] = 1, **kwargs: object) -> Order:
        """A clean order for an anomaly to break, on SKUs kept out of the stock anomalies."""
        chosen = self.scenario_skus(skus) if isinstance(skus, int) else list(skus)
        self.reserved.update(chosen)
        return self.order(skus=chosen, **kwargs)  # type: ignore[arg-type]

    def cancel(self, order: Order, at: pd.Timestamp) -> None:
        """A clean cancellation: every system that has the order cancels it; nothing follows."""
        times = order.times
        for name in ("erp", "release", "wms", "dispatch", "post", "update"):
            moment = getattr(times, name)
            if moment is not None and moment > at:
                setattr(times, name, None)
        times.cancel = {"store": at}
        if times.erp is not None:
            times.cancel["erp"] = at
        if times.wms is not None:
            times.cancel["wms"] = at

    def add(self, order: Order) -> Order:
        materialise(order, self)
        self.orders.append(order)
        return order

    def parcel_ref(self) -> str:
        self._parcel_number += 1
        return f"CN{40120000 + self._parcel_number}"

    def tracking(self, carrier: str) -> str:
        if carrier == "DPD":
            return f"155{self.rng.integers(10**10, 10**11)}"
        letters = "".join(self.rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ"), size=2))
        return f"{letters}{self.rng.integers(10**8, 10**9)}GB"


STAGES = ("erp", "release", "wms", "dispatch", "post", "update")


def stop_after(order: Order, stage: str) -> Order:
    """The order gets no further than `stage` ("placed" keeps it on the website only)."""
    later = STAGES if stage == "placed" else STAGES[STAGES.index(stage) + 1 :]
    for name in later:
        setattr(order.times, name, None)
    return order


def _status_at(events: list[tuple[pd.Timestamp | None, str]], as_of: pd.Timestamp) -> tuple:
    """The latest event that has happened by as_of, as (time, status)."""
    happened = [(at, status) for at, status in events if at is not None and at <= as_of]
    return max(happened, key=lambda event: event[0])


def shipping_gross(order: Order) -> int:
    """The delivery charge in pence, VAT included; standard delivery is free over £60."""
    goods = sum(line.gross for line in order.lines)
    if order.method == "Standard Delivery" and goods >= FREE_STANDARD_OVER:
        return 0
    return SHIPPING.get(order.method, (995, None, None))[0]


def totals(order: Order) -> tuple[int, int, int, int]:
    """net, tax, shipping (net), discount (net) in pence for the store's header."""
    charge = shipping_gross(order)
    shipping_net = net_of(charge)
    net = sum(line.net for line in order.lines) + shipping_net
    tax = sum(line.tax for line in order.lines) + (charge - shipping_net)
    discount = sum(net_of(round(li.price * li.quantity)) - li.net for li in order.lines)
    return net, tax, shipping_net, discount


def materialise(order: Order, world: World) -> None:
    """Create each system's copy of the order as it stands at the world's as_of."""
    as_of, times = world.as_of, order.times
    order.copies = []
    net, tax, shipping, discount = totals(order)
    charge = shipping_gross(order)
    service = SHIPPING.get(order.method, (0, None, None))[1]

    store = None
    if order.born_in == "store" and times.placed <= as_of:
        dispatched_at = times.update
        events = [
            (times.placed, "pending" if order.pending else "open"),
            (dispatched_at, order.dispatch_status),
            (times.cancel.get("store"), "cancelled"),
        ]
        store = _copy(order, "store", times.placed, events, as_of)
        store.net, store.tax, store.shipping, store.discount = net, tax, shipping, discount
        order.copies.append(store)

    erp_copies: list[Copy] = []
    if order.born_in in ("store", "erp") and times.erp is not None and times.erp <= as_of:
        starts = [times.erp] + ([times.erp + 3 * MINUTE] if order.duplicate_in == "erp" else [])
        for start in starts:
            if start > as_of:
                continue
            shift = start - times.erp
            events = [
                (start, "open"),
                (_plus(times.release, shift), "released"),
                (_plus(times.post, shift), order.dispatch_status),
                (times.cancel.get("erp"), "cancelled"),
            ]
            if "erp" in times.holds:
                hold = times.holds["erp"]
                events.append((hold.at, hold.status))
            erp = _copy(order, "erp", start, events, as_of, parent=store)
            if "erp" in times.holds and erp.status in ("held", "rejected"):
                erp.hold_reason = times.holds["erp"].reason
            erp.lines = [replace(line) for line in order.lines]
            if charge:
                erp.lines.append(Line(CARRIAGE, 1, charge))
            erp.net, erp.tax, erp.shipping, erp.discount = net, tax, shipping, discount
            if order.born_in == "erp":
                erp.source_ref = order.orphan_source_ref
            erp_copies.append(erp)
            order.copies.append(erp)

    if times.wms is not None and times.wms <= as_of:
        parents: list[Copy | None] = list(erp_copies) or [None]
        if order.duplicate_in == "wms":
            parents = [parents[0], parents[0]]
        for offset, parent in enumerate(parents):
            shift = 20 * MINUTE * offset
            if times.wms + shift > as_of:
                continue
            events = [
                (times.wms + shift, "in_progress"),
                (times.dispatch, order.dispatch_status),
                (times.cancel.get("wms"), "cancelled"),
            ]
            if "wms" in times.holds:
                hold = times.holds["wms"]
                events.append((hold.at, hold.status))
            wms = _copy(order, "wms", times.wms + shift, events, as_of, parent=parent)
            if "wms" in times.holds and wms.status in ("held", "rejected"):
                wms.hold_reason = times.holds["wms"].reason
            wms.lines = [replace(line) for line in order.stock_lines]
            wms.shipping_method = service or order.method
            if order.born_in == "wms":
                wms.source_ref = order.orphan_source_ref
            if wms.status in ("dispatched", "partially_dispatched"):
                wms.parcels = _parcels(order, world, times.dispatch, service)
            order.copies.append(wms)
            if parent is not None and parent.status in ("dispatched", "partially_dispatched"):
                parent.parcels = [replace(p, items=list(p.items)) for p in wms.parcels]


def _plus(moment: pd.Timestamp | None, shift: timedelta) -> pd.Timestamp | None:
    return None if moment is None else moment + shift


def _copy(
    order: Order,
    role: str,
    placed: pd.Timestamp,
    events: list[tuple[pd.Timestamp | None, str]],
    as_of: pd.Timestamp,
    parent: Copy | None = None,
) -> Copy:
    updated_at, status = _status_at(events, as_of)
    return Copy(
        role=role,
        placed_at=placed,
        updated_at=updated_at,
        status=status,
        lines=[replace(line) for line in order.lines],
        address=replace(order.address),
        shipping_method=order.method,
        parent=parent,
    )


def _parcels(order: Order, world: World, at: pd.Timestamp, service: str | None) -> list[Parcel]:
    """What the warehouse shipped: everything ordered unless the order says otherwise."""
    shipped = order.shipped
    if shipped is None:
        shipped = {}
        for line in order.stock_lines:
            shipped[line.sku] = shipped.get(line.sku, 0) + line.quantity
    items = [(sku, qty) for sku, qty in shipped.items() if qty > 0]
    carrier = SERVICE_CARRIER.get(service or "", "Royal Mail")
    groups = [items[::2], items[1::2]] if order.parcel_split and len(items) > 1 else [items]
    return [
        Parcel(world.parcel_ref(), carrier, service, world.tracking(carrier), at, group)
        for group in groups
    ]


def assign_refs(orders: list[Order]) -> None:
    """Number each system's orders in the order it received them, as real systems do."""
    prefixes = {"store": ("WEB-", 104200), "erp": ("SO", 5800000), "wms": ("WH", 7310000)}
    for role, (prefix, start) in prefixes.items():
        copies = [c for o in orders for c in o.copies if c.role == role]
        copies.sort(key=lambda c: c.placed_at)
        for number, copy in enumerate(copies, start=start):
            copy.order_ref = f"{prefix}{number}"
