"""Held orders (docs/cx.md): every order held, rejected or blocked before the warehouse, with its
data from the latest snapshots, and what is wrong with it (releasing one: integration/releases.py).

An order is "held" while an active exception of HELD_RULES names it: ADDRESS_INVALID,
SHIPPING_UNMAPPED, NON_STOCK_SENT and ORDER_HELD are keyed by the order's origin; SKU_UNKNOWN and
SKU_INVALID_FORMAT are keyed by SKU and list the orders they block in `details.orders`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import Min, Q, QuerySet

from exceptions.models import AUTO_RESOLVABLE, ExceptionRecord
from integration.mappings import effective_settings
from integration.models import OrderRelease
from reconciliation.frames import ROLES
from reconciliation.models import ReconciliationRun, SnapshotOrder
from reconciliation.rules.validation import FIELD_LABELS, order_address_problems
from reconciliation.settings import ReconSettings
from reconciliation.store import latest_complete_snapshots

HELD_RULES: tuple[str, ...] = (
    "ADDRESS_INVALID",
    "SHIPPING_UNMAPPED",
    "SKU_UNKNOWN",
    "SKU_INVALID_FORMAT",
    "NON_STOCK_SENT",
    "ORDER_HELD",
)
ORDER_RULES: tuple[str, ...] = (
    "ADDRESS_INVALID",
    "SHIPPING_UNMAPPED",
    "NON_STOCK_SENT",
    "ORDER_HELD",
)
SKU_RULES: tuple[str, ...] = ("SKU_UNKNOWN", "SKU_INVALID_FORMAT")
# ORDER_HELD teams whose hold CX must not lift: a payment or fraud review (finance), a hold inside
# the warehouse (stock at the pick face). Those are released where they were put on.
NOT_RELEASABLE_TEAMS = {"finance": "Finance", "warehouse": "the warehouse"}
# A warehouse copy in these statuses has not been accepted (rules.md, "Outbound order").
WAITING_AT_WMS = ("held", "rejected")
DELIVERY_FIELDS: tuple[str, ...] = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_postcode",
    "ship_country",
    "ship_phone",
)
LABELS = {**FIELD_LABELS, "ship_name": "name", "ship_line2": "address line 2"}
ORDER_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in SnapshotOrder._meta.concrete_fields if f.name not in {"id", "snapshot", "extra"}
)


# -- which orders are held -------------------------------------------------------------------


def held_exceptions() -> QuerySet[ExceptionRecord]:
    return ExceptionRecord.objects.filter(rule__in=HELD_RULES, status__in=AUTO_RESOLVABLE)


def origins_of(record: ExceptionRecord) -> list[str]:
    """The orders an exception holds: its key, or the orders a SKU exception lists."""
    if record.rule in SKU_RULES:
        return _orders((record.details or {}).get("orders"))
    return [record.key]


@dataclass
class HeldOrder:
    """One held order; its summary properties are read once its exceptions are all in."""

    origin: str
    exceptions: list[ExceptionRecord] = field(default_factory=list)
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> order fields
    release: OrderRelease | None = None

    @cached_property
    def priority(self) -> str:
        return min(e.priority for e in self.exceptions)

    @cached_property
    def first_id(self) -> int:
        return min(e.pk for e in self.exceptions)

    @cached_property
    def since(self) -> datetime:
        return min(e.first_seen for e in self.exceptions)

    @cached_property
    def rules(self) -> list[str]:
        return sorted({e.rule for e in self.exceptions}, key=HELD_RULES.index)

    @cached_property
    def teams(self) -> list[str]:
        return sorted({e.queue_team or e.team for e in self.exceptions})

    @cached_property
    def summary(self) -> str:
        return min(self.exceptions, key=lambda e: (e.priority, -e.score)).summary

    @property
    def placed_at(self) -> datetime | None:
        """When the customer placed it (the most upstream copy's placed_at)."""
        return next((c["placed_at"] for c in self.copies.values() if c.get("placed_at")), None)

    @property
    def customer(self) -> str:
        return next((c["ship_name"] for c in self.copies.values() if c.get("ship_name")), "")

    @property
    def gross_total(self) -> Any:
        return next((c["gross_total"] for c in self.copies.values() if c.get("gross_total")), None)


def held_index(records: QuerySet[ExceptionRecord]) -> list[tuple[str, str, int]]:
    """(origin, priority, first exception id) of every order these held exceptions name, most
    urgent first, then the longest held (ids grow as exceptions are first found).

    Reads a string and two numbers per order, grouped in the database for the order-keyed rules:
    the list pages through this and loads whole exceptions only for the orders on the page."""
    index: dict[str, tuple[str, int]] = {}

    def add(origin: str, priority: str, first: int) -> None:
        known = index.get(origin)
        index[origin] = (
            (priority, first) if known is None else (min(known[0], priority), min(known[1], first))
        )

    by_order = (
        records.filter(rule__in=ORDER_RULES)
        .values("key")
        .annotate(priority=Min("priority"), first=Min("id"))
        .values_list("key", "priority", "first")
        .order_by()
    )
    for origin, priority, first in by_order:
        add(origin, priority, first)
    for pk, priority, orders in records.filter(rule__in=SKU_RULES).values_list(
        "pk", "priority", "details__orders"
    ):
        for origin in _orders(orders):
            add(origin, priority, pk)
    return sorted(
        ((origin, p, first) for origin, (p, first) in index.items()),
        key=lambda e: (e[1], e[2], e[0]),
    )


def held_orders(origins: list[str]) -> list[HeldOrder]:
    """These orders with every active exception holding them, their copies from the latest
    snapshots and their latest release, most urgent first (orders nothing holds are left out)."""
    wanted = set(origins)
    orders: dict[str, HeldOrder] = {}
    held = held_exceptions()
    for record in held.filter(rule__in=ORDER_RULES, key__in=wanted):
        orders.setdefault(record.key, HeldOrder(record.key)).exceptions.append(record)
    # SKU exceptions name their orders in details: the few that name one of these are loaded.
    sku_ids = [
        pk
        for pk, listed in held.filter(rule__in=SKU_RULES).values_list("pk", "details__orders")
        if wanted.intersection(_orders(listed))
    ]
    for record in held.filter(pk__in=sku_ids):
        for origin in wanted.intersection(origins_of(record)):
            orders.setdefault(origin, HeldOrder(origin)).exceptions.append(record)
    copies = order_copies(list(orders))
    for release in OrderRelease.objects.filter(origin__in=list(orders)).order_by("created_at"):
        orders[release.origin].release = release  # the latest wins
    for origin, order in orders.items():
        order.copies = copies.get(origin, {})
        order.exceptions.sort(key=lambda e: (HELD_RULES.index(e.rule), e.pk))
    return sorted(orders.values(), key=lambda h: (h.priority, h.first_id, h.origin))


def _orders(listed: Any) -> list[str]:
    return [o for o in listed or () if isinstance(o, str) and o]


def order_copies(origins: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """origin -> role -> the order's fields in that role's latest complete snapshot, following
    the links down the pipeline (D.source_ref = U.order_ref). Where several copies link to one
    upstream order, the counterpart of rules.md: not cancelled, earliest placed, lowest ref."""
    if not origins:
        return {}
    latest = latest_complete_snapshots()
    wanted = set(origins)
    result: dict[str, dict[str, dict[str, Any]]] = {}
    upstream: dict[str, str] = {}  # order_ref in the previous role -> origin
    for role in (r for r in ROLES if r in latest):
        rows = (
            SnapshotOrder.objects.filter(snapshot=latest[role])
            .filter(Q(order_ref__in=wanted) | Q(source_ref__in=list(upstream)))
            .values(*ORDER_COLUMNS)
        )
        ordered = sorted(
            rows, key=lambda r: (r["status"] == "cancelled", r["placed_at"], r["order_ref"])
        )
        here: dict[str, str] = {}
        for row in ordered:
            origin = upstream.get(row["source_ref"] or "")
            if (
                origin is None
                and row["order_ref"] in wanted
                and role not in result.get(row["order_ref"], {})
            ):
                origin = row["order_ref"]
            if origin is None or role in result.get(origin, {}):
                continue
            result.setdefault(origin, {})[role] = {**row, "role": role}
            here[row["order_ref"]] = origin
        upstream = here
    return result


def sending_role(copies: dict[str, Any]) -> str | None:
    """The copy that goes to the warehouse: the warehouse's upstream (the ERP, else the store)."""
    for role in ("erp", "store"):
        if role in copies:
            return role
    return next(iter(copies), None)


# -- one order -------------------------------------------------------------------------------


def current_settings() -> ReconSettings:
    """The settings the next run would use: the latest complete run's config.json over the
    database settings (the maps merged)."""
    last = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE).first()
    return effective_settings(last.config if last else {})


def held_order(origin: str) -> HeldOrder | None:
    """One held order with every exception that holds it; None when nothing holds it."""
    found = held_orders([origin])
    return found[0] if found else None


def last_release(origin: str) -> OrderRelease | None:
    return OrderRelease.objects.filter(origin=origin).order_by("-created_at", "-id").first()


def delivery_of(held: HeldOrder) -> dict[str, str]:
    """The delivery fields of the copy that goes to the warehouse, as text."""
    role = sending_role(held.copies)
    copy = held.copies.get(role, {}) if role else {}
    return {f: copy.get(f) or "" for f in (*DELIVERY_FIELDS, "shipping_method")}


def blockers(held: HeldOrder) -> list[str]:
    """Why this order cannot be released from the held-orders page (empty: it can)."""
    reasons = []
    for record in held.exceptions:
        if record.rule == "ORDER_HELD" and record.team in NOT_RELEASABLE_TEAMS:
            reason = (record.details or {}).get("hold_reason") or "no reason given"
            reasons.append(
                f"Held for '{reason}': only {NOT_RELEASABLE_TEAMS[record.team]} can release it"
            )
        elif record.rule in SKU_RULES:
            reasons.append(f"{record.summary} — merchandising must fix SKU {record.key} first")
    at_warehouse = held.copies.get("wms")
    if at_warehouse is not None and at_warehouse["status"] not in WAITING_AT_WMS:
        # Sending it again would make a second warehouse order (DUPLICATE_ORDER).
        reasons.append(
            f"The warehouse already has it as {at_warehouse['order_ref']} "
            f"({at_warehouse['status'].replace('_', ' ')}): there is nothing to release; "
            "work its exceptions in the queue"
        )
    return reasons


def shipping_problem(method: str, settings: ReconSettings) -> str | None:
    """SHIPPING_UNMAPPED's test for one order: empty, or neither a method nor a service code of
    the map (no test while the map is empty, as the rule is then skipped)."""
    methods = settings.shipping_methods
    if not methods:
        return None
    if not method:
        return "shipping method is empty: pick a mapped service"
    if method in methods or method in set(methods.values()):
        return None
    return f"shipping method '{method}' has no service code mapped: pick a mapped service"


def problems_of(details: dict[str, str], settings: ReconSettings) -> dict[str, str]:
    """field -> what is wrong, by the engine's checks (ADDRESS_INVALID, SHIPPING_UNMAPPED)."""
    found: dict[str, str] = {}
    for problem in order_address_problems(details, require_phone=settings.require_phone):
        found.setdefault(problem["field"], problem["message"])
    shipping = shipping_problem(details.get("shipping_method") or "", settings)
    if shipping:
        found["shipping_method"] = shipping
    return found


UK_SPACING = re.compile(r"^([A-Z0-9]{2,4})([0-9][A-Z]{2})$")


def normalise_postcode(value: str, country: str) -> str:
    """Upper case, single spaces, and for GB the space before the inward code ("bs81tq" →
    "BS8 1TQ"); whether it is valid is still the engine's check."""
    text = " ".join((value or "").upper().split())
    if (country or "").strip().upper() == "GB":
        match = UK_SPACING.match(text.replace(" ", ""))
        if match:
            text = f"{match.group(1)} {match.group(2)}"
    return text
