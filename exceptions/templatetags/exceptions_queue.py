"""Filters for the queue's row partial (templates/exceptions/_rows.html)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from exceptions.models import Team
from exceptions.rendering import rows_html

register = template.Library()
_TEAMS = dict(Team.choices)


@register.filter
def team_label(value: str | None) -> str:
    return _TEAMS.get(value or "", value or "")


@register.filter
def age(first_seen: datetime, now: datetime) -> str:
    # The largest unit only ("3 days"): the queue is scanned, not read; the exact time is in
    # the tooltip and on the detail page.
    return timesince(first_seen, now, depth=1)


@register.simple_tag
def queue_rows(table: Any) -> SafeString:
    """The queue table's rows, written in Python (exceptions.rendering.rows_html)."""
    return rows_html(table.records, selectable=table.selectable, base=reverse("exceptions:queue"))
