"""django-tables2 tables: a shared base and the exceptions queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from exceptions.models import SLA_HOURS, ExceptionRecord, Team


class ParityTable(tables.Table):
    """Base for every list page: one plain template (no CSS framework) with prev/next paging,
    which suits LazyPaginator (it never counts the whole table)."""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}


def badge(kind: str, value: str, label: str | None = None) -> SafeString:
    return format_html('<span class="badge {}-{}">{}</span>', kind, value, label or value)


class ExceptionTable(ParityTable):
    """The queue's rows. Sorting and paging are the view's (keyset, exceptions/keyset.py), so the
    columns are not orderable here; `sort` in the filter form picks the order."""

    select = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {"aria-label": "Select all on this page", "data-select-all": "ids"},
            "td__input": {"name": "ids", "form": "bulk"},
        },
    )
    priority = tables.Column()
    rule = tables.Column()
    key = tables.Column(linkify=True, attrs={"td": {"class": "key"}})
    owner = tables.Column()
    team = tables.Column(accessor="queue_team", verbose_name="Team")
    assignee = tables.Column(default="", verbose_name="Assignee")
    summary = tables.Column(attrs={"td": {"class": "summary"}})
    age = tables.Column(
        accessor="first_seen", verbose_name="Age", attrs={"td": {"class": "nowrap"}}
    )
    status = tables.Column()
    times_seen = tables.Column(verbose_name="Seen", attrs={"td": {"class": "number"}})

    class Meta(ParityTable.Meta):
        model = ExceptionRecord
        fields = ("priority", "rule", "key", "owner", "summary", "status")
        sequence = (
            "select",
            "priority",
            "rule",
            "key",
            "owner",
            "team",
            "assignee",
            "summary",
            "age",
            "status",
            "times_seen",
        )
        orderable = False
        empty_text = "No exceptions match these filters."
        row_attrs = {"class": lambda record: f"priority-{record.priority.lower()}"}

    def __init__(
        self, *args: Any, now: datetime | None = None, selectable: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        if not selectable:  # nobody may act on these in bulk: no checkboxes
            self.columns.hide("select")

    def render_priority(self, record: ExceptionRecord) -> SafeString:
        # `value` would be the choice label ("P1 · act now"); the badge shows the code.
        return badge("priority", record.priority.lower(), record.priority)

    def render_status(self, record: ExceptionRecord) -> SafeString:
        if record.status == "snoozed" and record.snoozed_until and record.snoozed_until <= self.now:
            return badge("status", "open", "Snooze ended")
        return badge("status", record.status, record.get_status_display())

    def render_owner(self, record: ExceptionRecord) -> str:
        return record.get_owner_display()

    def render_team(self, record: ExceptionRecord) -> str:
        return Team(record.queue_team).label if record.queue_team in Team.values else ""

    def render_assignee(self, record: ExceptionRecord) -> str:
        person = record.assignee
        return (person.get_full_name() or person.get_username()) if person else ""

    def render_age(self, record: ExceptionRecord, value: datetime) -> SafeString:
        # The largest unit only ("3 days"): the queue is scanned, not read; the exact time is in
        # the tooltip and on the detail page.
        age = format_html(
            '<time datetime="{}" title="first seen {}">{}</time>',
            value.isoformat(),
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M"),
            timesince(value, self.now, depth=1),
        )
        if sla_breached(record, self.now):
            return format_html('{} <span class="badge sla-breached">SLA breached</span>', age)
        return age


def sla_breached(record: ExceptionRecord, now: datetime) -> bool:
    """Active and older than its priority's SLA (SLA_HOURS, from first seen)."""
    hours = SLA_HOURS.get(record.priority)
    return (
        record.is_active and hours is not None and now - record.first_seen > timedelta(hours=hours)
    )
