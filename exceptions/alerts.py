"""Alerts: which routes hear about which exceptions, and sending each delivery once.

Flow (docs/alerts.md):

1. A reconciliation run writes `detected`, `reopened` and `escalated` events (exceptions.sync).
   Afterwards `queue_run_alerts(run_id)` enqueues `exceptions.tasks.plan_run_alerts` on commit;
   the periodic `exceptions.tasks.alert_sweep` plans any finished run that was missed.
2. `plan_run(run_id)` matches the run's events to the enabled routes, set-based (a few queries per
   route, none per exception), and creates one pending `AlertDelivery` per (route, event, channel),
   or one run summary per (route, channel) when a route would get more than
   PARITY_ALERT_BATCH_LIMIT messages. An `AlertRunPlan` row and the deliveries' unique constraints
   make planning a run twice create nothing new: an alert goes out once, never on every run.
3. `deliver(delivery_id)` makes one attempt: it claims the delivery (pushing its due time past the
   send timeout so no other worker sends it meanwhile), sends, and records the outcome. A failed
   attempt is due again after the backoff (1×, 2×, 4× … PARITY_ALERT_BACKOFF_SECONDS) until
   PARITY_ALERT_MAX_ATTEMPTS; then, or on a permanent failure, it is `failed`.

Reconciliation only ever enqueues: a slow or failing webhook costs a worker, never a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from exceptions import notify
from exceptions.alert_models import AlertDelivery, AlertRoute, AlertRunPlan
from exceptions.models import EventKind, ExceptionEvent
from integration.permissions import can
from reconciliation.models import ReconciliationRun

logger = logging.getLogger(__name__)

ALERT_EVENTS: tuple[str, ...] = (EventKind.DETECTED, EventKind.REOPENED, EventKind.ESCALATED)
PLAN_TASK = "exceptions.tasks.plan_run_alerts"
SEND_TASK = "exceptions.tasks.send_alert"
# Runs still being written have events that may yet roll back: plan them once they finish.
FINISHED = (ReconciliationRun.Status.COMPLETE, ReconciliationRun.Status.FAILED)
SWEEP_RUNS_SINCE = timedelta(days=2)
SWEEP_BATCH = 500
FRESH = timedelta(minutes=2)


def can_manage_alerts(user: Any) -> bool:
    # Alert routes are integration settings: the matrix gives those to Ops and Admin.
    return can(user, "edit_mappings")


# --- planning ----------------------------------------------------------------------------------


def queue_run_alerts(run_id: int) -> None:
    """For the code that finishes a run: plan its alerts in a task once the run is committed."""
    transaction.on_commit(lambda: async_task(PLAN_TASK, run_id, task_name=f"alerts run {run_id}"))


def route_events(route: AlertRoute, run_id: int) -> QuerySet[ExceptionEvent]:
    """The run's alertable events of exceptions this route hears about."""
    events = ExceptionEvent.objects.filter(
        run_id=run_id,
        kind__in=ALERT_EVENTS,
        # "P1" < "P2" as text: at this priority or more urgent.
        exception__priority__lte=route.min_priority,
    )
    if route.team:
        events = events.filter(exception__queue_team=route.team)
    return events.order_by()


