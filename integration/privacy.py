"""Customers' personal data in what leaves Parity: who may see it, and how it is masked for the rest.

Snapshots hold each order's ship-to name, address, phone and email (docs/personal-data.md). CX,
Ops and Admin correct customers' orders and see these as stored; Finance and Warehouse work by
order ref, SKU and money and get them masked in every export (the queue CSV, the JSON API):

    name      "Jane Smith"           -> "J*** S****"
    email     "jane@example.com"     -> "***@example.com"
    phone     "07700 900123"         -> "***123"
    postcode  "SW1A 1AA"             -> "SW1A ***" (the outward code names a district, not a home)
    address   "1 High Street"        -> "***"

Every export calls this module; nothing else decides.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# Those who correct customers' delivery details and contact them need the data as stored: the
# permission to correct and release held orders (CX, Ops, Admin in docs/roles.md; an admin may
# grant it to others in the Django admin). Reading it costs no query: the permission check that
# let the user in has loaded their permissions already.
PERSONAL_PERMISSION = "integration.release_held_order"
MASK = "***"
NAME_FIELDS = ("ship_name",)
ADDRESS_FIELDS = ("ship_line1", "ship_line2", "ship_city")
PERSONAL_FIELDS: tuple[str, ...] = (
    *NAME_FIELDS,
    *ADDRESS_FIELDS,
    "ship_postcode",
    "ship_phone",
    "email",
)
# ADDRESS_INVALID's summary quotes a postcode it cannot read (reconciliation/rules/validation.py).
# DOTALL so that Python matches as PostgreSQL's regexp_replace does (its "." takes newlines too).
SUMMARY_POSTCODE = re.compile(r"postcode '.*' is not a valid UK postcode", re.DOTALL)
SUMMARY_POSTCODE_MASKED = f"postcode '{MASK}' is not a valid UK postcode"


def can_see_personal(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether exports show this user customers' names, addresses, phones and emails."""
    return user.is_authenticated and user.has_perm(PERSONAL_PERMISSION)


def mask_name(value: str) -> str:
    """Each word's first letter, the rest starred: "Jane Smith" -> "J*** S****"."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in value.split())


def mask_email(value: str) -> str:
    """The mailbox hidden, the domain kept (it says which company, not who)."""
    _, at, domain = value.rpartition("@")
    return f"{MASK}@{domain}" if at else MASK


def mask_phone(value: str) -> str:
    """The last three digits, enough to match a caller who reads out their number."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return MASK + digits[-3:] if len(digits) > 3 else MASK


def mask_postcode(value: str) -> str:
    parts = value.split()
    return f"{parts[0]} {MASK}" if len(parts) > 1 else MASK


def mask_field(field: str, value: Any) -> Any:
    """One personal field masked; other fields, and empty values, as they are."""
    if not isinstance(value, str) or not value.strip() or field not in PERSONAL_FIELDS:
        return value
    if field in NAME_FIELDS:
        return mask_name(value)
    if field == "email":
        return mask_email(value)
    if field == "ship_phone":
        return mask_phone(value)
    if field == "ship_postcode":
        return mask_postcode(value)
    return MASK


def mask_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {field: mask_field(field, value) for field, value in values.items()}


def mask_summary(summary: str) -> str:
    return SUMMARY_POSTCODE.sub(SUMMARY_POSTCODE_MASKED, summary)


def summary_sql(column: str) -> str:
    """mask_summary() in PostgreSQL, for exports the database writes (COPY)."""
    pattern = SUMMARY_POSTCODE.pattern.replace("'", "''")
    masked = SUMMARY_POSTCODE_MASKED.replace("'", "''")
    return f"regexp_replace({column}, '{pattern}', '{masked}')"


def mask_details(details: Any) -> Any:
    """An exception's details with what ADDRESS_INVALID copies from the order masked: the
    address, and the postcode its problems quote."""
    if not isinstance(details, dict) or not isinstance(details.get("address"), dict):
        return details
    problems = [
        {**p, "message": mask_summary(p["message"])}
        if isinstance(p, dict) and isinstance(p.get("message"), str)
        else p
        for p in details.get("problems") or []
    ]
    return {**details, "address": mask_fields(details["address"]), "problems": problems}


def mask_change(text: str) -> str:
    """An event's from/to value: a held order's correction is JSON of the changed fields."""
    if not text.startswith("{"):
        return text
    try:
        values = json.loads(text)
    except ValueError:
        return text
    if not isinstance(values, dict) or not any(field in values for field in PERSONAL_FIELDS):
        return text
    return json.dumps(mask_fields(values), ensure_ascii=False)


def mask_evidence(evidence: dict[str, Any] | None) -> dict[str, Any] | None:
    """The detail page's evidence (exceptions/evidence) with the orders' personal fields masked:
    the side-by-side fields (whether they differ stays: that is the finding) and the raw rows."""
    if not evidence:
        return evidence
    fields = [
        {**f, "values": [mask_field(f["name"], v) for v in f["values"]]}
        if f.get("name") in PERSONAL_FIELDS
        else f
        for f in evidence.get("fields") or []
    ]
    raw = [
        {**block, "rows": [_mask_row(block["columns"], row) for row in block["rows"]]}
        for block in evidence.get("raw") or []
    ]
    return {**evidence, "fields": fields, "raw": raw}


def _mask_row(columns: list[str], row: list[Any]) -> list[Any]:
    return [mask_field(column, cell) for column, cell in zip(columns, row, strict=False)]
