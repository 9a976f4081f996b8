"""The alert pages: Ops and Admin manage routes and see deliveries; everyone else gets 403 and
changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.core import mail
from django.test import Client
from django.urls import reverse

from exceptions.alert_models import AlertDelivery, AlertRoute
from tests.exceptions.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


def client_for(user: AbstractUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_route(**fields: Any) -> AlertRoute:
    return AlertRoute.objects.create(
        **{"name": "Warehouse urgent", "team": "warehouse", "emails": "wh@example.com", **fields}
    )


def test_ops_adds_a_route(ops_user: AbstractUser) -> None:
    client = client_for(ops_user)
    response = client.post(
        reverse("alerts:create"),
        {
            "name": "Finance P1",
            "team": "finance",
            "min_priority": "P1",
            "emails": "fin@example.com\nlead@example.com",
            "webhook_url": "https://hooks.example.com/services/T/B/secret",
            "digest": "on",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    route = AlertRoute.objects.get()
    assert (route.name, route.team, route.min_priority, route.digest, route.enabled) == (
        "Finance P1",
        "finance",
        "P1",
        True,
        True,
    )
    assert route.email_list == ["fin@example.com", "lead@example.com"]

    page = client.get(reverse("alerts:routes"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Finance P1" in html
    assert "hooks.example.com" in html
    assert "secret" not in html  # the list shows the webhook's host only


def test_a_bad_route_is_refused_with_a_clear_message(ops_user: AbstractUser) -> None:
    response = client_for(ops_user).post(
        reverse("alerts:create"),
        {
            "name": "Broken",
            "min_priority": "P2",
            "emails": "nope",
            "webhook_url": "ftp://files.example.com/hook",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not an email address: nope." in html
    assert "Enter an http:// or https:// URL." in html
    assert not AlertRoute.objects.exists()

    response = client_for(ops_user).post(
        reverse("alerts:create"), {"name": "Silent", "min_priority": "P2"}
    )
    assert "Route &#x27;Silent&#x27;: give email addresses, a webhook URL or both." in (
        response.content.decode()
    )
    assert not AlertRoute.objects.exists()


def test_admin_edits_and_deletes_a_route(admin_user: AbstractUser) -> None:
    route = make_route()
    client = client_for(admin_user)
    response = client.post(
        reverse("alerts:edit", args=[route.pk]),
        {"name": "Warehouse all", "team": "warehouse", "min_priority": "P4", "emails": "a@b.co"},
    )
    assert response.status_code == 302
    route.refresh_from_db()
    assert (route.name, route.min_priority, route.enabled) == ("Warehouse all", "P4", False)

    confirm = client.get(reverse("alerts:delete", args=[route.pk]))
    assert "Delete alert route “Warehouse all”?" in confirm.content.decode()
    assert AlertRoute.objects.exists()
    client.post(reverse("alerts:delete", args=[route.pk]))
    assert not AlertRoute.objects.exists()


@pytest.mark.parametrize("who", ["finance_user", "cx_user", "warehouse_user"])
def test_other_roles_get_403_and_change_nothing(who: str, request: pytest.FixtureRequest) -> None:
    route = make_route()
    delivery = AlertDelivery.objects.create(route=route, kind="digest", channel="email")
    AlertDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    client = client_for(request.getfixturevalue(who))

    for name, args in [
        ("alerts:routes", []),
        ("alerts:create", []),
        ("alerts:edit", [route.pk]),
        ("alerts:delete", [route.pk]),
        ("alerts:deliveries", []),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403, name
    posts = [
        ("alerts:create", [], {"name": "X", "min_priority": "P1", "emails": "x@y.co"}),
        ("alerts:edit", [route.pk], {"name": "X", "min_priority": "P4", "emails": "x@y.co"}),
        ("alerts:delete", [route.pk], {}),
        ("alerts:test", [route.pk], {}),
        ("alerts:retry", [delivery.pk], {}),
    ]
    for name, args, data in posts:
        assert client.post(reverse(name, args=args), data).status_code == 403, name

    assert list(AlertRoute.objects.values_list("name", "min_priority")) == [
        ("Warehouse urgent", "P2")
    ]
    assert AlertDelivery.objects.get().status == "failed"
    assert mail.outbox == []


def test_the_nav_shows_alerts_to_ops_only(
    ops_user: AbstractUser, finance_user: AbstractUser
) -> None:
    link = f'href="{reverse("alerts:routes")}"'
    assert link in client_for(ops_user).get(reverse("exceptions:queue")).content.decode()
    assert link not in client_for(finance_user).get(reverse("exceptions:queue")).content.decode()


def test_a_forged_id_is_404(ops_user: AbstractUser) -> None:
    client = client_for(ops_user)
    assert client.get(reverse("alerts:edit", args=[999])).status_code == 404
    assert client.post(reverse("alerts:delete", args=[999])).status_code == 404
    assert client.post(reverse("alerts:retry", args=[999])).status_code == 404


def test_changes_need_a_post_with_csrf(ops_user: AbstractUser) -> None:
    route = make_route()
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_user)
    assert client.post(reverse("alerts:delete", args=[route.pk])).status_code == 403
    assert client.get(reverse("alerts:test", args=[route.pk])).status_code == 405
    assert AlertRoute.objects.filter(pk=route.pk).exists()


def test_sending_a_test_message_reports_each_channel(
    ops_user: AbstractUser, receiver: Receiver
) -> None:
    route = make_route(webhook_url=receiver.url)
    response = client_for(ops_user).post(reverse("alerts:test", args=[route.pk]), follow=True)
    html = response.content.decode()
    assert "Route “Warehouse urgent”: webhook answered HTTP 200." in html
    assert "Route “Warehouse urgent”: email sent to wh@example.com." in html
    assert receiver.texts == [
        "Test alert from Parity for the route “Warehouse urgent”: alerts will arrive here."
    ]
    assert mail.outbox[0].to == ["wh@example.com"]
    assert not AlertDelivery.objects.exists()

    receiver.status = 404
    response = client_for(ops_user).post(reverse("alerts:test", args=[route.pk]), follow=True)
    assert "webhook failed: HTTP 404: receiver says no." in response.content.decode()


def test_deliveries_are_listed_filtered_and_a_failed_one_tried_again(
    ops_user: AbstractUser,
    make_exception: Any,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    route = make_route()
    other = make_route(name="Finance", team="finance")
    record = make_exception(key="SO-42")
    sent = AlertDelivery.objects.create(
        route=route, kind="opened", channel="email", exception=record
    )
    AlertDelivery.objects.filter(pk=sent.pk).update(status="sent", attempts=1)
    failed = AlertDelivery.objects.create(route=other, kind="digest", channel="email")
    AlertDelivery.objects.filter(pk=failed.pk).update(
        status="failed", attempts=4, last_error="SMTPServerDisconnected: gone"
    )
    client = client_for(ops_user)

    with django_assert_max_num_queries(8):
        html = client.get(reverse("alerts:deliveries")).content.decode()
    assert "ORDER_NOT_IN_ERP SO-42" in html
    assert "SMTPServerDisconnected: gone" in html
    html = client.get(reverse("alerts:deliveries"), {"status": "failed"}).content.decode()
    assert "SMTPServerDisconnected: gone" in html
    assert "SO-42" not in html

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("alerts:retry", args=[failed.pk]), follow=True)
    assert f"Delivery {failed.pk} to “Finance” queued again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert len(queued) == 1

    response = client.post(reverse("alerts:retry", args=[sent.pk]), follow=True)
    assert "only a failed delivery can be tried again" in response.content.decode()
    sent.refresh_from_db()
    assert sent.status == "sent"
