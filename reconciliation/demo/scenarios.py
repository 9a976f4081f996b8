"""The anomalies sprinkled over the demo world: one small function per failure, named for it.

Order scenarios add orders that go wrong in one way; stock scenarios edit single SKUs of the
stock plan. Each docstring names the rule(s) of rules.md it makes fire and how often.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from reconciliation.demo.catalogue import (
    GIFT_WRAP,
    NEW_STYLE,
    UNMAPPED_METHOD,
    WEB_ONLY_SKU,
)
from reconciliation.demo.stock import Adjustment, StockPlan
from reconciliation.demo.world import Hold, Line, Times, World, net_of, stop_after, totals

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


# Order flow --------------------------------------------------------------------------------


def orders_not_imported(world: World) -> None:
    """Paid on the website, never imported into the ERP: ORDER_NOT_IN_ERP ×3 (one of them
    because its colourway exists only on the website: SKU_UNKNOWN missing_in erp)."""
    for hours in (3.5, 27):
        world.add(stop_after(world.anomaly(1, placed=world.ago(hours)), "placed"))
    order = world.anomaly(1, placed=world.ago(5))
    order.lines.insert(0, Line(WEB_ONLY_SKU, 1, world.prices[WEB_ONLY_SKU]))
    world.add(stop_after(order, "placed"))


def orders_not_at_warehouse(world: World) -> None:
    """ORDER_NOT_AT_WMS ×4: two the ERP marked released that the 3PL never got (lost) and two
    nobody released (not_sent)."""
    for hours in (4, 30):
        world.add(stop_after(world.anomaly(2, placed=world.ago(hours)), "release"))
    for hours in (3, 8):
        world.add(stop_after(world.anomaly(1, placed=world.ago(hours)), "erp"))


def held_orders(world: World) -> None:
    """ORDER_HELD ×7, one per team the hold reason points to (and cx twice)."""
    fraud = stop_after(world.anomaly(1, placed=world.ago(6)), "erp")
    fraud.times.holds["erp"] = Hold(fraud.times.erp + 4 * MINUTE, "held", "Payment review: fraud")
    world.add(fraud)

    change = stop_after(world.anomaly(1, placed=world.ago(9)), "erp")
    change.times.holds["erp"] = Hold(
        change.times.erp + 20 * MINUTE, "held", "Customer asked to change size"
    )
    world.add(change)

    short = stop_after(world.anomaly(2, placed=world.ago(20)), "wms")
    short.times.holds["wms"] = Hold(
        short.times.wms + 2 * HOUR, "held", "Insufficient stock at pick face"
    )
    world.add(short)

    # A new style live in the ERP but not yet set up at the 3PL: also SKU_UNKNOWN (wms).
    new_sku = f"{NEW_STYLE.code}{NEW_STYLE.colours[0]}{NEW_STYLE.sizes[0]}"
    unknown = world.anomaly(1, placed=world.ago(5))
    unknown.lines.insert(0, Line(new_sku, 1, world.prices[new_sku]))
    stop_after(unknown, "wms").times.holds["wms"] = Hold(
        unknown.times.wms + MINUTE, "rejected", f"Unknown SKU {new_sku}"
    )
    world.add(unknown)

    # Bad delivery details the warehouse bounced: also ADDRESS_INVALID.
    no_phone = stop_after(world.anomaly(1, placed=world.ago(7), express=True), "wms")
    no_phone.address.phone = None
    no_phone.times.holds["wms"] = Hold(
        no_phone.times.wms + 3 * MINUTE, "held", "Phone number missing for DPD"
    )
    world.add(no_phone)

    typo = stop_after(world.anomaly(1, placed=world.ago(4)), "wms")
    typo.address.postcode = typo.address.postcode[:-1]  # "BS8 1TQ" typed as "BS8 1T"
    typo.times.holds["wms"] = Hold(typo.times.wms + MINUTE, "rejected", "Postcode failed check")
    world.add(typo)

    # Saturday delivery is sold on the website but has no 3PL service: also SHIPPING_UNMAPPED.
    saturday = stop_after(world.anomaly(1, placed=world.ago(6), method=UNMAPPED_METHOD), "wms")
    saturday.times.holds["wms"] = Hold(
        saturday.times.wms + MINUTE, "rejected", "Service code not recognised"
    )
    world.add(saturday)


def outbound_data_problems(world: World) -> None:
    """Orders the ERP has not sent yet (inside the grace) that the 3PL would bounce:
    ADDRESS_INVALID (no first address line) and SHIPPING_UNMAPPED (Saturday delivery)."""
    no_street = stop_after(world.anomaly(1, placed=world.as_of - 35 * MINUTE), "erp")
    no_street.address.line1 = None
    world.add(no_street)
    saturday = world.anomaly(1, placed=world.as_of - 25 * MINUTE, method=UNMAPPED_METHOD)
    world.add(stop_after(saturday, "erp"))


def dispatches_not_posted(world: World) -> None:
    """The 3PL shipped, the ERP never heard: DISPATCH_NOT_POSTED ×3 on two SKUs (whose stock
    then drifts by exactly the unposted units: STOCK_DRIFT office/finance ×2)."""
    first, second = world.scenario_skus(2)
    for hours, sku in ((5, first), (20, first), (9, second)):
        order = world.anomaly([sku], dispatched=world.ago(hours), quantities=[1])
        world.add(stop_after(order, "dispatch"))


def website_not_updated(world: World) -> None:
    """Dispatched and posted to the ERP, but the website still says processing:
    STORE_NOT_UPDATED ×3."""
    for hours in (6, 30, 50):
        world.add(stop_after(world.anomaly(2, dispatched=world.ago(hours)), "post"))


def cancellations_not_stopped(world: World) -> None:
    """CANCELLED_NOT_STOPPED ×4: the ERP and the 3PL missing a cancellation, shipped and not.
    The shipped one also leaves DISPATCH_NOT_POSTED and an explained STOCK_DRIFT."""
    erp_missed = stop_after(world.anomaly(1, placed=world.ago(10)), "wms")
    erp_missed.times.cancel = {"store": erp_missed.times.placed + 3 * HOUR}
    world.add(erp_missed)

    wms_missed = stop_after(world.anomaly(2, placed=world.ago(8)), "wms")
    at = wms_missed.times.placed + 2 * HOUR
    wms_missed.times.cancel = {"store": at, "erp": at + 2 * MINUTE}
    world.add(wms_missed)

    shipped = stop_after(world.anomaly(1, dispatched=world.ago(6), quantities=[1]), "dispatch")
    at = shipped.times.dispatch - HOUR
    shipped.times.cancel = {"store": at, "erp": at + 2 * MINUTE}
    world.add(shipped)

    not_sent = stop_after(world.anomaly(1, placed=world.as_of - 40 * MINUTE), "erp")
    not_sent.times.cancel = {"store": world.as_of - 10 * MINUTE}
    world.add(not_sent)


def stuck_in_warehouse(world: World) -> None:
    """STUCK_PRE_DISPATCH ×4: two standard orders past 48 h, two next-day past 24 h."""
    for hours, express in ((61, False), (76, False), (31, True), (38, True)):
        order = world.anomaly(1, placed=world.ago(hours), express=express)
        world.add(stop_after(order, "wms"))


def tracking_missing(world: World) -> None:
    """TRACKING_MISSING ×3: two parcels without a tracking number, one without a carrier."""
    for hours, field in ((14, "tracking"), (40, "tracking"), (70, "carrier")):
        order = world.add(world.anomaly(1, dispatched=world.ago(hours)))
        for copy in order.copies:
            for parcel in copy.parcels:
                setattr(parcel, field, None)


def lines_mismatch(world: World) -> None:
    """LINES_MISMATCH ×3: the 3PL got a quantity wrong, the 3PL lost a line, the ERP lost one."""
    qty = world.add(stop_after(world.anomaly(2, placed=world.ago(6), quantities=[2, 1]), "wms"))
    qty.copy("wms").lines[0].quantity = 1

    dropped = world.add(stop_after(world.anomaly(3, placed=world.ago(5)), "wms"))
    dropped.copy("wms").lines.pop()

    erp_dropped = world.add(stop_after(world.anomaly(3, placed=world.ago(4)), "wms"))
    lost = erp_dropped.lines[1].sku
    for role in ("erp", "wms"):
        copy = erp_dropped.copy(role)
        copy.lines = [line for line in copy.lines if line.sku != lost]


def shipped_quantities_wrong(world: World) -> None:
    """SHIPPED_QTY_MISMATCH ×3: two orders closed as dispatched with a unit short, and one
    part-shipped order that sent more of a SKU than was ordered."""
    short = world.anomaly(1, dispatched=world.ago(18), quantities=[2])
    short.shipped = {short.lines[0].sku: 1}
    world.add(short)

    missing = world.anomaly(2, dispatched=world.ago(44))
    missing.shipped = {missing.lines[0].sku: missing.lines[0].quantity}
    world.add(missing)

    over = world.anomaly(2, dispatched=world.ago(12), quantities=[1, 2])
    over.dispatch_status = "partially_dispatched"
    over.shipped = {over.lines[0].sku: 2}
    world.add(over)


def duplicates_and_orphans(world: World) -> None:
    """DUPLICATE_ORDER ×3 (imported twice into the ERP ×2, sent twice to the 3PL ×1) and
    ORPHAN_ORDER ×2 (a staging order in the ERP, a test order at the 3PL)."""
    for hours in (7, 15):
        order = stop_after(world.anomaly(1, placed=world.ago(hours)), "wms")
        order.duplicate_in = "erp"
        world.add(order)
    twice = stop_after(world.anomaly(2, placed=world.ago(10)), "wms")
    twice.duplicate_in = "wms"
    world.add(twice)

    staging = stop_after(world.anomaly(1, placed=world.ago(6)), "wms")
    staging.born_in, staging.orphan_source_ref = "erp", "WEB-STG-1187"
    world.add(staging)
    test = world.anomaly(1, placed=world.ago(3))
    test.times = Times(placed=test.times.placed, wms=test.times.wms)
    test.born_in, test.orphan_source_ref = "wms", "SO-TEST-0042"
    world.add(test)


def service_mismatch(world: World) -> None:
    """SERVICE_MISMATCH ×3: two next-day orders sent standard, one standard sent next day."""
    for hours, express, service, carrier in (
        (20, True, "WHSTD48", "Royal Mail"),
        (52, True, "WHSTD48", "Royal Mail"),
        (30, False, "WHNDAY", "DPD"),
    ):
        order = world.add(world.anomaly(1, dispatched=world.ago(hours), express=express))
        for copy in order.copies:
            for parcel in copy.parcels:
                parcel.service, parcel.carrier = service, carrier
                parcel.tracking = world.tracking(carrier)


def non_stock_sent(world: World) -> None:
    """NON_STOCK_SENT ×2: gift wrap lines the ERP should have kept out of the 3PL feed."""
    for hours in (16, 35):
        order = world.add(world.anomaly(1, dispatched=world.ago(hours), gift=True))
        order.copy("wms").lines.append(Line(GIFT_WRAP, 1, world.prices[GIFT_WRAP]))


# Money -------------------------------------------------------------------------------------


def vat_rounding(world: World) -> None:
    """TAX_MISMATCH rounding ×2: the ERP recalculates VAT on the header and lands a penny off
    the website's line-by-line VAT."""
    made = 0
    while made < 2:
        # Try baskets until one's header VAT rounds differently from its lines' VAT.
        order = world.order(skus=world.popular_skus(3), dispatched=world.ago(30 + 20 * made))
        net, tax, _, _ = totals(order)
        header_tax = (net * 2 + 5) // 10
        if abs(header_tax - tax) != 1:
            continue
        world.reserved.update(line.sku for line in order.lines)
        world.add(order).copy("erp").tax = header_tax
        made += 1


