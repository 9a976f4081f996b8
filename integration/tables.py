"""django-tables2 tables of the held orders and mappings pages, on the shared ParityTable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from exceptions.tables import ParityTable, badge
from integration.held_orders import HeldOrder
from integration.models import MappingChange, SkuAlias


class HeldOrderTable(ParityTable):
    """One row per held order (a list of HeldOrder, built from the filtered exceptions)."""

    priority = tables.Column(orderable=False)
    origin = tables.Column(
        verbose_name="Order", orderable=False, attrs={"td": {"class": "key nowrap"}}
    )
    customer = tables.Column(orderable=False)
    problems = tables.Column(accessor="rules", verbose_name="Held by", orderable=False)
    summary = tables.Column(orderable=False, attrs={"td": {"class": "summary"}})
    placed_at = tables.Column(verbose_name="Placed", orderable=False, default="—")
    since = tables.Column(verbose_name="Held for", orderable=False)
    release = tables.Column(verbose_name="Released", orderable=False, default="")

    class Meta(ParityTable.Meta):
        empty_text = "No held orders: everything can go to the warehouse."
        row_attrs = {"class": lambda record: f"priority-{record.priority.lower()}"}

    def render_priority(self, record: HeldOrder) -> SafeString:
        return badge("priority", record.priority.lower(), record.priority)

    def render_origin(self, record: HeldOrder) -> SafeString:
        url = reverse("held:detail", args=[record.origin])
        return format_html('<a href="{}">{}</a>', url, record.origin)

    def render_problems(self, record: HeldOrder) -> SafeString:
        return format_html_join(" ", '<span class="tag">{}</span>', ((r,) for r in record.rules))

    def render_since(self, record: HeldOrder) -> SafeString:
        return _ago(record.since, "first seen held")

    def render_placed_at(self, value: datetime) -> SafeString:
        return _ago(value, "placed")

    def render_release(self, record: HeldOrder) -> Any:
        release = record.release
        if release is None:
            return ""
        return format_html(
            "{} <span class='muted'>{}</span>",
            badge("release", release.status, release.get_status_display()),
            timezone.localtime(release.created_at).strftime("%Y-%m-%d %H:%M"),
        )


def _ago(value: datetime, what: str) -> SafeString:
    return format_html(
        '<time datetime="{}" title="{} {}">{} ago</time>',
        value.isoformat(),
        what,
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M"),
        timesince(value, timezone.now(), depth=1),
    )


class AliasTable(ParityTable):
    role = tables.Column()
    sku = tables.Column(verbose_name="SKU", attrs={"td": {"class": "key"}})
    canonical_sku = tables.Column(verbose_name="Canonical SKU", attrs={"td": {"class": "key"}})
    actions = tables.TemplateColumn(
        template_name="mappings/_alias_actions.html", verbose_name="", orderable=False
    )

    class Meta(ParityTable.Meta):
        model = SkuAlias
        fields = ("role", "sku", "canonical_sku")
        empty_text = "No SKU aliases in the tables."


def _json(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


class ChangeTable(ParityTable):
    at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="When")
    actor = tables.Column(verbose_name="Who", default="system")
    table = tables.Column(verbose_name="Map")
    action = tables.Column()
    record = tables.Column(verbose_name="Record", attrs={"td": {"class": "key"}})
    before = tables.Column(orderable=False, default="—")
    after = tables.Column(orderable=False, default="—")
    via = tables.Column(orderable=False)

    class Meta(ParityTable.Meta):
        model = MappingChange
        fields = ("at", "actor", "table", "action", "record", "before", "after", "via")
        empty_text = "No changes yet."

    def render_before(self, value: Any) -> str:
        return _json(value)

    def render_after(self, value: Any) -> str:
        return _json(value)