def plan_run(run_id: int) -> list[int]:
    """Create the run's pending deliveries; their ids (empty when the run was planned already,
    is unknown, or is still running)."""
    run = ReconciliationRun.objects.filter(pk=run_id).only("pk", "status").first()
    if run is None or run.status not in FINISHED:
        return []
    limit = settings.PARITY_ALERT_BATCH_LIMIT
    with transaction.atomic():
        try:
            with transaction.atomic():
                plan = AlertRunPlan.objects.create(run_id=run_id)
        except IntegrityError:
            return []  # planned before (or being planned by another worker, which wins)
        new: list[AlertDelivery] = []
        for route in AlertRoute.objects.filter(enabled=True):
            channels = route.channels
            if not channels:
                continue
            events = route_events(route, run_id)
            rows = list(events.values_list("id", "exception_id", "kind")[: limit + 1])
            if len(rows) > limit:
                count = events.count()
                new.extend(
                    AlertDelivery(
                        route=route,
                        kind=AlertDelivery.Kind.SUMMARY,
                        channel=channel,
                        run_id=run_id,
                        count=count,
                    )
                    for channel in channels
                )
                continue
            new.extend(
                AlertDelivery(
                    route=route,
                    kind=AlertDelivery.KINDS_FOR_EVENT[kind],
                    channel=channel,
                    exception_id=exception_id,
                    event_id=event_id,
                    run_id=run_id,
                )
                for event_id, exception_id, kind in rows
                for channel in channels
            )
        # The unique constraints are the second guard: a duplicate is skipped, not an error.
        AlertDelivery.objects.bulk_create(new, ignore_conflicts=True)
        ids = list(
            AlertDelivery.objects.filter(
                run_id=run_id, status=AlertDelivery.Status.PENDING, attempts=0
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        plan.deliveries = len(ids)
        plan.save(update_fields=["deliveries"])
        enqueue(ids)
    return ids


def plan_digests(day: date | None = None) -> list[int]:
    """Today's digest deliveries for every enabled route with a digest; their ids."""
    day = day or timezone.localdate()
    new = [
        AlertDelivery(route=route, kind=AlertDelivery.Kind.DIGEST, channel=channel, digest_date=day)
        for route in AlertRoute.objects.filter(enabled=True, digest=True)
        for channel in route.channels
    ]
    days = AlertDelivery.objects.filter(kind=AlertDelivery.Kind.DIGEST, digest_date=day)
    with transaction.atomic():
        before = set(days.values_list("id", flat=True))
        # A second call the same day (a re-run schedule, a second worker) creates nothing.
        AlertDelivery.objects.bulk_create(new, ignore_conflicts=True)
        ids = sorted(set(days.values_list("id", flat=True)) - before)
        enqueue(ids)
    return ids


def unplanned_runs(now: datetime | None = None) -> list[int]:
    """Recently finished runs nobody planned alerts for (the hook missed, a task was lost)."""
    since = (now or timezone.now()) - SWEEP_RUNS_SINCE
    return list(
        ReconciliationRun.objects.filter(
            status__in=FINISHED, finished_at__gte=since, alert_plan__isnull=True
        )
        .order_by("finished_at", "id")
        .values_list("id", flat=True)
    )


def due_deliveries(now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Pending deliveries whose retry is due, and new ones whose first send task seems lost."""
    now = now or timezone.now()
    return list(
        AlertDelivery.objects.filter(status=AlertDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        # A fresh delivery has its own send task queued: leave it a moment to run.
        .filter(Q(attempts__gt=0) | Q(created_at__lte=now - FRESH))
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def enqueue(ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: [async_task(SEND_TASK, pk) for pk in ids])


# --- sending -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: str
    attempts: int
    detail: str = ""


Sender = Callable[[AlertDelivery, notify.Message], int | None]


def deliver(delivery_id: int, *, now: datetime | None = None) -> Outcome | None:
    """One attempt at one delivery; None when it is not due (sent, failed, or held by another
    worker)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = AlertDelivery.objects.select_related("route", "exception").get(pk=delivery_id)
    attempt: dict[str, Any] = {"at": now.isoformat()}
    text = ""
    try:
        if not delivery.route.enabled:
            raise notify.SendError("the route was disabled before this was sent", permanent=True)
        message = build_message(delivery, now=now)
        text = message.text
        code = SENDERS[delivery.channel](delivery, message)
    except notify.SendError as exc:
        return _failed(delivery, exc, attempt, text, now)
    except Exception as exc:  # a bug building the message must not leave it claimed for ever
        logger.exception("alert delivery %s", delivery_id)
        return _failed(
            delivery, notify.SendError(f"{type(exc).__name__}: {exc}"), attempt, text, now
        )
    delivery.status = AlertDelivery.Status.SENT
    delivery.sent_at = now
    delivery.response_code = code
    delivery.last_error = ""
    delivery.next_attempt_at = None
    return _record(delivery, {**attempt, "ok": True, "code": code}, text)


def _claim(delivery_id: int, now: datetime) -> bool:
    # A conditional UPDATE is atomic on every database: of two workers, one gets the row.
    hold = settings.PARITY_ALERT_WEBHOOK_TIMEOUT + settings.EMAIL_TIMEOUT + 60
    return bool(
        AlertDelivery.objects.filter(pk=delivery_id, status=AlertDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + timedelta(seconds=hold))
    )


def _failed(
    delivery: AlertDelivery,
    error: notify.SendError,
    attempt: dict[str, Any],
    text: str,
    now: datetime,
) -> Outcome:
    attempts = delivery.attempts + 1  # counting this one
    delivery.last_error = str(error)[:2000]
    delivery.response_code = error.code
    if error.permanent or attempts >= settings.PARITY_ALERT_MAX_ATTEMPTS:
        delivery.status = AlertDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        backoff = settings.PARITY_ALERT_BACKOFF_SECONDS * 2 ** (attempts - 1)
        delivery.next_attempt_at = now + timedelta(seconds=backoff)
    logger.warning(
        "alert delivery %s (%s to route %s) attempt %d failed: %s",
        delivery.pk,
        delivery.channel,
        delivery.route_id,
        attempts,
        error,
    )
    return _record(
        delivery, {**attempt, "ok": False, "code": error.code, "error": str(error)[:500]}, text
    )


def _record(delivery: AlertDelivery, attempt: dict[str, Any], text: str) -> Outcome:
    delivery.attempts += 1  # the claim makes this worker the only writer
    delivery.log = [*delivery.log, attempt]
    if text:
        delivery.text = text
    delivery.save(
        update_fields=[
            "status",
            "sent_at",
            "response_code",
            "last_error",
            "next_attempt_at",
            "attempts",
            "log",
            "text",
        ]
    )
    return Outcome(delivery.pk, delivery.status, delivery.attempts, delivery.last_error)


def build_message(delivery: AlertDelivery, *, now: datetime | None = None) -> notify.Message:
    kind = delivery.kind
    if kind == AlertDelivery.Kind.SUMMARY:
        return notify.summary_message(delivery.route, delivery.run_id, delivery.count)
    if kind == AlertDelivery.Kind.DIGEST:
        return notify.digest_message(delivery.route, delivery.digest_date, now=now)
    if delivery.exception is None:
        raise notify.SendError("the exception was deleted", permanent=True)
    event = ExceptionEvent.objects.filter(pk=delivery.event_id).only("kind", "from_value").first()
    return notify.exception_message(
        delivery.exception,
        kind,
        from_priority=event.from_value if event and kind == AlertDelivery.Kind.ESCALATED else "",
        reopened=bool(event and event.kind == EventKind.REOPENED),
    )


def _send_webhook(delivery: AlertDelivery, message: notify.Message) -> int:
    return notify.post_webhook(delivery.route.webhook_url, message)


def _send_email(delivery: AlertDelivery, message: notify.Message) -> None:
    notify.send_email(delivery.route.email_list, message)


SENDERS: dict[str, Sender] = {
    AlertDelivery.Channel.WEBHOOK: _send_webhook,
    AlertDelivery.Channel.EMAIL: _send_email,
}


def retry_now(delivery: AlertDelivery) -> bool:
    """A failed delivery back to pending with fresh attempts (the deliveries page's button)."""
    updated = AlertDelivery.objects.filter(
        pk=delivery.pk, status=AlertDelivery.Status.FAILED
    ).update(status=AlertDelivery.Status.PENDING, attempts=0, next_attempt_at=None)
    if updated:
        enqueue([delivery.pk])
    return bool(updated)
