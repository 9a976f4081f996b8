"""What the order and SKU evidence share: the run's snapshots by role, its SKU map, and how
snapshot values and rows are shown."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from reconciliation.models import ReconciliationRun, Snapshot
from reconciliation.rules.context import ROLE_NAMES, SYSTEM_NAMES

PIPELINE: tuple[str, ...] = ("store", "erp", "wms")


def system_label(snapshot: Snapshot) -> str:
    """How people call the system in a snapshot's role: 'Whistl', else 'the warehouse'."""
    kind = (snapshot.kind or "").strip()
    name = SYSTEM_NAMES.get(kind.lower().replace(" ", "_").replace("-", "_"))
    return name or kind or ROLE_NAMES.get(snapshot.role, snapshot.role)


def role_rank(role: str) -> int:
    return PIPELINE.index(role) if role in PIPELINE else len(PIPELINE)


def by_pipeline(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    return sorted(snapshots, key=lambda s: role_rank(s.role))


@dataclass
class World:
    """A run's snapshots by role, its settings and its SKU map both ways."""

    run: ReconciliationRun
    snapshots: list[Snapshot]
    by_role: dict[str, Snapshot] = field(init=False)
    by_id: dict[int, Snapshot] = field(init=False)
    to_canonical: dict[tuple[str, str], str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_role = {s.role: s for s in self.snapshots}
        self.by_id = {s.pk: s for s in self.snapshots}
        self.to_canonical = {
            (row["role"], row["sku"]): row["canonical_sku"] for row in self.run.sku_map or []
        }

    @property
    def roles(self) -> list[str]:
        return [role for role in PIPELINE if role in self.by_role]

    @property
    def settings(self) -> dict[str, Any]:
        return self.run.settings or {}

    def role_of(self, row: Any) -> str:
        return self.by_id[row.snapshot_id].role

    def canonical(self, role: str, sku: str) -> str:
        return self.to_canonical.get((role, sku), sku)

    def role_skus(self, role: str, canonical: str) -> set[str]:
        """The SKUs `role` may use for a canonical SKU: its aliases, and the canonical SKU itself
        unless that role maps it to something else."""
        skus = {sku for (r, sku), c in self.to_canonical.items() if r == role and c == canonical}
        if self.to_canonical.get((role, canonical), canonical) == canonical:
            skus.add(canonical)
        return skus

    def snapshot_info(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.pk,
                "role": s.role,
                "system": system_label(s),
                "taken_at": s.taken_at,
                "source": s.source_name,
            }
            for s in self.snapshots
        ]


def empty(
    kind: str, world: World | None, message: str, run: ReconciliationRun | None = None
) -> dict[str, Any]:
    """Evidence with no records to show (no run, no snapshots, a snapshot-level rule)."""
    return {
        "kind": kind,
        "run": world.run if world else run,
        "snapshots": world.snapshot_info() if world else [],
        "raw": [],
        "message": message,
    }


def show(value: Any) -> str:
    """A snapshot value as text: money to 2 places unless it has more, times to the minute in
    the site's time zone (as the rest of the page), nothing as the empty string."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if value == value.quantize(Decimal("0.01")):
            return f"{value:.2f}"
        return str(value.normalize())
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.strftime("%Y-%m-%d %H:%M")
    return str(value)


def agree(values: Iterable[Any]) -> bool:
    """Whether the present (non-empty) values agree; fewer than two present always agree."""
    present = {_comparable(v) for v in values if v is not None and v != ""}
    return len(present) <= 1


def _comparable(value: Any) -> Any:
    if isinstance(value, str):  # "84 Albert  Street" and "84 albert street" are one address
        return " ".join(value.split()).casefold()
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def in_snapshots(refs: dict[int, set[str]], column: str) -> Q:
    """(snapshot = s AND column IN refs) OR …: one query, each arm on a (snapshot, column) index."""
    condition = Q(pk__in=[])
    for snapshot_id, values in sorted(refs.items()):
        if values:
            condition |= Q(snapshot_id=snapshot_id, **{f"{column}__in": sorted(values)})
    return condition


def raw_rows(world: World, file: str, rows: Iterable[Model]) -> list[dict[str, Any]]:
    """The rows of one snapshot file per role, as they were loaded: a header and shown cells,
    the file's extra (non-canonical) columns last."""
    by_snapshot: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_snapshot[row.snapshot_id].append(row)
    blocks = []
    for snapshot in world.snapshots:
        group = by_snapshot.get(snapshot.pk)
        if not group:
            continue
        names = [
            f.attname
            for f in group[0]._meta.concrete_fields
            if f.attname not in ("id", "snapshot_id", "extra")
        ]
        extra = list((snapshot.extra_columns or {}).get(file, []))
        blocks.append(
            {
                "role": snapshot.role,
                "system": system_label(snapshot),
                "file": f"{snapshot.role}/{file}.csv",
                "columns": names + extra,
                "rows": [
                    [show(getattr(row, n)) for n in names]
                    + [show((row.extra or {}).get(n)) for n in extra]
                    for row in group
                ],
            }
        )
    return blocks
