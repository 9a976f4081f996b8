"""The mapping tables and settings ops edit (docs/ops.md), and how a run reads them.

What a run uses, from the bottom up:

1. the rules.md defaults (`ReconSettings()`);
2. the settings profile's scalar values (`SettingsProfile.values`);
3. the mapping tables: shipping methods → service codes, express services, non-stock SKUs;
4. the bundle's config.json: a scalar there wins; a map there is merged with the tables', the
   bundle's entry winning where both name the same method (lists are joined);
5. SKU aliases: the tables' rows merged with the bundle's sku_map.csv, the bundle's row winning
   where both alias the same (role, sku).

Every edit is validated, written with a `MappingChange` row (who, when, before → after) in the same
transaction, and read by the next reconciliation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integration.models import (
    MAP_KEYS,
    MappingChange,
    NonStockSku,
    ServiceCode,
    SettingsProfile,
    ShippingMethod,
    SkuAlias,
)
from reconciliation.frames import PANDAS_DTYPES, SKU_MAP_SCHEMA, Bundle
from reconciliation.settings import ReconSettings, SettingsError

Table = MappingChange.Table
Action = MappingChange.Action
ROLES: tuple[str, ...] = tuple(SkuAlias.Role.values)
# The settings edited on the settings page: everything but the maps, in rules.md's order.
SCALAR_KEYS: tuple[str, ...] = tuple(k for k in ReconSettings().to_json() if k not in MAP_KEYS)
MAX_CODE = 64
MAX_TEXT = 200


class MappingError(ValueError):
    """A mapping or setting that cannot be saved; the message names the record."""


# -- what a run reads ------------------------------------------------------------------------


def table_maps() -> dict[str, Any]:
    """The maps as config.json would spell them, from the tables."""
    methods = dict(ShippingMethod.objects.order_by("name").values_list("name", "service__code"))
    express = list(
        ServiceCode.objects.filter(express=True).order_by("code").values_list("code", flat=True)
    )
    non_stock = list(NonStockSku.objects.order_by("sku").values_list("sku", flat=True))
    return {
        "shipping_methods": methods,
        "express_service_codes": express,
        "non_stock_skus": non_stock,
    }


def database_settings() -> ReconSettings:
    """Defaults ← the profile's scalars ← the mapping tables: what runs start from."""
    return ReconSettings.from_mapping(table_maps(), base=SettingsProfile.current())


def effective_settings(config: dict[str, Any], base: ReconSettings | None = None) -> ReconSettings:
    """A bundle's config.json laid over the database settings: scalars replaced, maps merged
    (the bundle's entry wins on a conflict). Raises SettingsError naming a bad key."""
    base = base if base is not None else database_settings()
    overlaid = ReconSettings.from_mapping(config, base=base)  # validates; maps replaced whole
    merged: dict[str, Any] = {}
    if "shipping_methods" in config:
        merged["shipping_methods"] = {**base.shipping_methods, **overlaid.shipping_methods}
    for key in ("express_service_codes", "non_stock_skus"):
        if key in config:
            merged[key] = tuple(dict.fromkeys((*getattr(overlaid, key), *getattr(base, key))))
    return replace(overlaid, **merged)


def effective_sku_map(bundle_map: pd.DataFrame | None) -> pd.DataFrame | None:
    """The tables' SKU aliases merged with a bundle's sku_map: the bundle's row wins for a
    (role, sku) both have. None when neither has any."""
    rows = list(
        SkuAlias.objects.order_by("role", "sku").values_list("role", "sku", "canonical_sku")
    )
    if not rows:
        return bundle_map
    columns = list(SKU_MAP_SCHEMA)
    table = pd.DataFrame(rows, columns=columns).astype(PANDAS_DTYPES["text"])
    if bundle_map is None or bundle_map.empty:
        return table
    both = pd.concat([bundle_map[columns].astype(PANDAS_DTYPES["text"]), table], ignore_index=True)
    return both.drop_duplicates(["role", "sku"], keep="first").reset_index(drop=True)


def with_table_aliases(bundle: Bundle) -> Bundle:
    """The bundle as the engine should see it: its sku_map merged with the tables' aliases."""
    merged = effective_sku_map(bundle.sku_map)
    return bundle if merged is bundle.sku_map else replace(bundle, sku_map=merged)


# -- the change log --------------------------------------------------------------------------


def _log(
    actor: AbstractBaseUser | None,
    table: str,
    action: str,
    record: str,
    before: Any,
    after: Any,
    via: str,
) -> MappingChange:
    return MappingChange.objects.create(
        actor=actor, table=table, action=action, record=record, before=before, after=after, via=via
    )


def clean_code(value: Any, label: str, *, limit: int = MAX_CODE) -> str:
    text = str(value if value is not None else "").strip()
    if not text:
        raise MappingError(f"{label} is required")
    if len(text) > limit:
        raise MappingError(f"{label} '{text[:40]}…' is longer than {limit} characters")
    if any(ch.isspace() for ch in text) and limit == MAX_CODE:
        raise MappingError(f"{label} '{text}' must not contain spaces")
    return text


