"""Checks an order must pass before the warehouse will take it, shared by the engine (vectorised,
over many orders) and by the CX correction form (one order), so both say the same thing."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

UK_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$", re.IGNORECASE)
REQUIRED_ADDRESS_FIELDS = ("ship_line1", "ship_city", "ship_postcode", "ship_country")
FIELD_LABELS = {
    "ship_line1": "address line 1",
    "ship_city": "city",
    "ship_postcode": "postcode",
    "ship_country": "country",
    "ship_phone": "phone",
}


def address_problems(orders: pd.DataFrame, *, require_phone: bool) -> list[list[dict[str, str]]]:
    """Per order, the problems ADDRESS_INVALID lists: [{field, problem, message}], in field order."""
    checks: list[tuple[str, str, pd.Series]] = []
    fields = REQUIRED_ADDRESS_FIELDS + (("ship_phone",) if require_phone else ())
    for field in fields:
        checks.append((field, "missing", _blank(orders[field])))
    country = orders["ship_country"].astype("string").str.upper()
    postcode = orders["ship_postcode"].astype("string")
    invalid_gb = (
        (country == "GB").fillna(False)
        & ~_blank(orders["ship_postcode"])
        & ~postcode.str.fullmatch(UK_POSTCODE).fillna(False)
    )
    checks.append(("ship_postcode", "invalid", invalid_gb.astype(bool)))
    flags = [(field, problem, mask.to_numpy(dtype=bool)) for field, problem, mask in checks]
    postcodes = postcode.tolist()
    result: list[list[dict[str, str]]] = []
    for i in range(len(orders)):
        problems = []
        for field, problem, mask in flags:
            if mask[i]:
                problems.append(_problem(field, problem, postcodes[i]))
        result.append(problems)
    return result


def order_address_problems(order: dict[str, Any], *, require_phone: bool) -> list[dict[str, str]]:
    """The same checks for one order given as a dict of fields (the CX form)."""
    frame = pd.DataFrame(
        [{field: order.get(field) or None for field in (*FIELD_LABELS, "ship_country")}],
        dtype="string",
    )
    return address_problems(frame, require_phone=require_phone)[0]


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("string").str.strip() == "").fillna(True)


def _problem(field: str, problem: str, postcode: Any) -> dict[str, str]:
    if problem == "invalid":
        message = f"postcode '{postcode}' is not a valid UK postcode"
    else:
        message = f"{FIELD_LABELS[field]} is missing"
    return {"field": field, "problem": problem, "message": message}


def sku_matches(skus: pd.Series, pattern: str) -> pd.Series:
    """Whether each SKU matches the pattern as a whole (full match), as the warehouse demands."""
    return skus.astype("string").str.fullmatch(pattern).fillna(False).astype(bool)
