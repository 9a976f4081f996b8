"""A released order is sent to the warehouse through the Whistl connector (its simulator over
loopback HTTP) with the release's idempotency key; a failed send is recorded and can be retried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client

import connectors.simulators.whistl  # noqa: F401 - registers the "whistl" simulator
from connectors.models import Connection
from connectors.simulators import Simulator, start_simulator
from integration import held_orders, outbox, releases
from integration.models import OrderRelease
from reconciliation.frames import Bundle
from reconciliation.models import ReconciliationRun
from tests.integration.conftest import NO_PHONE

pytestmark = pytest.mark.django_db


@pytest.fixture
def whistl(demo_bundle: Bundle) -> Iterator[Simulator]:
    handle = start_simulator("whistl", demo_bundle)
    yield handle
    handle.stop()


@pytest.fixture
def connection(whistl: Simulator) -> Connection:
    made = Connection(name="Whistl", kind="whistl", role="wms", base_url=whistl.url)
    made.set_credentials({"client_id": "sim-client", "client_secret": "sim-secret"})
    made.save()
    return made


def release(user: AbstractUser, tasks_inline: Any) -> OrderRelease:
    details = held_orders.delivery_of(held_orders.held_order(NO_PHONE))
    with tasks_inline():
        made = releases.release_order(user, NO_PHONE, {**details, "ship_phone": "07700 900123"})
    made.refresh_from_db()
    return made


def test_a_release_is_pushed_to_whistl_once(
    cx_user: AbstractUser,
    demo_run: ReconciliationRun,
    connection: Connection,
    whistl: Simulator,
    tasks_inline: Any,
) -> None:
    sent = release(cx_user, tasks_inline)

    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, "")
    assert sent.warehouse_ref.startswith("WH9")
    assert sent.sent_at is not None
    [pushed] = whistl.app.pushed
    assert pushed["client_reference"] == sent.order_ref == "SO5800272"
    assert [line["sku"] for line in pushed["lines"]] == ["WFJ106"]
    # The task delivered again (a worker died after sending): nothing is sent twice.
    assert outbox.send(sent.pk).status == "sent"
    assert len(whistl.app.pushed) == 1


def test_a_failed_send_is_recorded_and_sent_again_with_the_same_key(
    client: Client,
    cx_user: AbstractUser,
    demo_run: ReconciliationRun,
    connection: Connection,
    whistl: Simulator,
    tasks_inline: Any,
) -> None:
    whistl.set_faults(expired_credentials=True)
    failed = release(cx_user, tasks_inline)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error.startswith("permanent failure:")
    assert whistl.app.pushed == []
    client.force_login(cx_user)
    page = client.get(f"/held/order/{NO_PHONE}").content.decode()
    assert "Send again</button>" in page

    whistl.reset()
    with tasks_inline():
        answer = client.post(f"/held/releases/{failed.pk}/send-again/")

    assert answer.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 2, "")
    assert len(whistl.app.pushed) == 1
    # Sent: a second "send again" is refused and sends nothing.
    again = client.post(f"/held/releases/{failed.pk}/send-again/", follow=True)
    assert "only a failed one is resent" in again.content.decode()
    assert len(whistl.app.pushed) == 1


def test_send_again_is_for_release_holders_and_404_for_a_forged_id(
    client: Client,
    cx_user: AbstractUser,
    finance_user: AbstractUser,
    demo_run: ReconciliationRun,
    connection: Connection,
    whistl: Simulator,
    tasks_inline: Any,
) -> None:
    whistl.set_faults(expired_credentials=True)
    failed = release(cx_user, tasks_inline)
    client.force_login(finance_user)
    assert client.post(f"/held/releases/{failed.pk}/send-again/").status_code == 403
    client.force_login(cx_user)
    assert client.post("/held/releases/999999/send-again/").status_code == 404
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 1)