# -- shipping --------------------------------------------------------------------------------


def _service_json(service: ServiceCode) -> dict[str, Any]:
    return {"code": service.code, "express": service.express, "description": service.description}


@transaction.atomic
def save_service(
    actor: AbstractBaseUser | None,
    code: str,
    *,
    express: bool,
    description: str = "",
    via: str = "form",
) -> ServiceCode:
    """Add a service code or change its express flag / description."""
    code = clean_code(code, "Service code")
    description = (description or "").strip()[:MAX_TEXT]
    service = ServiceCode.objects.select_for_update().filter(code=code).first()
    if service is None:
        service = ServiceCode.objects.create(code=code, express=express, description=description)
        _log(actor, Table.SERVICE, Action.ADDED, code, None, _service_json(service), via)
        return service
    before = _service_json(service)
    service.express, service.description = express, description
    if _service_json(service) != before:
        service.save(update_fields=["express", "description"])
        _log(actor, Table.SERVICE, Action.CHANGED, code, before, _service_json(service), via)
    return service


@transaction.atomic
def delete_service(actor: AbstractBaseUser | None, service: ServiceCode, via: str = "form") -> None:
    used = list(service.methods.order_by("name").values_list("name", flat=True))
    if used:
        raise MappingError(
            f"Service code {service.code} is used by {', '.join(used)}: "
            "map those methods elsewhere first"
        )
    before = _service_json(service)
    service.delete()
    _log(actor, Table.SERVICE, Action.REMOVED, before["code"], before, None, via)


@transaction.atomic
def save_shipping_method(
    actor: AbstractBaseUser | None,
    name: str,
    service_code: str,
    *,
    express: bool | None = None,
    method: ShippingMethod | None = None,
    via: str = "form",
) -> ShippingMethod:
    """Map a shipping method (as the store/ERP names it) to a service code. A new service code is
    created; `express` (when given) is set on the service, which every method mapped to it
    shares. `method`: the row being edited (a rename keeps its history under the new name)."""
    name = clean_code(name, "Shipping method", limit=MAX_TEXT)
    service_code = clean_code(service_code, f"Service code for {name}")
    existing = ServiceCode.objects.filter(code=service_code).first()
    if existing is None or (express is not None and existing.express != express):
        description = existing.description if existing else ""
        service = save_service(
            actor, service_code, express=bool(express), description=description, via=via
        )
    else:
        service = existing
    clash = ShippingMethod.objects.filter(name=name)
    if method is not None:
        clash = clash.exclude(pk=method.pk)
    if clash.exists():
        raise MappingError(f"Shipping method '{name}' is already mapped")
    if method is None:
        method = ShippingMethod.objects.create(name=name, service=service)
        _log(actor, Table.SHIPPING_METHOD, Action.ADDED, name, None, _method_json(method), via)
        return method
    before = _method_json(method)
    method.name, method.service = name, service
    if _method_json(method) != before:
        method.save(update_fields=["name", "service"])
        _log(actor, Table.SHIPPING_METHOD, Action.CHANGED, name, before, _method_json(method), via)
    return method


def _method_json(method: ShippingMethod) -> dict[str, str]:
    return {"name": method.name, "service_code": method.service.code}


@transaction.atomic
def delete_shipping_method(
    actor: AbstractBaseUser | None, method: ShippingMethod, via: str = "form"
) -> None:
    before = _method_json(method)
    method.delete()
    _log(actor, Table.SHIPPING_METHOD, Action.REMOVED, before["name"], before, None, via)


# -- SKU aliases -----------------------------------------------------------------------------


def _alias_json(alias: SkuAlias) -> dict[str, str]:
    return {"role": alias.role, "sku": alias.sku, "canonical_sku": alias.canonical_sku}


def _alias_label(role: str, sku: str) -> str:
    return f"{role} {sku}"


def clean_role(value: Any) -> str:
    role = str(value if value is not None else "").strip().lower()
    if role not in ROLES:
        raise MappingError(f"role '{value}' is not one of {', '.join(ROLES)}")
    return role


@transaction.atomic
def save_alias(
    actor: AbstractBaseUser | None,
    role: str,
    sku: str,
    canonical_sku: str,
    *,
    alias: SkuAlias | None = None,
    via: str = "form",
) -> SkuAlias:
    role = clean_role(role)
    sku = clean_code(sku, "SKU", limit=MAX_TEXT)
    canonical_sku = clean_code(canonical_sku, f"Canonical SKU for {role} {sku}", limit=MAX_TEXT)
    if sku == canonical_sku:
        raise MappingError(
            f"{role} SKU {sku} is already canonical: an alias to itself does nothing"
        )
    clash = SkuAlias.objects.filter(role=role, sku=sku)
    if alias is not None:
        clash = clash.exclude(pk=alias.pk)
    if clash.exists():
        raise MappingError(f"{role} SKU {sku} already has an alias")
    if alias is None:
        alias = SkuAlias.objects.create(role=role, sku=sku, canonical_sku=canonical_sku)
        label = _alias_label(role, sku)
        _log(actor, Table.SKU_ALIAS, Action.ADDED, label, None, _alias_json(alias), via)
        return alias
    before = _alias_json(alias)
    alias.role, alias.sku, alias.canonical_sku = role, sku, canonical_sku
    if _alias_json(alias) != before:
        alias.save(update_fields=["role", "sku", "canonical_sku"])
        label = _alias_label(role, sku)
        _log(actor, Table.SKU_ALIAS, Action.CHANGED, label, before, _alias_json(alias), via)
    return alias


