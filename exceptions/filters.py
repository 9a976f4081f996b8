"""The queue's GET filters: status, owner, team, rule, priority and a key search."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import QueryDict

from exceptions.models import (
    QUEUE_DEFAULT_STATUSES,
    ExceptionRecord,
    Owner,
    Priority,
    Status,
    Team,
)


class ExceptionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, widget=forms.CheckboxSelectMultiple
    )
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any")
    owner = django_filters.ChoiceFilter(choices=Owner.choices, empty_label="Any")
    team = django_filters.ChoiceFilter(choices=Team.choices, empty_label="Any")
    rule = django_filters.CharFilter(method="filter_rule", label="Rule")
    q = django_filters.CharFilter(method="filter_key", label="Key starts with")

    class Meta:
        model = ExceptionRecord
        fields: list[str] = []  # every filter is declared above

    def __init__(self, data: QueryDict | None = None, *args: Any, **kwargs: Any) -> None:
        # No status chosen means the working queue: open and acknowledged.
        if data is not None and not data.getlist("status"):
            data = data.copy()
            data.setlist("status", list(QUEUE_DEFAULT_STATUSES))
        super().__init__(data, *args, **kwargs)

    def filter_rule(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        # Rule names are upper-case constants (rules.md); accept them typed in any case.
        return queryset.filter(rule=value.strip().upper())

    def filter_key(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        # A prefix match stays on the key index; trying the upper-cased text too finds "so-10"
        # for "SO-1001" without a case-insensitive scan over the whole table.
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(key__startswith=value) | Q(key__startswith=value.upper()))
