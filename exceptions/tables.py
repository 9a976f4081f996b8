"""django-tables2 tables: a shared base and the exceptions queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from exceptions.models import ExceptionRecord


class ParityTable(tables.Table):
    """Base for every list page: one plain template (no CSS framework) with prev/next paging,
    which suits LazyPaginator (it never counts the whole table)."""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}


def badge(kind: str, value: str, label: str | None = None) -> SafeString:
    return format_html('<span class="badge {}-{}">{}</span>', kind, value, label or value)


class ExceptionTable(ParityTable):
    priority = tables.Column(order_by=("priority", "-score"))
    rule = tables.Column(orderable=False)
    key = tables.Column(linkify=True, orderable=False, attrs={"td": {"class": "key"}})
    owner = tables.Column(orderable=False)
    team = tables.Column(orderable=False)
    summary = tables.Column(orderable=False, attrs={"td": {"class": "summary"}})
    age = tables.Column(
        accessor="first_seen",
        verbose_name="Age",
        order_by=("-first_seen",),  # ascending age: the newest first
        attrs={"td": {"class": "nowrap"}},
    )
    status = tables.Column(order_by=("status", "-score"))
    times_seen = tables.Column(verbose_name="Seen", attrs={"td": {"class": "number"}})

    class Meta(ParityTable.Meta):
        model = ExceptionRecord
        fields = ("priority", "rule", "key", "owner", "team", "summary", "age", "status")
        sequence = (*fields, "times_seen")
        empty_text = "No exceptions match these filters."
        row_attrs = {"class": lambda record: f"priority-{record.priority.lower()}"}

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def render_priority(self, record: ExceptionRecord) -> SafeString:
        # `value` would be the choice label ("P1 · act now"); the badge shows the code.
        return badge("priority", record.priority.lower(), record.priority)

    def render_status(self, record: ExceptionRecord) -> SafeString:
        return badge("status", record.status, record.get_status_display())

    def render_owner(self, record: ExceptionRecord) -> str:
        return record.get_owner_display()

    def render_team(self, record: ExceptionRecord) -> str:
        return record.get_team_display()

    def render_age(self, value: datetime) -> SafeString:
        # The largest unit only ("3 days"): the queue is scanned, not read; the exact time is in
        # the tooltip and on the detail page.
        return format_html(
            '<time datetime="{}" title="first seen {}">{}</time>',
            value.isoformat(),
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M"),
            timesince(value, self.now, depth=1),
        )
