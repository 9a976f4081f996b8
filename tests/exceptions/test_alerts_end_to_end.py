"""Alerts over real reconciliation runs: the demo world reconciled twice, alerts planned by the
sweep (as they are when a run's own hook was missed), sent to a loopback webhook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django_q.conf import Conf

from exceptions import tasks
from exceptions.alert_models import AlertDelivery, AlertRoute
from exceptions.models import ExceptionEvent
from reconciliation.demo import build_demo_bundle
from reconciliation.runs import reconcile_bundle_object
from tests.exceptions.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sync_tasks(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)
    settings.PARITY_ALERT_BATCH_LIMIT = 100


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def run_and_sweep(bundle: Any, capture: Any) -> Any:
    run, _ = reconcile_bundle_object(bundle, source="demo", source_name="alerts test")
    with capture(execute=True):
        tasks.alert_sweep()
    return run


def test_two_runs_of_the_same_data_alert_each_opened_exception_once(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    AlertRoute.objects.create(name="P1 anywhere", min_priority="P1", webhook_url=receiver.url)
    bundle = build_demo_bundle(orders=300, as_of=datetime(2026, 11, 30, 18, tzinfo=UTC))

    first = run_and_sweep(bundle, django_capture_on_commit_callbacks)
    second = run_and_sweep(bundle, django_capture_on_commit_callbacks)

    opened_p1 = set(
        ExceptionEvent.objects.filter(
            run=first, kind="detected", exception__priority="P1"
        ).values_list("exception_id", flat=True)
    )
    assert len(opened_p1) > 0
    assert second.totals["opened"] == 0
    assert set(AlertDelivery.objects.values_list("exception_id", flat=True)) == opened_p1
    assert AlertDelivery.objects.count() == len(opened_p1)
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}
    assert len(receiver.requests) == len(opened_p1)


def test_a_failing_webhook_leaves_the_runs_complete(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.status = 500
    AlertRoute.objects.create(name="P1 anywhere", min_priority="P1", webhook_url=receiver.url)
    bundle = build_demo_bundle(orders=300, as_of=datetime(2026, 11, 30, 18, tzinfo=UTC))

    first = run_and_sweep(bundle, django_capture_on_commit_callbacks)
    second = run_and_sweep(bundle, django_capture_on_commit_callbacks)

    assert (first.status, second.status) == ("complete", "complete")
    deliveries = AlertDelivery.objects.all()
    assert {(d.status, d.attempts, d.response_code) for d in deliveries} == {("pending", 1, 500)}
