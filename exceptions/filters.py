"""The queue's GET filters: team ("My queue" by default), owner, status, rule, priority, system,
assignee, age and a key search. The same filterset selects the rows of the CSV export and of a
bulk action, so "all 312 matching this filter" means exactly the rows the queue lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from exceptions.models import (
    SLA_HOURS,
    WORKING_STATUSES,
    ExceptionRecord,
    Owner,
    Priority,
    Status,
    Team,
)
from integration.roles import ROLE_GROUPS, team_for
from reconciliation.rules import RULE_NAMES

SYSTEMS = [("store", "Store"), ("erp", "ERP"), ("wms", "WMS")]
AGES = [
    ("1d", "Older than 1 day"),
    ("7d", "Older than 7 days"),
    ("30d", "Older than 30 days"),
    ("sla", "SLA breached"),
]
AGE_DAYS = {"1d": 1, "7d": 7, "30d": 30}
# The query-string keys that are filters (everything else — sort, cursors — is not).
FILTER_KEYS = ("team", "owner", "status", "rule", "priority", "system", "assignee", "age", "q")


def active_q(now: datetime) -> Q:
    """The working queue: open and acknowledged, and snoozes that have ended. Written as "working
    statuses, less snoozes still running" so that it matches the partial indexes' condition and a
    page is read off an index in score order."""
    return Q(status__in=WORKING_STATUSES) & ~Q(status=Status.SNOOZED, snoozed_until__gt=now)


def sla_breached_q(now: datetime) -> Q:
    """Active exceptions older than their priority's SLA (SLA_HOURS, from first seen)."""
    breached = Q()
    for priority, hours in SLA_HOURS.items():
        breached |= Q(priority=priority, first_seen__lt=now - timedelta(hours=hours))
    return breached


def assignee_choices() -> list[tuple[str, str]]:
    """ "me", "unassigned", then everyone in a role group (one query)."""
    people = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=list(ROLE_GROUPS))
        .distinct()
        .order_by("username")
        .values_list("pk", "username")
    )
    return [("me", "Me"), ("none", "Unassigned")] + [(str(pk), name) for pk, name in people]


class ExceptionFilter(django_filters.FilterSet):
    team = django_filters.ChoiceFilter(
        field_name="queue_team", choices=Team.choices, empty_label="Any team", label="Team"
    )
    owner = django_filters.ChoiceFilter(choices=Owner.choices, empty_label="Any")
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, widget=forms.CheckboxSelectMultiple, method="filter_status"
    )
    rule = django_filters.ChoiceFilter(
        choices=[(name, name) for name in RULE_NAMES], empty_label="Any rule"
    )
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any")
    system = django_filters.ChoiceFilter(
        choices=SYSTEMS, empty_label="Any", method="filter_system", label="System"
    )
    assignee = django_filters.ChoiceFilter(
        choices=[], empty_label="Anyone", method="filter_assignee", label="Assignee"
    )
    age = django_filters.ChoiceFilter(
        choices=AGES, empty_label="Any age", method="filter_age", label="Age"
    )
    q = django_filters.CharFilter(method="filter_key", label="Key starts with")

    class Meta:
        model = ExceptionRecord
        fields: list[str] = []  # every filter is declared above

    def __init__(
        self,
        data: QueryDict | None = None,
        *args: Any,
        user: Any = None,
        now: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        self.user = user
        self.now = now or timezone.now()
        data = data.copy() if data is not None else QueryDict(mutable=True)
        # "My queue": without a team in the query string, the signed-in user's team. An empty
        # `team=` (the form's "Any team", the "All" tab) means every team.
        if "team" not in data and user is not None:
            mine = team_for(user)
            if mine:
                data["team"] = mine
        # Rule names are upper-case constants (rules.md); accept them typed in any case.
        if data.get("rule"):
            data["rule"] = data["rule"].strip().upper()
        super().__init__(data, *args, **kwargs)
        self.filters["assignee"].extra["choices"] = assignee_choices

    @property
    def my_team(self) -> str | None:
        return team_for(self.user) if self.user is not None else None

    def filter_queryset(self, queryset: QuerySet[ExceptionRecord]) -> QuerySet[ExceptionRecord]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            # No status chosen means the working queue.
            queryset = queryset.filter(active_q(self.now))
        return queryset

    def filter_status(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: list[str]
    ) -> QuerySet[ExceptionRecord]:
        return queryset.filter(status__in=value) if value else queryset

    def filter_system(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        if connection.vendor == "postgresql":
            return queryset.filter(roles__contains=[value])  # jsonb @>
        # SQLite has no JSON containment; the roles are short lists of plain names.
        return queryset.filter(roles__icontains=f'"{value}"')

    def filter_assignee(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(assignee=self.user.pk if self.user is not None else None)
        return queryset.filter(assignee_id=int(value))

    def filter_age(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        if value == "sla":
            return queryset.filter(sla_breached_q(self.now))
        return queryset.filter(first_seen__lt=self.now - timedelta(days=AGE_DAYS[value]))

    def filter_key(
        self, queryset: QuerySet[ExceptionRecord], name: str, value: str
    ) -> QuerySet[ExceptionRecord]:
        # A prefix match stays on the key index; trying the upper-cased text too finds "so-10"
        # for "SO-1001" without a case-insensitive scan over the whole table.
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(key__startswith=value) | Q(key__startswith=value.upper()))

    def description(self) -> list[str]:
        """The filters in force, in words, for the bulk confirmation ("Team: Warehouse")."""
        if not self.is_valid():
            return []
        words = []
        for name in FILTER_KEYS:
            value = self.form.cleaned_data.get(name)
            if not value:
                continue
            field = self.form.fields[name]
            choices = dict(getattr(field, "choices", []))
            values = value if isinstance(value, list) else [value]
            words.append(f"{field.label}: {', '.join(str(choices.get(v, v)) for v in values)}")
        if not self.form.cleaned_data.get("status"):
            words.append("Status: open, acknowledged or snooze ended")
        return words
