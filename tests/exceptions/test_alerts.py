"""Alerts end to end: a reconciliation run → planned deliveries → django-q2 tasks (sync) → a real
webhook receiver on loopback and Django's mail outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Failure

from exceptions import alerts, tasks
from exceptions.alert_models import AlertDelivery, AlertRoute, AlertRunPlan
from exceptions.models import ExceptionRecord
from exceptions.sync import record_exceptions
from reconciliation.models import ReconciliationRun
from tests.exceptions.conftest import T0, found_frame, found_row
from tests.exceptions.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.django_db

Reconcile = Callable[..., ReconciliationRun]


@pytest.fixture(autouse=True)
def sync_tasks(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tasks run in-process: this is about alerts, not the cluster (tested in tests/connectors).
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.PARITY_BASE_URL = "https://parity.example"
    settings.PARITY_ALERT_MAX_ATTEMPTS = 3
    settings.PARITY_ALERT_BACKOFF_SECONDS = 60
    settings.PARITY_ALERT_BATCH_LIMIT = 20
    settings.PARITY_ALERT_WEBHOOK_TIMEOUT = 5.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def reconcile(django_capture_on_commit_callbacks: Any) -> Reconcile:
    """reconcile(row, ...) -> a complete run that found these rows, then its alerts hook, with
    on-commit callbacks (the task enqueues) executed as a real commit would."""
    minutes = iter(range(0, 10_000, 60))

    def run(*rows: dict[str, Any]) -> ReconciliationRun:
        with django_capture_on_commit_callbacks(execute=True):
            recon = ReconciliationRun.begin(source="test")
            totals = record_exceptions(
                recon, found_frame(*rows), now=T0 + timedelta(minutes=next(minutes))
            )
            recon.complete(totals=totals)
            alerts.queue_run_alerts(recon.pk)
        recon.refresh_from_db()
        return recon

    return run


def route(**fields: Any) -> AlertRoute:
    values = {"name": "All urgent", "min_priority": "P2", **fields}
    return AlertRoute.objects.create(**values)


def deliveries(**filters: Any) -> list[tuple[str, str, str, str | None, int]]:
    return [
        (d.route.name, d.kind, d.channel, d.exception.key if d.exception else None, d.attempts)
        for d in AlertDelivery.objects.filter(**filters)
        .select_related("route", "exception")
        .order_by("route__name", "exception__key", "channel", "id")
    ]


def test_an_opened_exception_alerts_once_across_two_runs_of_the_same_data(
    reconcile: Reconcile, receiver: Receiver
) -> None:
    route(webhook_url=receiver.url)
    rows = [
        found_row(key="W1", priority="P1", summary="Order W1 is not in the ERP"),
        found_row(key="W2", priority="P2"),
        found_row(key="W3", priority="P3"),  # below the route's minimum
    ]

    first = reconcile(*rows)
    second = reconcile(*rows)

    assert first.status == second.status == "complete"
    assert deliveries(status="sent") == [
        ("All urgent", "opened", "webhook", "W1", 1),
        ("All urgent", "opened", "webhook", "W2", 1),
    ]
    assert AlertDelivery.objects.count() == 2
    assert len(receiver.requests) == 2
    assert {request["path"] for request in receiver.requests} == {"/hooks/T000/B000/secret"}
    assert receiver.requests[0]["content_type"] == "application/json"
    w1 = next(body for body in receiver.bodies if "W1" in body["text"])
    record = ExceptionRecord.objects.get(key="W1")
    assert w1 == {
        "text": (
            "P1 ORDER_NOT_IN_ERP W1 opened: Order W1 is not in the ERP\n"
            "team E-commerce · owner Office · status Open · seen 1×\n"
            f"https://parity.example/exceptions/{record.pk}/"
        ),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*P1 ORDER_NOT_IN_ERP W1* opened\nOrder W1 is not in the ERP\n"
                    f"<https://parity.example/exceptions/{record.pk}/|Open in Parity>",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "team E-commerce · owner Office · status Open · seen 1×",
                    }
                ],
            },
        ],
    }
    assert AlertRunPlan.objects.get(run=first).deliveries == 2
    assert AlertRunPlan.objects.get(run=second).deliveries == 0


def test_an_escalation_alerts_once_and_a_reopen_counts_as_opened(
    reconcile: Reconcile, receiver: Receiver
) -> None:
    route(webhook_url=receiver.url)
    reconcile(found_row(key="W1", priority="P3"))  # below the minimum: nothing
    reconcile(found_row(key="W1", priority="P1"))  # P3 → P1: escalated
    reconcile(found_row(key="W1", priority="P1"))  # the same again: nothing
    reconcile()  # gone: auto-resolved, nothing
    reconcile(found_row(key="W1", priority="P1"))  # back: reopened

    assert deliveries() == [
        ("All urgent", "escalated", "webhook", "W1", 1),
        ("All urgent", "opened", "webhook", "W1", 1),
    ]
    assert [text.splitlines()[0] for text in receiver.texts] == [
        "P1 ORDER_NOT_IN_ERP W1 escalated P3 → P1: Order W1 is not in the ERP",
        "P1 ORDER_NOT_IN_ERP W1 reopened: Order W1 is not in the ERP",
    ]


def test_routes_match_on_team_and_minimum_priority(
    reconcile: Reconcile, receiver: Receiver
) -> None:
    route(name="Warehouse P1", team="warehouse", min_priority="P1", webhook_url=receiver.url)
    route(name="Everyone to P3", min_priority="P3", emails="ops@example.com")
    route(name="Switched off", enabled=False, webhook_url=receiver.url)

    reconcile(
        found_row(key="W1", team="warehouse", owner="warehouse", priority="P1"),
        found_row(key="W2", team="warehouse", owner="warehouse", priority="P2"),
        found_row(key="W3", team="finance", priority="P1"),
        found_row(key="W4", team="finance", priority="P4"),
    )

    assert deliveries() == [
        ("Everyone to P3", "opened", "email", "W1", 1),
        ("Everyone to P3", "opened", "email", "W2", 1),
        ("Everyone to P3", "opened", "email", "W3", 1),
        ("Warehouse P1", "opened", "webhook", "W1", 1),
    ]
    assert len(receiver.requests) == 1


def test_a_route_follows_the_team_a_person_assigned_the_exception_to(
    reconcile: Reconcile, receiver: Receiver
) -> None:
    route(name="Finance", team="finance", min_priority="P1", webhook_url=receiver.url)
    reconcile(found_row(key="W1", team="warehouse", priority="P3"))
    ExceptionRecord.objects.filter(key="W1").update(assigned_team="finance")
    reconcile(found_row(key="W1", team="warehouse", priority="P1"))

    assert deliveries() == [("Finance", "escalated", "webhook", "W1", 1)]


def test_email_goes_to_every_address_of_the_route(reconcile: Reconcile) -> None:
    route(emails="ops@example.com,\n lead@example.com; ops@example.com")

    reconcile(found_row(key="SO-1", priority="P1", summary="Order SO-1 is not in the ERP"))

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com", "lead@example.com"]
    assert message.subject == "[Parity] P1 ORDER_NOT_IN_ERP SO-1 opened"
    record = ExceptionRecord.objects.get(key="SO-1")
    assert message.body == (
        "P1 ORDER_NOT_IN_ERP SO-1 opened: Order SO-1 is not in the ERP\n"
        "team E-commerce · owner Office · status Open · seen 1×\n"
        f"https://parity.example/exceptions/{record.pk}/"
    )
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.channel, delivery.response_code) == ("sent", "email", None)
    assert delivery.text == message.body


def test_a_failing_webhook_is_retried_then_failed_and_the_run_completes(
    settings: Any, reconcile: Reconcile, receiver: Receiver
) -> None:
    receiver.status = 500
    route(webhook_url=receiver.url)

    run = reconcile(found_row(key="W1", priority="P1"))

    assert run.status == "complete"
    assert run.totals["opened"] == 1
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500: receiver says no"
    first_try = delivery.log[0]["at"]
    assert delivery.next_attempt_at == _at(first_try) + timedelta(seconds=60)

    # Not due before the backoff: the sweep leaves it alone.
    assert alerts.due_deliveries(now=_at(first_try) + timedelta(seconds=59)) == []
    assert alerts.deliver(delivery.pk, now=_at(first_try) + timedelta(seconds=59)) is None

    second = alerts.deliver(delivery.pk, now=_at(first_try) + timedelta(seconds=60))
    assert (second.status, second.attempts) == ("pending", 2)
    delivery.refresh_from_db()
    # The backoff doubles: 60 s, then 120 s.
    assert delivery.next_attempt_at == _at(first_try) + timedelta(seconds=180)

    third = alerts.deliver(delivery.pk, now=_at(first_try) + timedelta(seconds=180))
    assert (third.status, third.attempts) == ("failed", 3)
    assert alerts.deliver(delivery.pk, now=_at(first_try) + timedelta(days=1)) is None

    delivery.refresh_from_db()
    assert [(entry["ok"], entry["code"]) for entry in delivery.log] == [(False, 500)] * 3
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 3
    assert not Failure.objects.exists()  # the task itself never crashed


def test_the_sweep_sends_the_retries_that_are_due(
    settings: Any,
    reconcile: Reconcile,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.PARITY_ALERT_BACKOFF_SECONDS = 0  # due again at once
    receiver.status = 503
    route(webhook_url=receiver.url)
    reconcile(found_row(key="W1", priority="P1"))

    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.alert_sweep() == "queued 1 due deliveries; planned no runs"

    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("sent", 2, 200)
    assert [entry["code"] for entry in delivery.log] == [503, 200]
    assert delivery.last_error == ""
    assert len(receiver.requests) == 2


def test_a_4xx_answer_is_permanent_and_not_retried(
    reconcile: Reconcile, receiver: Receiver
) -> None:
    receiver.status = 404
    route(webhook_url=receiver.url)
    reconcile(found_row(key="W1", priority="P1"))

    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 404)
    assert len(receiver.requests) == 1


def test_a_webhook_that_does_not_answer_in_time_is_a_retryable_failure(
    settings: Any, reconcile: Reconcile, receiver: Receiver
) -> None:
    settings.PARITY_ALERT_WEBHOOK_TIMEOUT = 0.2
    receiver.delay = 1.0
    route(webhook_url=receiver.url)
    reconcile(found_row(key="W1", priority="P1"))

    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "no answer within 0.2s"


def test_an_unreachable_webhook_fails_without_its_secret_path_in_the_error(
    reconcile: Reconcile,
) -> None:
    route(webhook_url="http://127.0.0.1:9/hooks/T000/B000/secret")  # discard port: refused
    run = reconcile(found_row(key="W1", priority="P1"))

    assert run.status == "complete"
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error.startswith("ConnectError")
    assert "secret" not in delivery.last_error


def test_a_redelivered_send_task_sends_nothing_twice(
    reconcile: Reconcile, receiver: Receiver
) -> None:
    route(webhook_url=receiver.url)
    reconcile(found_row(key="W1", priority="P1"))
    delivery = AlertDelivery.objects.get()

    assert tasks.send_alert(delivery.pk) == (
        f"delivery {delivery.pk}: not due (sent, failed or being sent)"
    )
    assert (
        tasks.plan_run_alerts(delivery.run_id)
        == f"run {delivery.run_id}: 0 alert deliveries queued"
    )
    assert len(receiver.requests) == 1


def test_a_run_opening_more_than_the_limit_sends_one_summary_per_channel(
    settings: Any, reconcile: Reconcile, receiver: Receiver
) -> None:
    settings.PARITY_ALERT_BATCH_LIMIT = 3
    route(webhook_url=receiver.url, emails="ops@example.com")
    rows = [found_row(key=f"W{n}", priority="P1", score=float(n)) for n in range(1, 6)]

    run = reconcile(*rows)

    assert deliveries() == [
        ("All urgent", "summary", "email", None, 1),
        ("All urgent", "summary", "webhook", None, 1),
    ]
    assert set(AlertDelivery.objects.values_list("count", flat=True)) == {5}
    lines = receiver.texts[0].splitlines()
    assert lines[0] == (
        f"Reconciliation run {run.pk} opened or escalated 5 exceptions for Every team "
        "at P2 or above"
    )
    # Most urgent first: priority, then score.
    assert [line.split(":")[0] for line in lines[1:6]] == [
        f"- P1 ORDER_NOT_IN_ERP W{n}" for n in (5, 4, 3, 2, 1)
    ]
    assert lines[-1] == "https://parity.example/exceptions/"
    assert mail.outbox[0].subject == "[Parity] 5 exceptions for Every team"


def test_a_run_still_running_is_not_planned_and_the_sweep_plans_missed_runs(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    route(webhook_url=receiver.url)
    run = ReconciliationRun.begin(source="test")
    record_exceptions(run, found_frame(found_row(key="W1", priority="P1")), now=T0)
    assert alerts.plan_run(run.pk) == []
    assert not AlertRunPlan.objects.exists()

    run.complete()  # … and nobody queued its alerts
    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.alert_sweep()

    assert summary == f"queued 0 due deliveries; planned run {run.pk} (1)"
    assert deliveries(status="sent") == [("All urgent", "opened", "webhook", "W1", 1)]
    assert alerts.unplanned_runs() == []


def test_planning_takes_the_same_queries_for_ten_exceptions_or_twenty(
    django_assert_num_queries: Any, receiver: Receiver
) -> None:
    route(webhook_url=receiver.url, emails="ops@example.com")
    route(name="Warehouse", team="warehouse", webhook_url=receiver.url)

    def planned(count: int, offset: int) -> int:
        run = ReconciliationRun.begin(source="test")
        rows = [found_row(key=f"W{offset + n}", priority="P1") for n in range(count)]
        record_exceptions(run, found_frame(*rows), now=T0)
        run.complete()
        # run; savepoint, savepoint, plan insert, release; routes; events per route (2);
        # deliveries insert; their ids; plan update; release
        with django_assert_num_queries(12):
            return len(alerts.plan_run(run.pk))

    assert planned(10, 0) == 20
    assert planned(20, 100) == 40


def test_a_daily_digest_per_team_says_where_the_queue_stands(
    make_exception: Callable[..., ExceptionRecord], receiver: Receiver
) -> None:
    now = timezone.now()
    route(name="Warehouse digest", team="warehouse", digest=True, emails="wh@example.com")
    route(name="No digest", team="warehouse", emails="other@example.com")
    old = {"team": "warehouse", "owner": "warehouse", "first_seen": now - timedelta(days=3)}
    make_exception(key="SKU-1", priority="P1", score=90, summary="Stock drift", **old)
    make_exception(key="SKU-2", priority="P3", score=80, summary="Small drift", **old)
    make_exception(key="SKU-4", priority="P2", status="snoozed", **old)
    make_exception(key="SKU-5", status="resolved", resolved_at=now, **old)
    new = {**old, "first_seen": now - timedelta(hours=1)}
    make_exception(key="SKU-3", priority="P2", status="acknowledged", **new)
    make_exception(key="X-1", priority="P1", team="finance")  # another team

    day = timezone.localdate(now)
    ids = alerts.plan_digests(day)
    assert len(ids) == 1
    assert alerts.plan_digests(day) == []  # once a day

    assert alerts.deliver(ids[0], now=now).status == "sent"
    message = mail.outbox[0]
    assert message.to == ["wh@example.com"]
    assert message.subject == f"[Parity] Daily digest for Warehouse, {day:%d %b %Y}"
    sku1 = ExceptionRecord.objects.get(key="SKU-1")
    sku3 = ExceptionRecord.objects.get(key="SKU-3")
    assert message.body.splitlines() == [
        f"Parity digest for Warehouse, {day:%a %d %b %Y}",
        "2 open, 1 acknowledged, 1 snoozed",
        "Open or acknowledged by priority: P1 1, P2 1, P3 1, P4 0",
        "1 new and 1 resolved in the last 24 hours",
        "Most urgent at P2 or above:",
        f"- P1 ORDER_NOT_IN_ERP SKU-1: Stock drift (https://parity.example/exceptions/{sku1.pk}/)",
        "- P2 ORDER_NOT_IN_ERP SKU-3: An order is not in the ERP "
        f"(https://parity.example/exceptions/{sku3.pk}/)",
        "https://parity.example/exceptions/",
    ]


def test_the_digest_task_queues_and_sends_todays_digests(receiver: Receiver) -> None:
    route(name="Ops", digest=True, webhook_url=receiver.url)
    assert tasks.send_digests() == "1 digest deliveries queued"
    # The enqueue waits for the commit, which this test's transaction never makes: send directly.
    delivery = AlertDelivery.objects.get()
    assert delivery.kind == "digest"
    assert delivery.digest_date == timezone.localdate()
    alerts.deliver(delivery.pk)
    assert receiver.bodies[0]["text"].startswith("Parity digest for Every team, ")


def test_a_failed_delivery_can_be_tried_again(
    settings: Any, reconcile: Reconcile, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.status = 410
    route(webhook_url=receiver.url)
    reconcile(found_row(key="W1", priority="P1"))
    delivery = AlertDelivery.objects.get()
    assert delivery.status == "failed"

    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.retry_now(delivery) is True
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(delivery.log)) == ("sent", 1, 2)
    assert alerts.retry_now(delivery) is False  # only failed ones


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"webhook_url": "ftp://example.com/hook"}, "Enter an http:// or https:// URL."),
        ({"webhook_url": "javascript:alert(1)"}, "Enter an http:// or https:// URL."),
        ({"emails": "ops@example.com, not-an-address"}, "Not an email address: not-an-address."),
        ({}, "Route 'R': give email addresses, a webhook URL or both."),
    ],
)
def test_a_route_refuses_bad_addresses(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AlertRoute(name="R", **fields).full_clean()
    assert message in str(caught.value)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
