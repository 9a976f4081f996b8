"""django-tables2 tables: a shared base and the exceptions queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from exceptions.models import SLA_HOURS, ExceptionRecord, Status
from exceptions.rendering import prepare_rows


class ParityTable(tables.Table):
    """Base for every list page: one plain template (no CSS framework) with prev/next paging,
    which suits LazyPaginator (it never counts the whole table)."""

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "table"}


def badge(kind: str, value: str, label: str | None = None) -> SafeString:
    return format_html('<span class="badge {}-{}">{}</span>', kind, value, label or value)


class ExceptionTable(ParityTable):
    """The queue: its columns and headers here, its rows written by exceptions.rendering.rows_html.

    django-tables2 renders a cell through generic machinery (accessor resolution, choices
    lookup, signature inspection per cell): 50 rows × 11 columns took ~100 ms, a template row
    partial ~25 ms, rows written in Python a few. So this table supplies the header only. Sorting
    and paging are the view's (keyset, exceptions/keyset.py); `sort` in the filter form picks
    the order, so the columns are not orderable here."""

    select = tables.CheckBoxColumn(
        accessor="pk",
        attrs={"th__input": {"aria-label": "Select all on this page", "data-select-all": "ids"}},
    )
    priority = tables.Column()
    rule = tables.Column()
    key = tables.Column()
    owner = tables.Column()
    team = tables.Column(accessor="queue_team", verbose_name="Team")
    assignee = tables.Column(verbose_name="Assignee")
    summary = tables.Column()
    age = tables.Column(accessor="first_seen", verbose_name="Age")
    status = tables.Column()
    times_seen = tables.Column(verbose_name="Seen")

    class Meta(ParityTable.Meta):
        template_name = "exceptions/_queue_table.html"
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

    def __init__(
        self,
        records: list[ExceptionRecord],
        *args: Any,
        now: datetime | None = None,
        selectable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(records, *args, **kwargs)
        self.now = now or timezone.now()
        self.selectable = selectable
        if not selectable:  # nobody may act on these in bulk: no checkboxes
            self.columns.hide("select")
        # What the row partial shows besides the fields: the badges that depend on the time.
        # (and its dates, age and labels, computed once: exceptions.rendering)
        self.records = prepare_rows(records, self.now)
        for record in self.records:
            record.sla_breached = sla_breached(record, self.now)
            record.snooze_ended = bool(
                record.status == Status.SNOOZED
                and record.snoozed_until
                and record.snoozed_until <= self.now
            )


def sla_breached(record: ExceptionRecord, now: datetime) -> bool:
    """Active and older than its priority's SLA (SLA_HOURS, from first seen)."""
    hours = SLA_HOURS.get(record.priority)
    return (
        record.is_active and hours is not None and now - record.first_seen > timedelta(hours=hours)
    )
