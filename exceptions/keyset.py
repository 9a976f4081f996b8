"""Keyset pagination: pages of a sorted queryset found by the last row seen, never by OFFSET.

A page link carries a cursor — the sort values of the row at the page's edge — and the next page
is "the rows after that row in this order", which an index on the sort columns answers by reading
one page, however deep. (OFFSET 500000 reads and throws away half a million rows first.)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)


class BadCursor(ValueError):
    """A page link that is not one this site made (edited, or from a different sort)."""


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    next_cursor: str | None  # link to the rows after the last one
    prev_cursor: str | None  # link to the rows before the first one
    first: bool  # no rows before this page


def _fields(ordering: Sequence[str]) -> list[tuple[str, bool]]:
    """("-score", "id") -> [("score", True), ("id", False)]: (field, descending)."""
    return [(name.lstrip("-"), name.startswith("-")) for name in ordering]


def encode(row: Model, ordering: Sequence[str]) -> str:
    values = [row.serializable_value(name) for name, _ in _fields(ordering)]
    text = json.dumps([_jsonable(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def decode(cursor: str, model: type[Model], ordering: Sequence[str]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadCursor("not a page link") from error
    fields = _fields(ordering)
    if not isinstance(values, list) or len(values) != len(fields):
        raise BadCursor("not a page link for this sort")
    try:
        return [
            model._meta.get_field(name).to_python(value)
            for (name, _), value in zip(fields, values, strict=True)
        ]
    except (ValidationError, TypeError) as error:
        raise BadCursor("not a page link for this sort") from error


def _beyond(ordering: Sequence[str], values: list[Any], *, after: bool) -> Q:
    """Rows strictly after (or before) `values` in `ordering`: (a > x) or (a = x and b > y) …,
    plus the redundant bound on the first column that lets the database range-scan its index."""
    fields = _fields(ordering)
    condition = Q()
    equal = Q()
    for (name, descending), value in zip(fields, values, strict=True):
        lookup = "lt" if descending == after else "gt"
        condition |= equal & Q(**{f"{name}__{lookup}": value})
        equal &= Q(**{name: value})
    first, descending = fields[0]
    bound = "lte" if descending == after else "gte"
    return Q(**{f"{first}__{bound}": values[0]}) & condition


def paginate(
    queryset: QuerySet[M],
    ordering: Sequence[str],
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = 50,
) -> Page[M]:
    """One page of `queryset` in `ordering` (whose last field must be unique, e.g. id), after
    or before a cursor. Reads per_page + 1 rows: the extra one says whether there is more."""
    model = queryset.model
    if before:
        values = decode(before, model, ordering)
        reverse = [name[1:] if name.startswith("-") else f"-{name}" for name in ordering]
        rows = list(
            queryset.filter(_beyond(ordering, values, after=False)).order_by(*reverse)[
                : per_page + 1
            ]
        )
        more_before = len(rows) > per_page
        rows = rows[:per_page][::-1]
        return Page(
            rows=rows,
            next_cursor=encode(rows[-1], ordering) if rows else None,
            prev_cursor=encode(rows[0], ordering) if rows and more_before else None,
            first=not more_before,
        )
    if after:
        queryset = queryset.filter(_beyond(ordering, decode(after, model, ordering), after=True))
    rows = list(queryset.order_by(*ordering)[: per_page + 1])
    more_after = len(rows) > per_page
    rows = rows[:per_page]
    return Page(
        rows=rows,
        next_cursor=encode(rows[-1], ordering) if rows and more_after else None,
        prev_cursor=encode(rows[0], ordering) if rows and after else None,
        first=not after,
    )