def vat_amount(world: World) -> None:
    """TAX_MISMATCH amount ×1: the ERP zero-rated the delivery charge."""
    order = world.add(world.anomaly(1, dispatched=world.ago(26), express=True))
    erp = order.copy("erp")
    charge = next(line for line in erp.lines if line.sku == "CARRIAGE")
    erp.tax -= charge.gross - net_of(charge.gross)


def totals_mismatch(world: World) -> None:
    """TOTAL_MISMATCH ×2: the ERP dropped a WELCOME10 voucher; the ERP missed the delivery."""
    voucher = world.add(world.anomaly(2, dispatched=world.ago(22), discount=0.1))
    erp = voucher.copy("erp")
    erp.net += erp.discount
    erp.discount = 0

    no_delivery = world.add(world.anomaly(1, dispatched=world.ago(60), express=True))
    erp = no_delivery.copy("erp")
    erp.net -= erp.shipping
    erp.shipping = 0


# Stock -------------------------------------------------------------------------------------


def _quiet_skus(world: World, plan: StockPlan, count: int) -> list[str]:
    """SKUs no anomaly order touches and no order holds, picked from the middle of the range."""
    quiet = [
        sku
        for sku in plan.wms_on_hand
        if sku not in world.reserved
        and plan.wms_allocated[sku] == 0
        and plan.committed[sku] == 0
        and plan.pending[sku] == 0
        and plan.erp_allocated[sku] == 0
        and plan.wms_on_hand[sku] >= 10
    ]
    chosen = [str(sku) for sku in world.rng.choice(quiet, size=count, replace=False)]
    world.reserved.update(chosen)
    return chosen


