"""API views: thin — load with permission, call one function of exceptions/actions.py, answer.

Status codes: 401 without credentials, 403 when the matrix says no (nothing changes), 404 for an
id that does not exist, 400 with a message naming the record when the input or the state does
not allow the action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exceptions import actions, keyset
from exceptions.api.permissions import CanViewExceptions
from exceptions.api.serializers import (
    AssignInput,
    CommentInput,
    EmptyInput,
    ExceptionDetailSerializer,
    ExceptionSerializer,
    ReopenInput,
    ResolveInput,
    SnoozeInput,
)
from exceptions.filters import ExceptionFilter
from exceptions.models import ExceptionRecord
from integration.permissions import can

# ?ordering= → the sort; each ends in a unique column so that keyset pages are exact.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "-score": ("-score", "id"),
    "priority": ("priority", "-score", "id"),
    "-first_seen": ("-first_seen", "-id"),
    "first_seen": ("first_seen", "id"),
    "-last_seen": ("-last_seen", "-id"),
}
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _bad(message: str, **extra: Any) -> Response:
    return Response({"detail": message, **extra}, status=status.HTTP_400_BAD_REQUEST)


class ExceptionList(APIView):
    """GET: the exceptions matching the queue's filters, one keyset page at a time."""

    permission_classes: ClassVar = [CanViewExceptions]

    def get(self, request: Request) -> Response:
        params = request.query_params
        ordering_name = params.get("ordering") or "-score"
        if ordering_name not in ORDERINGS:
            return _bad(f"ordering must be one of {', '.join(ORDERINGS)}; got {ordering_name!r}.")
        try:
            limit = int(params.get("limit") or DEFAULT_LIMIT)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            return _bad(f"limit must be a whole number from 1 to {MAX_LIMIT}.")

        records = ExceptionRecord.objects.select_related("assignee")
        data = params.copy()
        # The queue page starts on the user's team ("My queue"); a tool asking without a team
        # means every team.
        data.setdefault("team", "")
        now = timezone.now()
        filterset = ExceptionFilter(data, queryset=records, user=request.user, now=now)
        if not filterset.is_valid():
            return _bad("Some filters are not valid.", errors=filterset.errors)
        ordering = ORDERINGS[ordering_name]
        try:
            page = keyset.paginate(
                filterset.qs,
                ordering,
                after=params.get("after") or None,
                before=params.get("before") or None,
                per_page=limit,
            )
        except keyset.BadCursor as exc:
            return _bad(f"The page cursor is not valid for ordering {ordering_name}: {exc}.")
        context = {"request": request, "now": now}
        return Response(
            {
                "results": ExceptionSerializer(page.rows, many=True, context=context).data,
                "next": self._link(request, "after", page.next_cursor),
                "previous": self._link(request, "before", page.prev_cursor),
            }
        )

    def _link(self, request: Request, direction: str, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        query = request.query_params.copy()
        query.pop("after", None)
        query.pop("before", None)
        query[direction] = cursor
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class ExceptionDetail(APIView):
    """GET: one exception with its details and its events (the timeline), oldest first."""

    permission_classes: ClassVar = [CanViewExceptions]

    def get(self, request: Request, pk: int) -> Response:
        record = get_object_or_404(ExceptionRecord.objects.select_related("assignee"), pk=pk)
        events = record.events.select_related("actor").order_by("at", "id")
        context = {"request": request, "events": events, "now": timezone.now()}
        return Response(ExceptionDetailSerializer(record, context=context).data)


Perform = Callable[[ExceptionRecord, Any, dict[str, Any]], bool]


class ExceptionAction(APIView):
    """POST: one action on one exception; answers {"changed": bool, "exception": {...}}.
    `changed` is false when the exception already was so (a repeated request is harmless)."""

    permission_classes: ClassVar = [CanViewExceptions]
    action: ClassVar[str]
    input: ClassVar[type[serializers.Serializer]] = EmptyInput
    perform: ClassVar[Perform]

    def post(self, request: Request, pk: int) -> Response:
        record = get_object_or_404(ExceptionRecord, pk=pk)
        # Checked before the input: someone who may not act learns nothing from a 400.
        if not can(request.user, self.action, record):
            raise PermissionDenied(f"You may not {self.action} {record.rule} {record.key}.")
        given = self.input(data=request.data)
        if not given.is_valid():
            return _bad(f"{record.rule} {record.key}: the input is not valid.", errors=given.errors)
        try:
            changed = type(self).perform(record, request.user, given.validated_data)
        except actions.ActionError as exc:
            return _bad(str(exc))
        except ExceptionRecord.DoesNotExist:
            raise Http404 from None  # deleted since it was loaded
        record = ExceptionRecord.objects.select_related("assignee").get(pk=record.pk)
        context = {"request": request, "now": timezone.now()}
        return Response(
            {"changed": changed, "exception": ExceptionSerializer(record, context=context).data}
        )


class Acknowledge(ExceptionAction):
    action = "acknowledge"

    @staticmethod
    def perform(record: ExceptionRecord, user: Any, data: dict[str, Any]) -> bool:
        return actions.acknowledge(record, user)


class Assign(ExceptionAction):
    action = "assign"
    input = AssignInput

    @staticmethod
    def perform(record: ExceptionRecord, user: Any, data: dict[str, Any]) -> bool:
        return actions.assign(record, user, data["team"], data.get("assignee"))


class Comment(ExceptionAction):
    action = "comment"
    input = CommentInput

    @staticmethod
    def perform(record: ExceptionRecord, user: Any, data: dict[str, Any]) -> bool:
        return actions.comment(record, user, data["text"])


class Snooze(ExceptionAction):
    action = "snooze"
    input = SnoozeInput

    @staticmethod
    def perform(record: ExceptionRecord, user: Any, data: dict[str, Any]) -> bool:
        return actions.snooze(record, user, data["until"])


class Resolve(ExceptionAction):
    action = "resolve"
    input = ResolveInput

    @staticmethod
    def perform(record: ExceptionRecord, user: Any, data: dict[str, Any]) -> bool:
        return actions.resolve(record, user, data["reason"], data["note"])


class Reopen(ExceptionAction):
    action = "reopen"
    input = ReopenInput

    @staticmethod
    def perform(record: ExceptionRecord, user: Any, data: dict[str, Any]) -> bool:
        return actions.reopen(record, user, data["note"])
