"""Release to warehouse (docs/cx.md): a held order's corrected delivery details, checked with the
engine's own code (`order_address_problems`, the effective shipping map: held_orders.problems_of)
and written in one transaction: an `OrderRelease` (the outbox row the send task works from), an
event carrying the before/after values and the exceptions' resolution through
`exceptions.actions.resolve` — and after commit the send task (integration/outbox.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from exceptions.models import (
    AUTO_RESOLVABLE,
    EventKind,
    ExceptionEvent,
    ExceptionRecord,
    ResolutionReason,
)
from integration import outbox
from integration.held_orders import (
    DELIVERY_FIELDS,
    LABELS,
    ORDER_COLUMNS,
    ORDER_RULES,
    blockers,
    current_settings,
    delivery_of,
    held_order,
    last_release,
    normalise_postcode,
    problems_of,
    sending_role,
)
from integration.mappings import effective_sku_map
from integration.models import OrderRelease
from reconciliation.frames import ROLES
from reconciliation.models import ReconciliationRun, SnapshotOrderLine, SnapshotProduct
from reconciliation.settings import ReconSettings
from reconciliation.store import latest_complete_snapshots, sku_map_frame

LINE_COLUMNS: tuple[str, ...] = ("line_no", "sku", "quantity", "unit_price", "line_net", "line_tax")
RESOLUTION = "corrected and released"


class ReleaseRefused(Exception):
    """The order cannot be released from here; the message says why and who can."""


class ReleaseInvalid(Exception):
    """The corrected details still fail the engine's checks: field -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def release_order(
    user: AbstractBaseUser,
    origin: str,
    corrected: dict[str, str],
    *,
    note: str = "",
) -> OrderRelease:
    """Release a held order with corrected delivery details (DELIVERY_FIELDS and
    shipping_method). ReleaseRefused / ReleaseInvalid change nothing."""
    settings = current_settings()
    with transaction.atomic():
        # Lock the order's exceptions: two people pressing Release at once release it once.
        locked = list(
            ExceptionRecord.objects.select_for_update()
            .filter(rule__in=ORDER_RULES, key=origin, status__in=AUTO_RESOLVABLE)
            .order_by("id")
        )
        held = held_order(origin)
        if held is None or not locked:
            release = last_release(origin)
            if release is not None:
                raise ReleaseRefused(
                    f"Order {origin} was already released by "
                    f"{release.released_by or 'someone'} ({release.get_status_display()})"
                )
            raise ReleaseRefused(f"Order {origin} is not held: there is nothing to release")
        reasons = blockers(held)
        if reasons:
            raise ReleaseRefused(f"Order {origin} cannot be released here: " + "; ".join(reasons))
        role = sending_role(held.copies)
        if role is None:
            raise ReleaseRefused(
                f"Order {origin} is not in the latest snapshots: it cannot be sent from here"
            )
        before = delivery_of(held)
        after = {
            f: " ".join(str(corrected.get(f, before[f]) or "").split())
            for f in (*DELIVERY_FIELDS, "shipping_method")
        }
        after["ship_country"] = after["ship_country"].upper()
        after["ship_postcode"] = normalise_postcode(after["ship_postcode"], after["ship_country"])
        problems = problems_of(after, settings)
        if problems:
            raise ReleaseInvalid(problems)
        changes = {f: [before[f], after[f]] for f in after if before[f] != after[f]}
        copy = held.copies[role]
        release = OrderRelease.objects.create(
            origin=origin,
            order_ref=copy["order_ref"],
            role=role,
            before=before,
            payload=payload_for(copy, after, settings),
            changes=changes,
            exception_ids=[r.pk for r in locked],
            idempotency_key=f"parity-release-{uuid.uuid4().hex}",
            released_by=user,
        )
        _resolve(user, locked, release, note=note)
        transaction.on_commit(lambda: outbox.enqueue(release.pk))
    return release


def payload_for(
    copy: dict[str, Any], delivery: dict[str, str], settings: ReconSettings
) -> dict[str, Any]:
    """The corrected order as the warehouse connector takes it: the orders.csv columns of the
    sending copy with the corrections, and its stock lines under the SKUs the warehouse knows."""
    order = {k: _plain(v) for k, v in copy.items() if k in ORDER_COLUMNS}
    order.update({k: v or None for k, v in delivery.items()})
    latest = latest_complete_snapshots()
    role = copy["role"]
    lines = list(
        SnapshotOrderLine.objects.filter(snapshot=latest[role], order_ref=copy["order_ref"])
        .order_by("line_no")
        .values(*LINE_COLUMNS, "tax_rate")
    )
    aliases, to_wms = _aliases()
    canonical = aliases.get(role, {})
    non_stock = set(settings.non_stock_skus) | _not_stock_items(latest, aliases)
    order["lines"] = [
        {**{k: _plain(v) for k, v in line.items()}, "sku": to_wms.get(csku, csku)}
        for line in lines
        if (csku := canonical.get(line["sku"], line["sku"])) not in non_stock
    ]
    return order


def _aliases() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(role -> its SKU -> canonical, canonical -> the warehouse's SKU), from the tables and the
    latest run's sku_map, merged as a run merges them (Context.canonical / sent_to_wms)."""
    last = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE).first()
    frame = effective_sku_map(sku_map_frame(last.sku_map if last else None))
    canonical: dict[str, dict[str, str]] = {role: {} for role in ROLES}
    to_wms: dict[str, str] = {}
    if frame is None or frame.empty:
        return canonical, to_wms
    for role, sku, csku in frame[["role", "sku", "canonical_sku"]].itertuples(index=False):
        canonical.setdefault(str(role), {}).setdefault(sku, csku)
        if role == "wms":
            to_wms.setdefault(csku, sku)
    return canonical, to_wms


def _not_stock_items(latest: dict[str, Any], canonical: dict[str, dict[str, str]]) -> set[str]:
    """Canonical SKUs that some role's products call not a stock item (a handful of rows)."""
    rows = SnapshotProduct.objects.filter(
        snapshot__in=list(latest.values()), is_stock_item=False
    ).values_list("snapshot__role", "sku")
    return {canonical.get(role, {}).get(sku, sku) for role, sku in rows}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):  # money: two places at least, exact
        cents = value.quantize(Decimal("0.01"))
        return f"{cents}" if cents == value else format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _resolve(
    user: AbstractBaseUser, records: list[ExceptionRecord], release: OrderRelease, *, note: str
) -> None:
    """Resolve the order's exceptions as corrected and released: first an event carrying the
    correction (from/to: the changed fields before and after, as JSON), then the queue's own
    resolve action (its permission check and `resolved` event)."""
    from exceptions import actions

    now = timezone.now()
    said = f"{RESOLUTION} to the warehouse (release {release.pk})"
    if release.changes:
        said += ": " + "; ".join(
            f"{LABELS.get(f, f.replace('_', ' '))} '{old}' → '{new}'"
            for f, (old, new) in release.changes.items()
        )
    if note.strip():
        said += f". Note: {note.strip()}"
    before = {f: v[0] for f, v in release.changes.items()}
    after = {f: v[1] for f, v in release.changes.items()}
    for record in records:
        ExceptionEvent.objects.create(
            exception=record,
            at=now,
            actor=user,
            kind=EventKind.COMMENTED,
            from_value=json.dumps(before, ensure_ascii=False) if before else "",
            to_value=json.dumps(after, ensure_ascii=False) if after else "",
            note=f"Delivery details corrected for release {release.pk}",
        )
        actions.resolve(record, user, ResolutionReason.OTHER, said, now=now)