def stock_drift(world: World, plan: StockPlan) -> None:
    """STOCK_DRIFT warehouse ×2: counts that differ with nothing pending to explain them."""
    more, fewer = _quiet_skus(world, plan, 2)
    plan.erp_on_hand[more] = plan.wms_on_hand[more] + 3
    plan.erp_on_hand[fewer] = plan.wms_on_hand[fewer] - 2


def adjustments_not_posted(world: World, plan: StockPlan) -> None:
    """ADJUSTMENT_NOT_POSTED ×2 (each also an explained STOCK_DRIFT, office/finance), plus one
    still inside its grace that must not fire."""
    skus = _quiet_skus(world, plan, 3)
    for number, (sku, hours, delta, reason) in enumerate(
        (
            (skus[0], 5, -2, "Damaged"),
            (skus[1], 30, -1, "Cycle count"),
            (skus[2], 0.5, -1, "Damaged"),
        )
    ):
        plan.adjustments.append(
            Adjustment(f"WA{59001 + number}", sku, delta, reason, world.ago(hours), posted=False)
        )


def website_stock_wrong(world: World, plan: StockPlan) -> None:
    """OVERSELL_RISK ×2 (one sold out at the warehouse: P1) and UNDERSELL ×2."""
    sold_out, over, under, zero = _quiet_skus(world, plan, 4)
    plan.wms_on_hand[sold_out] = 0
    plan.store_available[sold_out] = 4
    plan.store_available[over] = plan.expected(over) + 6
    plan.store_available[under] = max(0, plan.expected(under) - 5)
    plan.store_available[zero] = 0


