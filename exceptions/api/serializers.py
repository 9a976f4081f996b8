"""How exceptions and their events look in JSON, and the inputs of the actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from exceptions.models import (
    CLOSED_STATUSES,
    SLA_HOURS,
    ExceptionEvent,
    ExceptionRecord,
    ResolutionReason,
    Team,
)
from integration import privacy


def _personal(context: dict[str, Any]) -> bool:
    """Whether the caller sees customers' personal data (integration.privacy); without a request
    (code calling the serializer itself) it does."""
    request = context.get("request")
    return request is None or privacy.can_see_personal(request.user)


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="get_username")


class ExceptionSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    web_url = serializers.SerializerMethodField()
    assignee = UserRefSerializer(allow_null=True)
    sla_due = serializers.SerializerMethodField()
    sla_breached = serializers.SerializerMethodField()

    class Meta:
        model = ExceptionRecord
        fields = [
            "id",
            "url",
            "web_url",
            "rule",
            "key",
            "owner",
            "team",
            "queue_team",
            "assigned_team",
            "assignee",
            "priority",
            "score",
            "status",
            "summary",
            "roles",
            "snoozed_until",
            "first_seen",
            "last_seen",
            "times_seen",
            "resolved_at",
            "resolution",
            "resolution_reason",
            "sla_due",
            "sla_breached",
        ]
        read_only_fields = fields

    def to_representation(self, instance: ExceptionRecord) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not _personal(self.context):
            data["summary"] = privacy.mask_summary(data["summary"])
            if "details" in data:
                data["details"] = privacy.mask_details(data["details"])
        return data

    def get_url(self, record: ExceptionRecord) -> str:
        return self._absolute(reverse("api:exception", args=[record.pk]))

    def get_web_url(self, record: ExceptionRecord) -> str:
        return self._absolute(record.get_absolute_url())

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def _due(self, record: ExceptionRecord) -> datetime:
        return record.first_seen + timedelta(hours=SLA_HOURS[record.priority])

    def get_sla_due(self, record: ExceptionRecord) -> str:
        return serializers.DateTimeField().to_representation(self._due(record))

    def get_sla_breached(self, record: ExceptionRecord) -> bool:
        # A closed exception's clock has stopped: only an active one can be overdue.
        now = self.context.get("now") or timezone.now()
        return record.status not in CLOSED_STATUSES and now > self._due(record)


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    from_value = serializers.CharField(read_only=True)
    to_value = serializers.CharField(read_only=True)

    class Meta:
        model = ExceptionEvent
        fields = ["id", "at", "kind", "actor", "from_value", "to_value", "note", "run"]
        read_only_fields = fields

    def to_representation(self, instance: ExceptionEvent) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not _personal(self.context):
            # A held order's correction records the address before and after.
            data["from_value"] = privacy.mask_change(data["from_value"])
            data["to_value"] = privacy.mask_change(data["to_value"])
        return data

    def get_actor(self, event: ExceptionEvent) -> str | None:
        # None: the system (a reconciliation run).
        return event.actor.get_username() if event.actor_id else None


class ExceptionDetailSerializer(ExceptionSerializer):
    details = serializers.JSONField(read_only=True)
    events = serializers.SerializerMethodField()

    class Meta(ExceptionSerializer.Meta):
        fields = [*ExceptionSerializer.Meta.fields, "details", "events"]
        read_only_fields = fields

    def get_events(self, record: ExceptionRecord) -> list[dict[str, Any]]:
        return EventSerializer(self.context["events"], many=True, context=self.context).data


# --- action inputs -----------------------------------------------------------------------------


class EmptyInput(serializers.Serializer):
    pass


class AssignInput(serializers.Serializer):
    team = serializers.ChoiceField(choices=Team.choices, allow_null=True)
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True)

    def validate_assignee(self, value: str | None) -> Any:
        if not value:
            return None
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError(f"There is no user named {value!r}.")
        return user


class CommentInput(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class SnoozeInput(serializers.Serializer):
    until = serializers.DateTimeField(allow_null=True)


class ResolveInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ResolutionReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReopenInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")
