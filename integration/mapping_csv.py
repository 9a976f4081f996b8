"""CSV export and import of each map (docs/ops.md, "CSV").

An import replaces the whole map with the file: every row is checked first and every problem is
reported with its line number (the header is line 1); one problem and nothing is saved. A valid
file is applied as a diff — rows added, changed and removed — each written to the history like a
change made in the form.

| map | columns |
| --- | --- |
| shipping | shipping_method, service_code, express (a row with no method: a service on its own) |
| sku_aliases | role, sku, canonical_sku (the bundle's sku_map.csv) |
| non_stock | sku, description |
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integration import mappings
from integration.mappings import MappingError
from integration.models import MappingChange, NonStockSku, ServiceCode, ShippingMethod, SkuAlias
from reconciliation.exports import FORMULA_STARTS, neutralise

COLUMNS: dict[str, tuple[str, ...]] = {
    "shipping": ("shipping_method", "service_code", "express"),
    "sku_aliases": ("role", "sku", "canonical_sku"),
    "non_stock": ("sku", "description"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "shipping": ("service_code",),
    "sku_aliases": ("role", "sku", "canonical_sku"),
    "non_stock": ("sku",),
}
TRUE = {"true", "yes", "1", "y"}
FALSE = {"false", "no", "0", "n", ""}
MAX_ERRORS = 100  # a wrong file would otherwise list every one of its lines
MAX_BYTES = 20 * 1024 * 1024
BATCH = 2_000


class ImportFailed(Exception):
    """The file was refused; `errors` lists each problem as 'line N: ...'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


@dataclass
class ImportSummary:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.added} added, {self.changed} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged"
        )


# -- export ----------------------------------------------------------------------------------


def export(table: str) -> str:
    # A SKU like =HYPERLINK(…) must not run when ops open the file; the import takes it back.
    rows = [COLUMNS[table], *([neutralise(cell) for cell in row] for row in _rows(table))]
    return "".join(_line(row) for row in rows)


