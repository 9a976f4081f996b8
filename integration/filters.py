"""GET filters of the held orders and mappings list pages."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from exceptions.models import ExceptionRecord, Team
from integration.held_orders import HELD_RULES
from integration.models import MappingChange, SkuAlias


class HeldFilter(django_filters.FilterSet):
    """Filters the held exceptions before they are grouped into orders."""

    rule = django_filters.ChoiceFilter(
        choices=[(r, r) for r in HELD_RULES], empty_label="Any", label="Held by"
    )
    team = django_filters.ChoiceFilter(
        field_name="queue_team", choices=Team.choices, empty_label="Any", label="Team"
    )
    q = django_filters.CharFilter(method="filter_order", label="Order or SKU starts with")

    class Meta:
        model = ExceptionRecord
        fields: list[str] = []

    def filter_order(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(key__startswith=value) | Q(key__startswith=value.upper()))


class AliasFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=SkuAlias.Role.choices, empty_label="Any")
    q = django_filters.CharFilter(method="filter_sku", label="SKU starts with")

    class Meta:
        model = SkuAlias
        fields: list[str] = []

    def filter_sku(self, queryset: QuerySet[SkuAlias], name: str, value: str) -> QuerySet[SkuAlias]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__startswith=value) | Q(canonical_sku__startswith=value))


class ChangeFilter(django_filters.FilterSet):
    table = django_filters.ChoiceFilter(choices=MappingChange.Table.choices, empty_label="Any")
    record = django_filters.CharFilter(lookup_expr="icontains", label="Record contains")

    class Meta:
        model = MappingChange
        fields: list[str] = []
