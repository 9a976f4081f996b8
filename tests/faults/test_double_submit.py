"""An action submitted twice at the same moment — the same POST from two threads, each with its
own database connection, as two browser tabs or a double click through a slow proxy would — has
its effect once: one event for a state change, one comment, one release of a held order and one
send of it to the warehouse. The second submit gets a clear, harmless answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.contrib.messages import get_messages
from django.db import connections
from django.test import Client
from django.urls import reverse

import connectors.simulators.whistl  # noqa: F401 - registers the "whistl" simulator
from connectors.models import Connection
from connectors.simulators import start_simulator
from exceptions.models import ExceptionEvent, ExceptionRecord
from integration import held_orders, outbox
from integration.models import OrderRelease
from reconciliation.runs import reconcile_bundle_object
from tests.faults.conftest import POSTGRES_ONLY
from tests.integration.conftest import NO_PHONE, demo_bundle  # noqa: F401

pytestmark = [POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]


def at_once(user: AbstractUser, url: str, data: dict[str, str], times: int = 2) -> list[Any]:
    """POST `data` to `url` from `times` threads released together; their responses."""
    barrier = threading.Barrier(times)
    answers: list[Any] = [None] * times

    def submit(n: int) -> None:
        try:
            client = Client()
            client.force_login(user)
            barrier.wait(10)
            answers[n] = client.post(url, data)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def said(answer: Any) -> list[str]:
    return [str(message) for message in get_messages(answer.wsgi_request)]


@pytest.fixture
def exception() -> ExceptionRecord:
    return ExceptionRecord.objects.create(
        rule="ORDER_NOT_IN_ERP",
        key="SO-1",
        owner="office",
        team="ecommerce",
        priority="P2",
        score=50.0,
        summary="An order is not in the ERP",
        details={},
        roles=["store", "erp"],
    )


@pytest.mark.parametrize(
    ("action", "data", "kind", "done", "already"),
    [
        (
            "acknowledge",
            {},
            "acknowledged",
            "You acknowledged ORDER_NOT_IN_ERP SO-1.",
            "ORDER_NOT_IN_ERP SO-1 was already acknowledged: nothing changed.",
        ),
        (
            "resolve",
            {"reason": "fixed_in_erp", "note": ""},
            "resolved",
            "You closed ORDER_NOT_IN_ERP SO-1.",
            "ORDER_NOT_IN_ERP SO-1 was already closed: nothing changed.",
        ),
        (
            "comment",
            {"text": "Chased the warehouse"},
            "commented",
            "Your comment on ORDER_NOT_IN_ERP SO-1 was added.",
            "That comment is already on ORDER_NOT_IN_ERP SO-1: nothing added.",
        ),
    ],
)
def test_an_action_posted_twice_at_once_happens_once(
    cx_user: AbstractUser,
    exception: ExceptionRecord,
    action: str,
    data: dict[str, str],
    kind: str,
    done: str,
    already: str,
) -> None:
    url = reverse("exceptions:act", args=[exception.pk, action])

    answers = at_once(cx_user, url, data, times=3)

    assert [answer.status_code for answer in answers] == [302, 302, 302]
    assert sorted(message for answer in answers for message in said(answer)) == sorted(
        [done, already, already]
    )
    assert ExceptionEvent.objects.filter(exception=exception, kind=kind).count() == 1
    assert ExceptionEvent.objects.filter(exception=exception).count() == 1


def test_a_held_order_released_twice_at_once_is_released_and_sent_once(
    cx_user: AbstractUser,
    demo_bundle: Any,  # noqa: F811
) -> None:
    reconcile_bundle_object(demo_bundle, source="bundle", source_name="demo")
    whistl = start_simulator("whistl", demo_bundle)
    try:
        connection = Connection(name="Whistl", kind="whistl", role="wms", base_url=whistl.url)
        connection.set_credentials({"client_id": "sim-client", "client_secret": "sim-secret"})
        connection.save()
        held = held_orders.held_order(NO_PHONE)
        form = {**held_orders.delivery_of(held), "ship_phone": "07700 900123", "note": ""}
        held_before = ExceptionRecord.objects.filter(key=NO_PHONE, status="open").count()

        answers = at_once(cx_user, f"/held/order/{NO_PHONE}", form)

        assert [answer.status_code for answer in answers] == [302, 302]
        messages = sorted(message for answer in answers for message in said(answer))
        assert messages == [
            f"Order {NO_PHONE} released to the warehouse ({held_before} exception(s) resolved).",
            f"Order {NO_PHONE} was already released by cass (Queued)",
        ]
        release = OrderRelease.objects.get()
        assert ExceptionRecord.objects.filter(key=NO_PHONE, status="open").count() == 0

        # The send task delivered twice at once (a redelivery racing the first worker, or
        # "send again" during a send): the warehouse is called once.
        whistl.set_faults(latency=0.5)
        sends = run_together(lambda: outbox.send(release.pk), times=2)
        release.refresh_from_db()
        assert (release.status, release.attempts) == ("sent", 1)
        assert len(whistl.app.pushed) == 1
        posts = [entry for entry in whistl.log if entry[1:3] == ("POST", "/v1/orders")]
        assert len(posts) == 1
        assert sorted(sent.pk for sent in sends) == [release.pk, release.pk]
    finally:
        whistl.stop()


def run_together(target: Callable[[], Any], times: int) -> list[Any]:
    barrier = threading.Barrier(times)
    results: list[Any] = [None] * times

    def work(n: int) -> None:
        try:
            barrier.wait(10)
            results[n] = target()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