def negative_stock(world: World, plan: StockPlan) -> None:
    """NEGATIVE_STOCK ×2: a SKU picked before its goods-in was booked (negative at the 3PL)
    and one the ERP over-allocated to a wholesale order (negative available in the ERP)."""
    picked_early, over_allocated = _quiet_skus(world, plan, 2)
    plan.wms_on_hand[picked_early] = -2
    plan.erp_on_hand[picked_early] = -2
    plan.store_available[picked_early] = 0
    plan.erp_allocated[over_allocated] = plan.wms_on_hand[over_allocated] + 3


ORDER_SCENARIOS: tuple[Callable[[World], None], ...] = (
    orders_not_imported,
    orders_not_at_warehouse,
    held_orders,
    outbound_data_problems,
    dispatches_not_posted,
    website_not_updated,
    cancellations_not_stopped,
    stuck_in_warehouse,
    tracking_missing,
    lines_mismatch,
    shipped_quantities_wrong,
    duplicates_and_orphans,
    service_mismatch,
    non_stock_sent,
    vat_rounding,
    vat_amount,
    totals_mismatch,
)
STOCK_SCENARIOS: tuple[Callable[[World, StockPlan], None], ...] = (
    stock_drift,
    adjustments_not_posted,
    website_stock_wrong,
    negative_stock,
)
