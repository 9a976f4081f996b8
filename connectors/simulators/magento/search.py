"""Magento's searchCriteria: the query parameters parsed, and one filter condition applied."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from connectors.simulators.server import (
    HttpError,
    SimRequest,
)

_CRITERION = re.compile(r"^searchCriteria\[filter_groups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(\w+)\]$")
_SORT = re.compile(r"^searchCriteria\[sortOrders\]\[(\d+)\]\[(\w+)\]$")


# -- searchCriteria ------------------------------------------------------------------------------


def criteria(
    request: SimRequest,
) -> tuple[dict[int, list[dict[str, str]]], list[tuple[str, bool]]]:
    if not any(name.startswith("searchCriteria") for name in request.query):
        raise HttpError(400, '"searchCriteria" is required. Enter and try again.')
    groups: dict[int, dict[int, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    sorts: dict[int, dict[str, str]] = defaultdict(dict)
    for name, values in request.query.items():
        if match := _CRITERION.match(name):
            groups[int(match[1])][int(match[2])][match[3]] = values[0]
        elif match := _SORT.match(name):
            sorts[int(match[1])][match[2]] = values[0]
    filters = {g: [f for _, f in sorted(fs.items())] for g, fs in sorted(groups.items())}
    order = [
        (spec.get("field", ""), (spec.get("direction") or "ASC").upper() == "DESC")
        for _, spec in sorted(sorts.items())
    ]
    return filters, order


def matches(value: Any, condition: str, wanted: str) -> bool:
    def comparable(raw: Any) -> Any:
        try:
            return Decimal(str(raw))
        except ArithmeticError:
            return str(raw)

    if condition == "null":
        return value is None
    if condition == "notnull":
        return value is not None
    if value is None:
        return False
    if condition in ("in", "nin"):
        found = str(value) in {part.strip() for part in wanted.split(",")}
        return found if condition == "in" else not found
    if condition == "like":
        pattern = re.escape(wanted).replace("%", ".*")
        return re.fullmatch(pattern, str(value), re.IGNORECASE) is not None
    left, right = comparable(value), comparable(wanted)
    if type(left) is not type(right):
        left, right = str(value), wanted
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "neq": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gteq": lambda a, b: a >= b,
        "moreq": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lteq": lambda a, b: a <= b,
    }
    if condition not in comparisons:
        raise HttpError(400, f'Invalid condition type "{condition}".')
    return comparisons[condition](left, right)