def _line(cells: Iterable[str]) -> str:
    """One CSV row ending in "\n". csv quotes a cell holding a carriage return only when its
    line terminator has one, so it writes "\r\n" and the row's own ending is swapped."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + "\n"


def _rows(table: str) -> Iterable[tuple[str, ...]]:
    if table == "shipping":
        used = set()
        for method in ShippingMethod.objects.select_related("service").order_by("name"):
            used.add(method.service_id)
            yield (method.name, method.service.code, _bool(method.service.express))
        for service in ServiceCode.objects.exclude(pk__in=used).order_by("code"):
            yield ("", service.code, _bool(service.express))
    elif table == "sku_aliases":
        yield from SkuAlias.objects.order_by("role", "sku").values_list(
            "role", "sku", "canonical_sku"
        )
    else:
        yield from NonStockSku.objects.order_by("sku").values_list("sku", "description")


def _bool(value: bool) -> str:
    return "true" if value else "false"


# -- import ----------------------------------------------------------------------------------


def import_csv(
    actor: AbstractBaseUser | None, table: str, data: bytes, filename: str = "upload.csv"
) -> ImportSummary:
    """Replace the `table` map with the CSV in `data`; ImportFailed (nothing saved) on any error."""
    rows = _read(table, data)
    parse: Callable[[list[tuple[int, dict[str, str]]]], Any] = _PARSERS[table]
    wanted = parse(rows)
    via = f"CSV import {filename}"[:200]
    with transaction.atomic():
        return _APPLY[table](actor, wanted, via)


def _read(table: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    if len(data) > MAX_BYTES:
        raise ImportFailed([f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed([f"line {line}: not UTF-8 text (save the file as CSV UTF-8)"]) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFailed(["line 1: the file is empty (expected a header row)"]) from None
    except csv.Error as exc:
        raise ImportFailed([f"line 1: {exc}"]) from exc
    expected = COLUMNS[table]
    missing = [c for c in REQUIRED[table] if c not in header]
    unknown = [h for h in header if h not in expected]
    problems = []
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"line 1: unknown column(s) {', '.join(unknown)} (expected {', '.join(expected)})"
        )
    if len(set(header)) != len(header):
        problems.append("line 1: a column is named twice")
    if problems:
        raise ImportFailed(problems)
    rows = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines are allowed
            if len(cells) > len(header):
                problems.append(f"line {line}: {len(cells)} cells for {len(header)} columns")
                continue
            rows.append(
                (
                    line,
                    {h: _cell(cells[i]) if i < len(cells) else "" for i, h in enumerate(header)},
                )
            )
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if problems:
        raise ImportFailed(problems[:MAX_ERRORS])
    return rows


def _cell(text: str) -> str:
    """A cell as typed, without the apostrophe the export puts before a would-be formula."""
    value = text.strip()
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _collect(
    rows: list[tuple[int, dict[str, str]]], check: Callable[[int, dict[str, str]], None]
) -> None:
    """Run `check` on every row, gathering each MappingError as 'line N: message'."""
    errors = []
    for line, row in rows:
        try:
            check(line, row)
        except MappingError as exc:
            errors.append(f"line {line}: {exc}")
    if errors:
        if len(errors) > MAX_ERRORS:
            errors = [*errors[:MAX_ERRORS], f"… and {len(errors) - MAX_ERRORS} more"]
        raise ImportFailed(errors)


def _flag(value: str, label: str) -> bool:
    text = value.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise MappingError(f"{label}: expected true or false, got '{value}'")


# shipping ------------------------------------------------------------------------------------


def _parse_shipping(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[dict[str, str], dict[str, bool]]:
    methods: dict[str, str] = {}
    express: dict[str, bool] = {}
    seen_at: dict[str, int] = {}
    express_at: dict[str, int] = {}

    def check(line: int, row: dict[str, str]) -> None:
        code = mappings.clean_code(row.get("service_code"), "service_code")
        flag = _flag(row.get("express", ""), f"express for {code}")
        if code in express and express[code] != flag:
            raise MappingError(
                f"service {code} is express on line {express_at[code]} but not here "
                "(express belongs to the service: give it one value)"
                if express[code]
                else f"service {code} is not express on line {express_at[code]} but is here "
                "(express belongs to the service: give it one value)"
            )
        express.setdefault(code, flag)
        express_at.setdefault(code, line)
        name = (row.get("shipping_method") or "").strip()
        if name:
            name = mappings.clean_code(name, "shipping_method", limit=mappings.MAX_TEXT)
            if name in methods:
                raise MappingError(f"shipping method '{name}' is already on line {seen_at[name]}")
            methods[name], seen_at[name] = code, line

    _collect(rows, check)
    return methods, express


def _apply_shipping(
    actor: AbstractBaseUser | None, wanted: tuple[dict[str, str], dict[str, bool]], via: str
) -> ImportSummary:
    methods, express = wanted
    summary = ImportSummary()
    services = {s.code: s for s in ServiceCode.objects.all()}
    for code, flag in express.items():
        current = services.get(code)
        if current is None or current.express != flag:
            description = current.description if current else ""
            mappings.save_service(actor, code, express=flag, description=description, via=via)
            summary.added += current is None
            summary.changed += current is not None
        else:
            summary.unchanged += 1
    for method in ShippingMethod.objects.select_related("service"):
        if method.name not in methods:
            mappings.delete_shipping_method(actor, method, via=via)
            summary.removed += 1
        elif method.service.code != methods[method.name]:
            mappings.save_shipping_method(
                actor, method.name, methods[method.name], method=method, via=via
            )
            summary.changed += 1
        else:
            summary.unchanged += 1
    known = set(ShippingMethod.objects.values_list("name", flat=True))
    for name, code in methods.items():
        if name not in known:
            mappings.save_shipping_method(actor, name, code, via=via)
            summary.added += 1
    for service in ServiceCode.objects.exclude(code__in=list(express)):
        mappings.delete_service(actor, service, via=via)  # no method uses it any more
        summary.removed += 1
    return summary


# SKU aliases ---------------------------------------------------------------------------------


def _parse_aliases(rows: list[tuple[int, dict[str, str]]]) -> dict[tuple[str, str], str]:
    wanted: dict[tuple[str, str], str] = {}
    seen_at: dict[tuple[str, str], int] = {}

    def check(line: int, row: dict[str, str]) -> None:
        role = mappings.clean_role(row.get("role"))
        sku = mappings.clean_code(row.get("sku"), "sku", limit=mappings.MAX_TEXT)
        canonical = mappings.clean_code(
            row.get("canonical_sku"), f"canonical_sku for {role} {sku}", limit=mappings.MAX_TEXT
        )
        if sku == canonical:
            raise MappingError(f"{role} SKU {sku} is mapped to itself")
        if (role, sku) in wanted:
            raise MappingError(f"{role} SKU {sku} is already on line {seen_at[(role, sku)]}")
        wanted[(role, sku)], seen_at[(role, sku)] = canonical, line

    _collect(rows, check)
    return wanted


def _apply_aliases(
    actor: AbstractBaseUser | None, wanted: dict[tuple[str, str], str], via: str
) -> ImportSummary:
    # Set-based: an alias file can hold tens of thousands of rows.
    summary = ImportSummary()
    changes: list[MappingChange] = []
    updated: list[SkuAlias] = []
    removed: list[int] = []

    def log(action: str, role: str, sku: str, before: Any, after: Any) -> None:
        changes.append(
            MappingChange(
                actor=actor,
                table=MappingChange.Table.SKU_ALIAS,
                action=action,
                record=f"{role} {sku}",
                before=before,
                after=after,
                via=via,
            )
        )

    for alias in SkuAlias.objects.all().iterator():
        target = wanted.pop((alias.role, alias.sku), None)
        before = {"role": alias.role, "sku": alias.sku, "canonical_sku": alias.canonical_sku}
        if target is None:
            removed.append(alias.pk)
            log(MappingChange.Action.REMOVED, alias.role, alias.sku, before, None)
        elif target != alias.canonical_sku:
            alias.canonical_sku = target
            updated.append(alias)
            log(
                MappingChange.Action.CHANGED,
                alias.role,
                alias.sku,
                before,
                {**before, "canonical_sku": target},
            )
        else:
            summary.unchanged += 1
    added = [SkuAlias(role=r, sku=s, canonical_sku=c) for (r, s), c in wanted.items()]
    for alias in added:
        log(
            MappingChange.Action.ADDED,
            alias.role,
            alias.sku,
            None,
            {"role": alias.role, "sku": alias.sku, "canonical_sku": alias.canonical_sku},
        )
    for start in range(0, len(removed), BATCH):
        SkuAlias.objects.filter(pk__in=removed[start : start + BATCH]).delete()
    SkuAlias.objects.bulk_update(updated, ["canonical_sku"], batch_size=BATCH)
    SkuAlias.objects.bulk_create(added, batch_size=BATCH)
    MappingChange.objects.bulk_create(changes, batch_size=BATCH)
    summary.added, summary.changed, summary.removed = len(added), len(updated), len(removed)
    return summary


# non-stock -----------------------------------------------------------------------------------


def _parse_non_stock(rows: list[tuple[int, dict[str, str]]]) -> dict[str, str]:
    wanted: dict[str, str] = {}
    seen_at: dict[str, int] = {}

    def check(line: int, row: dict[str, str]) -> None:
        sku = mappings.clean_code(row.get("sku"), "sku", limit=mappings.MAX_TEXT)
        if sku in wanted:
            raise MappingError(f"SKU {sku} is already on line {seen_at[sku]}")
        wanted[sku], seen_at[sku] = (row.get("description") or "")[: mappings.MAX_TEXT], line

    _collect(rows, check)
    return wanted


def _apply_non_stock(
    actor: AbstractBaseUser | None, wanted: dict[str, str], via: str
) -> ImportSummary:
    summary = ImportSummary()
    for item in NonStockSku.objects.all():
        description = wanted.pop(item.sku, None)
        if description is None:
            mappings.delete_non_stock(actor, item, via=via)
            summary.removed += 1
        elif description != item.description:
            mappings.save_non_stock(actor, item.sku, description, item=item, via=via)
            summary.changed += 1
        else:
            summary.unchanged += 1
    for sku, description in wanted.items():
        mappings.save_non_stock(actor, sku, description, via=via)
        summary.added += 1
    return summary


_PARSERS: dict[str, Callable[[list[tuple[int, dict[str, str]]]], Any]] = {
    "shipping": _parse_shipping,
    "sku_aliases": _parse_aliases,
    "non_stock": _parse_non_stock,
}
_APPLY: dict[str, Callable[[AbstractBaseUser | None, Any, str], ImportSummary]] = {
    "shipping": _apply_shipping,
    "sku_aliases": _apply_aliases,
    "non_stock": _apply_non_stock,
}
