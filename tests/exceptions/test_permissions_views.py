"""The matrix over HTTP: every action × role × owner is allowed (302 + changed), refused (403 +
nothing changed), or 404 for a forged id; changes are POST only with CSRF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions.models import ExceptionEvent, ExceptionRecord
from tests.exceptions.test_permissions_matrix import EXCEPTION_MATRIX

pytestmark = pytest.mark.django_db

ROLES = ("finance", "cx", "ops", "warehouse", "admin")


def form_for(action: str, people: dict[str, Any]) -> dict[str, Any]:
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    return {
        "acknowledge": {},
        "comment": {"text": "Looking into it"},
        "snooze": {"until": tomorrow},
        "resolve": {"reason": "fixed_in_erp", "note": ""},
        "reopen": {"note": "came back"},
        "assign": {"team": "cx", "person": people["cx"].pk},
    }[action]


@pytest.fixture
def cast(
    finance_user: Any, cx_user: Any, ops_user: Any, warehouse_user: Any, make_user: Any
) -> dict[str, Any]:
    return {
        "finance": finance_user,
        "cx": cx_user,
        "ops": ops_user,
        "warehouse": warehouse_user,
        "admin": make_user("adam", group="Admin"),
    }


def snapshot(exception: ExceptionRecord) -> tuple[dict[str, Any], int]:
    return (
        model_to_dict(ExceptionRecord.objects.get(pk=exception.pk)),
        ExceptionEvent.objects.filter(exception=exception).count(),
    )


ACTIONS = sorted(set(EXCEPTION_MATRIX) - {"view"})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("owner", ["office", "warehouse"])
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_for_every_role_and_side(
    client: Client,
    cast: dict[str, Any],
    make_exception: Callable[..., ExceptionRecord],
    action: str,
    owner: str,
    role: str,
) -> None:
    status = "resolved" if action == "reopen" else "open"
    exception = make_exception(owner=owner, status=status)
    client.force_login(cast[role])
    before = snapshot(exception)

    response = client.post(
        reverse("exceptions:act", args=[exception.pk, action]), form_for(action, cast)
    )

    if role in EXCEPTION_MATRIX[action][owner]:
        assert response.status_code == 302
        assert response.url == exception.get_absolute_url()
        event = ExceptionEvent.objects.get(exception=exception)
        assert (event.actor, event.kind) == (
            cast[role],
            {"acknowledge": "acknowledged", "comment": "commented", "snooze": "snoozed"}.get(
                action,
                {"resolve": "resolved", "reopen": "reopened", "assign": "assigned"}.get(action),
            ),
        )
    else:
        assert response.status_code == 403
        assert snapshot(exception) == before


@pytest.mark.parametrize("action", [*ACTIONS, "unsnooze"])
def test_a_forged_id_is_404_and_changes_nothing(
    client: Client,
    cast: dict[str, Any],
    make_exception: Callable[..., ExceptionRecord],
    action: str,
) -> None:
    exception = make_exception()
    client.force_login(cast["admin"])

    response = client.post(
        reverse("exceptions:act", args=[exception.pk + 1000, action]),
        form_for(action, cast) if action != "unsnooze" else {},
    )

    assert response.status_code == 404
    assert not ExceptionEvent.objects.exists()


def test_an_unknown_action_is_404(
    client: Client, ops_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    exception = make_exception()
    client.force_login(ops_user)
    assert client.post(reverse("exceptions:act", args=[exception.pk, "delete"])).status_code == 404


@pytest.mark.parametrize("action", ACTIONS)
def test_get_changes_nothing(
    client: Client, ops_user: Any, make_exception: Callable[..., ExceptionRecord], action: str
) -> None:
    exception = make_exception()
    client.force_login(ops_user)
    before = snapshot(exception)

    response = client.get(reverse("exceptions:act", args=[exception.pk, action]))

    assert response.status_code == 405
    assert snapshot(exception) == before


def test_a_post_without_csrf_is_refused(
    ops_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    exception = make_exception()
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_user)

    response = client.post(reverse("exceptions:act", args=[exception.pk, "acknowledge"]))

    assert response.status_code == 403
    assert ExceptionRecord.objects.get().status == "open"


def test_signed_out_posts_go_to_login_and_change_nothing(
    client: Client, make_exception: Callable[..., ExceptionRecord]
) -> None:
    exception = make_exception()
    response = client.post(reverse("exceptions:act", args=[exception.pk, "acknowledge"]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert ExceptionRecord.objects.get().status == "open"


def test_someone_without_a_role_cannot_see_an_exception(
    client: Client, make_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    exception = make_exception()
    client.force_login(make_user("loner"))
    assert client.get(exception.get_absolute_url()).status_code == 403
    assert client.get(reverse("exceptions:export")).status_code == 403
