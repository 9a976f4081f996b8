"""Month-end records: one django-tables2 table whose columns follow the figure shown, and its filter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

from exceptions.tables import ParityTable
from reconciliation.models import MonthEndItem
from reconciliation.month_end import COLUMNS, KINDS


def money(value: Any) -> str:
    """'1234.5' → '1,234.50' (a decimal string as people read it; '—' when missing)."""
    if value in (None, ""):
        return "—"
    amount = Decimal(str(value))
    places = max(2, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    return f"{amount:,.{min(places, 4)}f}"


class DataColumn(tables.Column):
    """A value from the item's `data` by key, formatted by the kind of value it is."""

    def __init__(self, key: str, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        attrs = {"td": {"class": "number"}, "th": {"class": "number"}} if kind != "text" else {}
        if kind == "time":
            attrs = {"td": {"class": "nowrap"}}
        super().__init__(accessor=f"data__{key}", orderable=False, attrs=attrs, **kwargs)

    def render(self, value: Any) -> str:
        if self.kind == "money":
            return money(value)
        if self.kind == "time":
            moment = parse_datetime(str(value))
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else str(value)
        return str(value)


class RecordTable(ParityTable):
    exception = tables.Column(
        accessor="key", verbose_name="Evidence", orderable=False, empty_values=()
    )

    class Meta(ParityTable.Meta):
        model = MonthEndItem
        fields: tuple[str, ...] = ()
        empty_text = "No records behind this figure at the close run."

    def __init__(self, data: Any, *, figure: str, links: dict[str, str], **kwargs: Any) -> None:
        extra = [
            (f"c_{key}", DataColumn(key, kind, verbose_name=heading))
            for key, heading, kind in COLUMNS[figure]
        ]
        super().__init__(data, extra_columns=extra, **kwargs)
        self.links = links
        # The evidence link last, after the figure's own columns.
        self.sequence = [*(name for name, _ in extra), "exception"]

    def render_exception(self, record: MonthEndItem) -> SafeString | str:
        url = self.links.get(record.key)
        if url is None:
            return "—"  # exceptions are kept, so only a purged table lacks one
        return format_html('<a href="{}">{} {}</a>', url, record.rule, record.key)


class RecordFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(
        choices=[(k, k) for k in sorted({k for ks in KINDS.values() for k in ks})],
        widget=forms.CheckboxSelectMultiple,
    )
    q = django_filters.CharFilter(method="filter_reference", label="Reference starts with")

    class Meta:
        model = MonthEndItem
        fields: list[str] = []

    def __init__(self, *args: Any, figure: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = KINDS.get(figure, ())
        if kinds:  # only the kinds this figure has
            self.filters["kind"].extra["choices"] = [(k, k) for k in kinds]
        else:
            del self.filters["kind"]

    def filter_reference(
        self, queryset: QuerySet[MonthEndItem], name: str, value: str
    ) -> QuerySet[MonthEndItem]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(key__startswith=value)
            | Q(reference__startswith=value)
            | Q(key__startswith=value.upper())
            | Q(reference__startswith=value.upper())
        )
