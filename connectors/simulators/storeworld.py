"""A world's store role indexed for the storefront simulators (WooCommerce, Magento, Centra).

Orders keep the world's order; their lines (sorted by line number) and shipments are grouped by
order_ref; stock rows by SKU. Values are the framework's plain values: money Decimal, times aware
datetimes, missing None.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.simulators.server import HttpError, SimulatorApp

Record = dict[str, Any]


def _line_key(line: Record) -> tuple[int, int | str]:
    number = str(line.get("line_no") or "")
    return (0, int(number)) if number.isdigit() else (1, number)


@dataclass
class StoreWorld:
    orders: list[Record]
    lines: dict[str, list[Record]]
    shipments: dict[str, list[Record]]
    products: list[Record]
    stock: dict[str, list[Record]]
    # Filtered and sorted listings, by the query that asked for them (a bench pages through
    # 100,000 orders: filter once, not once a page).
    _cache: dict[Hashable, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, app: SimulatorApp) -> StoreWorld:
        lines: dict[str, list[Record]] = defaultdict(list)
        for line in app.rows("order_lines"):
            lines[line["order_ref"]].append(line)
        for group in lines.values():
            group.sort(key=_line_key)
        shipments: dict[str, list[Record]] = defaultdict(list)
        for row in app.rows("shipments"):
            shipments[row["order_ref"]].append(row)
        stock: dict[str, list[Record]] = defaultdict(list)
        for row in app.rows("stock"):
            stock[row["sku"]].append(row)
        return cls(
            orders=app.rows("orders"),
            lines=dict(lines),
            shipments=dict(shipments),
            products=app.rows("products"),
            stock=dict(stock),
        )

    def cached(self, key: Hashable, build: Callable[[], list[Any]]) -> list[Any]:
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = build()
        return self._cache[key]


def modified(order: Record) -> datetime:
    """When an order last changed: updated_at, else placed_at."""
    return order.get("updated_at") or order.get("placed_at") or datetime.min.replace(tzinfo=UTC)


def fixed(value: Decimal | None, places: int = 4) -> str:
    """Money as decimal text with exactly `places` places (how these APIs print amounts)."""
    amount = value if value is not None else Decimal(0)
    return format(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def as_number(value: Decimal | None) -> float | None:
    """A JSON number for APIs that send numbers (exact for amounts of up to 15 digits)."""
    return None if value is None else float(value)


def split_name(name: str | None) -> tuple[str, str]:
    """First name and the rest, as a checkout asks for them."""
    first, _, last = (name or "").strip().partition(" ")
    return first, last


def naive_utc(moment: datetime | None, sep: str = "T") -> str | None:
    """UTC without an offset, to the second, as WooCommerce and Magento print times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime(f"%Y-%m-%d{sep}%H:%M:%S")


_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)


def parse_moment(value: str, what: str) -> datetime:
    """An ISO 8601 query parameter; naive means UTC. A 400 when it is not one."""
    value = value.strip()
    if not _ISO.match(value):
        raise HttpError(400, f"Invalid parameter(s): {what}", code="rest_invalid_param")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def corrupted(record: dict[str, Any], patches: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record with `patches` applied — {"line_items.0.quantity": "two"} — so a test can serve
    a malformed record among good ones (`options["corrupt"] = {ref: patches}`)."""
    if not patches:
        return record
    record = copy.deepcopy(record)
    for path, value in patches.items():
        *parents, last = path.split(".")
        node: Any = record
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return record
