"""Reconciliation settings: the config.json keys of rules.md, their defaults and validation."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_SKU_PATTERN = r"^[A-Za-z0-9]{1,40}$"
# The largest number a setting takes: minutes, hours or units beyond it only overflow the rules'
# date and integer arithmetic (a million hours is 114 years).
MAX_SETTING = 1_000_000


class SettingsError(ValueError):
    """A config value that cannot be used; the message names the key."""


@dataclass(frozen=True)
class ReconSettings:
    grace_store_to_erp_minutes: int = 30
    grace_to_wms_minutes: int = 60
    grace_dispatch_post_minutes: int = 120
    grace_store_update_minutes: int = 120
    grace_adjustment_post_minutes: int = 120
    dispatch_sla_hours: int = 48
    express_sla_hours: int = 24
    express_service_codes: tuple[str, ...] = ()
    shipping_methods: dict[str, str] = field(default_factory=dict)
    non_stock_skus: tuple[str, ...] = ()
    sku_pattern: str = DEFAULT_SKU_PATTERN
    require_phone: bool = True
    money_tolerance: Decimal = Decimal("0.005")
    stock_tolerance_units: int = 0
    safety_buffer_units: int = 0
    stale_after_minutes: int = 360

    @classmethod
    def from_mapping(
        cls, values: dict[str, Any], base: ReconSettings | None = None
    ) -> ReconSettings:
        """Settings from a config.json-like mapping laid over `base` (defaults when None).

        Unknown keys are ignored (the bundle spec lets tools add their own); bad values raise
        SettingsError naming the key.
        """
        merged = asdict(base or cls())
        known = {f.name: f for f in fields(cls)}
        for key, value in values.items():
            if key in known:
                merged[key] = _coerce(key, value)
        return cls(**merged)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["money_tolerance"] = str(self.money_tolerance)
        data["express_service_codes"] = list(self.express_service_codes)
        data["non_stock_skus"] = list(self.non_stock_skus)
        return data

    @property
    def money_tolerance_units(self) -> int:
        """money_tolerance in the frames' ten-thousandths; comparisons are `> tolerance`."""
        from reconciliation.frames import MONEY_SCALE

        return int(self.money_tolerance * MONEY_SCALE)


_INT_KEYS = {
    "grace_store_to_erp_minutes",
    "grace_to_wms_minutes",
    "grace_dispatch_post_minutes",
    "grace_store_update_minutes",
    "grace_adjustment_post_minutes",
    "dispatch_sla_hours",
    "express_sla_hours",
    "stock_tolerance_units",
    "safety_buffer_units",
    "stale_after_minutes",
}


def _coerce(key: str, value: Any) -> Any:
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SettingsError(f"{key}: expected a whole number, got {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise SettingsError(f"{key}: expected a whole number, got {value!r}") from exc
        if not number.is_finite():  # NaN and Infinity: JSON readers let them through
            raise SettingsError(f"{key}: expected a whole number, got {value!r}")
        if number != number.to_integral_value() or number < 0:
            raise SettingsError(f"{key}: expected a whole number of 0 or more, got {value!r}")
        if number > MAX_SETTING:
            raise SettingsError(f"{key}: expected at most {MAX_SETTING:,}, got {value!r}")
        return int(number)
    if key in {"express_service_codes", "non_stock_skus"}:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)
    if key == "shipping_methods":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise SettingsError(f"{key}: expected an object of name → service code strings")
        return dict(value)
    if key == "sku_pattern":
        if not isinstance(value, str):
            raise SettingsError(f"{key}: expected a regular expression string")
        try:
            re.compile(value)
        except re.error as exc:
            raise SettingsError(f"{key}: not a valid regular expression ({exc})") from exc
        return value
    if key == "require_phone":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "1", "0"}:
            return value.lower() in {"true", "yes", "1"}
        raise SettingsError(f"{key}: expected true or false, got {value!r}")
    if key == "money_tolerance":
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise SettingsError(f"{key}: expected a decimal amount, got {value!r}") from exc
        if not amount.is_finite() or amount < 0 or isinstance(value, bool):
            raise SettingsError(f"{key}: expected an amount of 0 or more, got {value!r}")
        if amount > MAX_SETTING:
            raise SettingsError(f"{key}: expected at most {MAX_SETTING:,}, got {value!r}")
        return amount
    return value
