"""What a rule hands back, how it is scored, and small formatting helpers for summaries/details."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reconciliation.frames import MONEY_SCALE, money_str
from reconciliation.rules.context import Context

FOUND_COLUMNS = [
    "key",
    "team",
    "priority",
    "summary",
    "details",
    "roles",
    "money",
    "units",
    "hours",
]

# Priority bands: P1 scores 75–100, P2 50–75, P3 25–50, P4 0–25. Within a band the score grows
# with money and units at risk and hours past the grace or SLA, so the queue sorts by urgency.
BAND_FLOOR = {"P1": 75.0, "P2": 50.0, "P3": 25.0, "P4": 0.0}
BAND_WIDTH = 24.99


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    check: Callable[[Context], pd.DataFrame]


def found(
    key: Sequence[Any],
    team: str | Sequence[str],
    priority: str | Sequence[str],
    summary: Sequence[str],
    details: Sequence[dict[str, Any]],
    roles: list[str] | Sequence[list[str]],
    money: Any = 0.0,
    units: Any = 0.0,
    hours: Any = 0.0,
) -> pd.DataFrame:
    """A rule's exceptions as a frame. `money` is in pounds (float, for scoring only)."""
    count = len(key)
    if roles and isinstance(roles[0], str):
        roles = [list(roles)] * count
    return pd.DataFrame(
        {
            "key": [str(k) for k in key],
            "team": _broadcast(team, count),
            "priority": _broadcast(priority, count),
            "summary": list(summary),
            "details": list(details),
            "roles": list(roles),
            "money": _numbers(money, count),
            "units": _numbers(units, count),
            "hours": _numbers(hours, count),
        },
        columns=FOUND_COLUMNS,
    )


def nothing() -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in FOUND_COLUMNS}, columns=FOUND_COLUMNS)


def _broadcast(value: str | Sequence[str], count: int) -> list[str]:
    return [value] * count if isinstance(value, str) else list(value)


def _numbers(value: Any, count: int) -> np.ndarray:
    if np.isscalar(value):
        return np.full(count, float(value))
    array = pd.to_numeric(pd.Series(list(value), dtype=object), errors="coerce")
    return array.fillna(0.0).to_numpy(dtype=float)


def score(priority: str, money: float, units: float, hours: float) -> float:
    """A priority's band floor plus a bounded, monotone weight of what is at risk."""
    weight = (
        7.0 * math.log10(1.0 + max(money, 0.0))
        + 4.0 * math.log10(1.0 + max(units, 0.0))
        + 5.0 * math.log10(1.0 + max(hours, 0.0))
    )
    return round(BAND_FLOOR[priority] + min(weight, BAND_WIDTH), 2)


def scores(frame: pd.DataFrame) -> np.ndarray:
    """Vectorised `score` over a found-frame."""
    floor = frame["priority"].map(BAND_FLOOR).to_numpy(dtype=float)
    weight = (
        7.0 * np.log10(1.0 + np.clip(frame["money"].to_numpy(dtype=float), 0.0, None))
        + 4.0 * np.log10(1.0 + np.clip(frame["units"].to_numpy(dtype=float), 0.0, None))
        + 5.0 * np.log10(1.0 + np.clip(frame["hours"].to_numpy(dtype=float), 0.0, None))
    )
    return np.round(floor + np.minimum(weight, BAND_WIDTH), 2)


# -- formatting ---------------------------------------------------------------------------------


def pounds(value: Any) -> float:
    """Ten-thousandths to pounds as a float: for scoring weights only, never for comparisons."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return 0.0
    return int(value) / MONEY_SCALE


def money(value: Any) -> str | None:
    return money_str(value)


def when(value: Any) -> str | None:
    """A timestamp for details: ISO 8601 in UTC with Z."""
    if value is None or value is pd.NaT or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def number(value: Any) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def spoken(status: Any) -> str:
    """A canonical status as words: 'in_progress' → 'in progress'."""
    return str(status).replace("_", " ") if status is not None else "missing"


def duration(delta: pd.Timedelta | float | Any) -> str:
    """'45 min', '5 h', '3 days': how long, as a person would say it. Numbers are minutes."""
    if delta is None or pd.isna(delta):
        return "an unknown time"
    if isinstance(delta, int | float | np.integer | np.floating):
        minutes = max(int(delta), 0)
    else:
        minutes = max(int(pd.Timedelta(delta).total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def hours_past(age: pd.Series, limit: pd.Timedelta | pd.Series) -> np.ndarray:
    """Hours beyond a grace period or SLA (0 when inside it)."""
    over = (age - limit).dt.total_seconds().to_numpy(dtype=float) / 3600.0
    return np.clip(np.nan_to_num(over, nan=0.0), 0.0, None)


def age_minutes(age: pd.Series) -> np.ndarray:
    """Ages as whole minutes (int), vectorised: for summaries and details."""
    return (age.dt.total_seconds().to_numpy(dtype=float) // 60).astype(np.int64)


def minutes(value: int) -> pd.Timedelta:
    return pd.Timedelta(minutes=value)


def iso(timestamps: pd.Series) -> list[str | None]:
    """UTC timestamps as ISO 8601 strings with Z, vectorised (None for NaT)."""
    naive = pd.Series(timestamps).dt.tz_convert(None).to_numpy(dtype="datetime64[s]")
    formatted = np.char.add(np.datetime_as_string(naive, unit="s"), "Z")
    return [None if stamp.startswith("NaT") else str(stamp) for stamp in formatted]


def order_facts(ctx: Context, role: str, where: Iterable[int]) -> list[dict[str, Any] | None]:
    """What a person needs to see of each order at positions `where` in `role` (None at -1)."""
    where = np.asarray(list(where), dtype=np.int64)
    orders = ctx.orders(role)
    if len(orders) == 0:
        return [None] * len(where)
    picked = orders.iloc[np.where(where >= 0, where, 0)]
    system = ctx.system(role)
    facts = [
        {
            "system": system,
            "order_ref": ref,
            "status": status,
            "placed_at": placed,
            "gross_total": money(gross),
        }
        for ref, status, placed, gross in zip(
            picked["order_ref"].to_numpy(dtype=object, na_value=None),
            picked["status"].to_numpy(dtype=object, na_value=None),
            iso(picked["placed_at"]),
            picked["gross_total"].to_numpy(dtype=object, na_value=None),
            strict=True,
        )
    ]
    return [fact if position >= 0 else None for fact, position in zip(facts, where, strict=True)]


def order_value(ctx: Context, role: str, where: np.ndarray) -> np.ndarray:
    """Gross totals in pounds of the orders at `where` (0 where unknown): money at risk."""
    where = np.asarray(where, dtype=np.int64)
    gross = ctx.gross_pounds(role)
    if len(gross) == 0:
        return np.zeros(len(where))
    return np.where(where >= 0, gross[np.where(where >= 0, where, 0)], 0.0)