@transaction.atomic
def delete_alias(actor: AbstractBaseUser | None, alias: SkuAlias, via: str = "form") -> None:
    before = _alias_json(alias)
    alias.delete()
    label = _alias_label(before["role"], before["sku"])
    _log(actor, Table.SKU_ALIAS, Action.REMOVED, label, before, None, via)


# -- non-stock SKUs --------------------------------------------------------------------------


def _non_stock_json(item: NonStockSku) -> dict[str, str]:
    return {"sku": item.sku, "description": item.description}


@transaction.atomic
def save_non_stock(
    actor: AbstractBaseUser | None,
    sku: str,
    description: str = "",
    *,
    item: NonStockSku | None = None,
    via: str = "form",
) -> NonStockSku:
    sku = clean_code(sku, "Non-stock SKU", limit=MAX_TEXT)
    description = (description or "").strip()[:MAX_TEXT]
    clash = NonStockSku.objects.filter(sku=sku)
    if item is not None:
        clash = clash.exclude(pk=item.pk)
    if clash.exists():
        raise MappingError(f"{sku} is already a non-stock SKU")
    if item is None:
        item = NonStockSku.objects.create(sku=sku, description=description)
        _log(actor, Table.NON_STOCK, Action.ADDED, sku, None, _non_stock_json(item), via)
        return item
    before = _non_stock_json(item)
    item.sku, item.description = sku, description
    if _non_stock_json(item) != before:
        item.save(update_fields=["sku", "description"])
        _log(actor, Table.NON_STOCK, Action.CHANGED, sku, before, _non_stock_json(item), via)
    return item


@transaction.atomic
def delete_non_stock(actor: AbstractBaseUser | None, item: NonStockSku, via: str = "form") -> None:
    before = _non_stock_json(item)
    item.delete()
    _log(actor, Table.NON_STOCK, Action.REMOVED, before["sku"], before, None, via)


# -- scalar settings -------------------------------------------------------------------------


def settings_values() -> dict[str, Any]:
    """Each scalar setting's value in force from the database (JSON-ready), profile over defaults."""
    current = SettingsProfile.current().to_json()
    return {key: current[key] for key in SCALAR_KEYS}


@transaction.atomic
def save_settings(
    actor: AbstractBaseUser | None, values: dict[str, Any], via: str = "form"
) -> list[str]:
    """Set scalar settings (keys of SCALAR_KEYS); returns the keys that changed. The profile keeps
    only values that differ from the rules.md defaults, so a later default change flows through."""
    unknown = sorted(set(values) - set(SCALAR_KEYS))
    if unknown:
        raise MappingError(f"Unknown setting(s): {', '.join(unknown)}")
    if "sku_pattern" in values:
        _check_pattern(values["sku_pattern"])
    profile = SettingsProfile.objects.select_for_update().filter(pk=1).first() or SettingsProfile()
    old = ReconSettings.from_mapping(profile.values or {})
    try:
        new = ReconSettings.from_mapping(values, base=old)
    except SettingsError as exc:
        raise MappingError(str(exc)) from exc
    defaults, after = ReconSettings().to_json(), new.to_json()
    if old == new:
        return []
    profile.values = {k: after[k] for k in SCALAR_KEYS if after[k] != defaults[k]}
    profile.updated_by = actor  # type: ignore[assignment]
    profile.save()
    return log_settings_change(actor, old, new, via)


def log_settings_change(
    actor: AbstractBaseUser | None, old: ReconSettings, new: ReconSettings, via: str
) -> list[str]:
    """A history row per scalar setting that differs between `old` and `new`; returns the keys.
    (Also called by the settings profile's admin page, which edits the values as JSON.)"""
    before, after = old.to_json(), new.to_json()
    changed = [key for key in SCALAR_KEYS if before[key] != after[key]]
    for key in changed:
        _log(actor, Table.SETTING, Action.CHANGED, key, before[key], after[key], via)
    return changed


def _check_pattern(pattern: Any) -> None:
    # from_mapping compiles it too; here the message also says what the pattern must do.
    if not isinstance(pattern, str) or not pattern:
        raise MappingError("sku_pattern: expected a regular expression, got nothing")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise MappingError(f"sku_pattern: not a valid regular expression ({exc})") from exc


# -- reading for pages -----------------------------------------------------------------------


def bundle_only(values: dict[str, Any], key: str) -> Iterable[Any]:
    """Entries of a map in a bundle's config.json that the tables do not have (shown read-only)."""
    value = values.get(key)
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list | tuple):
        return sorted(value)
    return []
