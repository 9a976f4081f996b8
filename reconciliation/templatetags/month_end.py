"""`money`: a Decimal as people read pounds (1,234.50), empty when there is none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from reconciliation.tables import money as money_text

register = template.Library()


@register.filter
def money(value: Decimal | str | None) -> Any:
    return "" if value in (None, "") else money_text(value)
