"""The home dashboard's figures: health per flow, unresolved exceptions, SLA breaches, history.

Everything comes from the latest snapshots (three indexed reads), the settings profile and
`RunMetrics` rows (one per run, written when the run completed): never from the exceptions table,
so the page costs the same with a thousand exceptions or a million.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from exceptions.models import Owner, Priority, Team
from integration.models import SettingsProfile
from reconciliation.frames import ROLES
from reconciliation.models import RunMetrics, Snapshot
from reconciliation.month_end import queue_url
from reconciliation.rules.context import SYSTEM_NAMES

ROLE_LABELS = {"store": "Store", "erp": "ERP", "wms": "Warehouse"}
# Days of history the charts may show; the first is the default.
RANGES: tuple[int, ...] = (90, 30, 365)


@dataclass(frozen=True)
class Flow:
    key: str
    label: str
    roles: tuple[str, ...]  # the systems whose snapshots the flow depends on
    rules: tuple[str, ...]  # the rules whose exceptions say the flow is not right


# Each rule in the flow where a person would look first; sync health (SNAPSHOT_STALE,
# SYNC_FAILED) is shown with the systems instead.
FLOWS: tuple[Flow, ...] = (
    Flow(
        "store_to_erp",
        "Store → ERP",
        ("store", "erp"),
        ("ORDER_NOT_IN_ERP", "TAX_MISMATCH", "TOTAL_MISMATCH", "SKU_UNKNOWN"),
    ),
    Flow(
        "erp_to_wms",
        "ERP → warehouse",
        ("erp", "wms"),
        (
            "ORDER_NOT_AT_WMS",
            "ORDER_HELD",
            "SHIPPING_UNMAPPED",
            "ADDRESS_INVALID",
            "SKU_INVALID_FORMAT",
            "NON_STOCK_SENT",
            "LINES_MISMATCH",
            "DUPLICATE_ORDER",
            "ORPHAN_ORDER",
            "CANCELLED_NOT_STOPPED",
            "STUCK_PRE_DISPATCH",
            "SERVICE_MISMATCH",
        ),
    ),
    Flow(
        "dispatch_back",
        "Dispatch back",
        ("wms", "erp", "store"),
        ("DISPATCH_NOT_POSTED", "STORE_NOT_UPDATED", "TRACKING_MISSING", "SHIPPED_QTY_MISMATCH"),
    ),
    Flow(
        "stock",
        "Stock",
        ("erp", "wms", "store"),
        ("STOCK_DRIFT", "ADJUSTMENT_NOT_POSTED", "OVERSELL_RISK", "UNDERSELL", "NEGATIVE_STOCK"),
    ),
)


@dataclass
class SystemHealth:
    role: str
    label: str
    system: str = ""
    taken_at: datetime | None = None
    age: timedelta | None = None
    stale: bool = True  # no snapshot at all counts as stale

    @property
    def missing(self) -> bool:
        return self.taken_at is None


@dataclass
class RuleCount:
    rule: str
    count: int
    p1: int
    url: str


@dataclass
class FlowHealth:
    flow: Flow
    systems: list[SystemHealth]
    unresolved: int = 0
    p1: int = 0
    rules: list[RuleCount] = field(default_factory=list)

    @property
    def state(self) -> str:
        """`stale` (a system's data is old or missing), `act` (P1s open), `open`, or `ok`."""
        if any(system.stale for system in self.systems):
            return "stale"
        if self.p1:
            return "act"
        return "open" if self.unresolved else "ok"


@dataclass
class GridRow:
    priority: str
    label: str
    cells: list[tuple[int, str]]  # (count, queue url) per owner
    total: int


@dataclass
class Overview:
    now: datetime
    stale_after: timedelta
    latest: RunMetrics | None
    systems: list[SystemHealth]
    flows: list[FlowHealth]
    grid: list[GridRow]
    owners: list[tuple[str, str]]

    @property
    def stale_systems(self) -> list[SystemHealth]:
        return [s for s in self.systems if s.stale]

    @property
    def stale_limit(self) -> str:
        """'6 h', '90 min', '1 h 30 min'."""
        hours, minutes = divmod(int(self.stale_after.total_seconds() // 60), 60)
        parts = [f"{hours} h"] if hours else []
        return " ".join([*parts, f"{minutes} min"] if minutes or not hours else parts)


def latest_snapshots() -> dict[str, Snapshot]:
    """role → its latest complete snapshot (one indexed read per role)."""
    found = {}
    for role in ROLES:
        snapshot = (
            Snapshot.objects.filter(role=role, status=Snapshot.Status.COMPLETE)
            .order_by("-taken_at", "-id")
            .only("id", "role", "kind", "taken_at")
            .first()
        )
        if snapshot is not None:
            found[role] = snapshot
    return found


def system_health(now: datetime, stale_after: timedelta) -> list[SystemHealth]:
    snapshots = latest_snapshots()
    health = []
    for role in ROLES:
        item = SystemHealth(role, ROLE_LABELS[role])
        snapshot = snapshots.get(role)
        if snapshot is not None:
            kind = (snapshot.kind or "").strip()
            item.system = SYSTEM_NAMES.get(kind.lower().replace(" ", "_").replace("-", "_"), kind)
            item.taken_at = snapshot.taken_at
            item.age = max(now - snapshot.taken_at, timedelta(0))
            item.stale = item.age > stale_after
        health.append(item)
    return health


def overview(now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    stale_after = timedelta(minutes=SettingsProfile.current().stale_after_minutes)
    latest = RunMetrics.objects.order_by("-as_of", "-run_id").first()
    systems = system_health(now, stale_after)
    by_role = {s.role: s for s in systems}
    by_rule: dict[str, dict[str, int]] = latest.by_rule if latest else {}
    flows = []
    for flow in FLOWS:
        # A flow without one of its systems (no store connected) checks the ones it has.
        present = [by_role[r] for r in flow.roles if not by_role[r].missing] or [
            by_role[r] for r in flow.roles
        ]
        health = FlowHealth(flow, present)
        for rule in flow.rules:
            counts = by_rule.get(rule, {})
            count = sum(counts.values())
            if count:
                p1 = counts.get(Priority.P1, 0)
                health.rules.append(RuleCount(rule, count, p1, queue_url(rule=rule)))
                health.unresolved += count
                health.p1 += p1
        health.rules.sort(key=lambda r: (-r.p1, -r.count, r.rule))
        flows.append(health)
    owners = list(Owner.choices)
    grid = []
    matrix: dict[str, dict[str, int]] = latest.by_priority_owner if latest else {}
    for priority, label in Priority.choices:
        counts = matrix.get(priority, {})
        cells = [
            (counts.get(owner, 0), queue_url(priority=priority, owner=owner)) for owner, _ in owners
        ]
        grid.append(GridRow(priority, label, cells, sum(c for c, _ in cells)))
    return Overview(now, stale_after, latest, systems, flows, grid, owners)


# -- history for the charts -------------------------------------------------------------------------


@dataclass
class Point:
    """The last run of one day (UK time)."""

    day: date
    as_of: datetime
    by_team: dict[str, int]
    unresolved: int
    drift_explained: Decimal
    drift_unexplained: Decimal
    sla_breaches: int


def history(days: int, now: datetime | None = None) -> list[Point]:
    """One point per day with a run over the last `days` days: that day's last run. A year of
    runs every 15 minutes is 35,000 small rows read as tuples, never the exceptions."""
    now = now or timezone.now()
    rows = (
        RunMetrics.objects.filter(as_of__gt=now - timedelta(days=days))
        .order_by("as_of", "run_id")
        .values_list(
            "as_of",
            "by_team",
            "unresolved",
            "drift_value_explained",
            "drift_value_unexplained",
            "sla_breaches",
        )
    )
    points: dict[date, Point] = {}
    for as_of, by_team, unresolved, explained, unexplained, sla in rows.iterator(chunk_size=5000):
        day = timezone.localtime(as_of).date()
        points[day] = Point(day, as_of, by_team or {}, unresolved, explained, unexplained, sla)
    return list(points.values())


def team_labels() -> dict[str, str]:
    return dict(Team.choices)


def parse_range(value: Any) -> int:
    """The chart range in days from ?days=; anything else is the default."""
    try:
        days = int(value)
    except (TypeError, ValueError):
        return RANGES[0]
    return days if days in RANGES else RANGES[0]
