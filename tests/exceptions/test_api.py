"""The JSON API: token (and session) auth, the queue's filters, keyset pages, one exception with
its events, and the actions through exceptions/actions.py under the permission matrix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exceptions.models import ExceptionEvent, ExceptionRecord

pytestmark = pytest.mark.django_db

Make = Callable[..., ExceptionRecord]


def api(user: AbstractUser | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def list_url(**params: Any) -> str:
    query = urlencode(params, doseq=True)
    return reverse("api:exceptions") + (f"?{query}" if query else "")


def action_url(name: str, record: ExceptionRecord | int) -> str:
    pk = record if isinstance(record, int) else record.pk
    return reverse(f"api:{name}", args=[pk])


def state(record: ExceptionRecord) -> tuple[Any, ...]:
    record.refresh_from_db()
    return (
        record.status,
        record.assigned_team,
        record.assignee_id,
        record.snoozed_until,
        record.resolution,
        record.events.count(),
    )


# --- authentication ----------------------------------------------------------------------------


def test_every_endpoint_answers_401_without_a_token(make_exception: Make) -> None:
    record = make_exception()
    client = api()
    for url in [list_url(), reverse("api:exception", args=[record.pk])]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    for name in ["acknowledge", "assign", "comment", "snooze", "resolve", "reopen"]:
        assert client.post(action_url(name, record), {}, format="json").status_code == 401
    assert state(record) == ("open", None, None, None, "", 0)


def test_a_wrong_token_is_401(make_exception: Make) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = client.get(list_url())
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_browser_session_works_for_reading_and_needs_csrf_for_changes(
    ops_user: AbstractUser, make_exception: Make
) -> None:
    record = make_exception()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(ops_user)
    assert client.get(list_url()).status_code == 200
    response = client.post(action_url("acknowledge", record))
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert state(record) == ("open", None, None, None, "", 0)


def test_a_user_without_a_role_may_not_see_exceptions(
    make_user: Callable[..., AbstractUser], make_exception: Make
) -> None:
    record = make_exception()
    nobody = make_user("nobody")
    response = api(nobody).get(list_url())
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not see exceptions."}
    assert api(nobody).get(reverse("api:exception", args=[record.pk])).status_code == 403


def test_the_api_token_command_makes_resets_and_revokes_a_token(
    ops_user: AbstractUser, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("api_token", "otto")
    first = capsys.readouterr().out.strip()
    assert Token.objects.get(user=ops_user).key == first
    call_command("api_token", "otto")
    assert capsys.readouterr().out.strip() == first  # the same token again
    call_command("api_token", "otto", "--reset")
    second = capsys.readouterr().out.strip()
    assert second != first
    assert Token.objects.get(user=ops_user).key == second
    call_command("api_token", "otto", "--revoke")
    assert capsys.readouterr().out.strip() == "Token of otto revoked."
    assert not Token.objects.filter(user=ops_user).exists()


# --- listing -----------------------------------------------------------------------------------


@pytest.fixture
def mix(make_exception: Make, ops_user: AbstractUser) -> dict[str, ExceptionRecord]:
    """Six exceptions across owners, teams, rules, priorities, statuses, systems and ages."""
    now = timezone.now()

    def ago(**delta: float) -> dict[str, Any]:
        return {"first_seen": now - timedelta(**delta), "last_seen": now}

    made = {
        "a": make_exception(
            key="SO-1001", priority="P1", score=90, assignee=ops_user, **ago(hours=2)
        ),
        "b": make_exception(
            key="SO-1002", priority="P2", score=80, status="acknowledged", **ago(days=2)
        ),
        "c": make_exception(
            rule="STOCK_DRIFT",
            key="SKU-RED",
            owner="warehouse",
            team="warehouse",
            priority="P2",
            score=70,
            roles=["erp", "wms"],
            **ago(days=40),
        ),
        "d": make_exception(
            rule="STOCK_DRIFT",
            key="SKU-BLUE",
            owner="warehouse",
            team="warehouse",
            priority="P3",
            score=60,
            status="snoozed",
            snoozed_until=now + timedelta(days=1),
            roles=["erp", "wms"],
            **ago(hours=1),
        ),
        "e": make_exception(key="SO-2001", priority="P4", score=50, team="finance", **ago(days=8)),
        "f": make_exception(
            key="SO-3001", priority="P1", score=40, status="resolved", **ago(days=1)
        ),
    }
    # Handed to Ops: its queue team is now ops.
    ExceptionRecord.objects.filter(pk=made["a"].pk).update(assigned_team="ops")
    return made


def keys(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["key"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # No team: every team (the queue page would start on the user's); no status: the
        # working queue (open, acknowledged, snoozes that ended); by score.
        ({}, ["SO-1001", "SO-1002", "SKU-RED", "SO-2001"]),
        ({"team": "ops"}, ["SO-1001"]),  # the queue team: assigned, else the engine's
        ({"team": "ecommerce"}, ["SO-1002"]),
        ({"team": "finance"}, ["SO-2001"]),
        ({"owner": "warehouse"}, ["SKU-RED"]),
        ({"owner": "office"}, ["SO-1001", "SO-1002", "SO-2001"]),
        ({"rule": "stock_drift", "status": ["open", "snoozed"]}, ["SKU-RED", "SKU-BLUE"]),
        ({"priority": "P1"}, ["SO-1001"]),
        ({"status": "resolved"}, ["SO-3001"]),
        ({"status": ["acknowledged", "snoozed"]}, ["SO-1002", "SKU-BLUE"]),
        ({"system": "wms"}, ["SKU-RED"]),
        ({"system": "store"}, ["SO-1001", "SO-1002", "SO-2001"]),
        ({"assignee": "me"}, ["SO-1001"]),
        ({"assignee": "none"}, ["SO-1002", "SKU-RED", "SO-2001"]),
        ({"age": "1d"}, ["SO-1002", "SKU-RED", "SO-2001"]),
        ({"age": "7d"}, ["SKU-RED", "SO-2001"]),
        ({"age": "30d"}, ["SKU-RED"]),
        ({"age": "sla"}, ["SO-1002", "SKU-RED", "SO-2001"]),  # P2 > 24 h, P4 > 7 days
        ({"q": "so-100"}, ["SO-1001", "SO-1002"]),
        ({"q": "SKU", "status": ["open", "snoozed"]}, ["SKU-RED", "SKU-BLUE"]),
        ({"owner": "office", "age": "1d", "priority": "P2"}, ["SO-1002"]),
        ({"ordering": "priority"}, ["SO-1001", "SO-1002", "SKU-RED", "SO-2001"]),
        ({"ordering": "first_seen"}, ["SKU-RED", "SO-2001", "SO-1002", "SO-1001"]),
        ({"ordering": "-first_seen"}, ["SO-1001", "SO-1002", "SO-2001", "SKU-RED"]),
    ],
)
def test_the_list_takes_the_queues_filters(
    ops_user: AbstractUser,
    mix: dict[str, ExceptionRecord],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert keys(api(ops_user).get(list_url(**params))) == expected


def test_the_assignee_filter_takes_a_person_by_id(
    ops_user: AbstractUser, warehouse_user: AbstractUser, mix: dict[str, ExceptionRecord]
) -> None:
    client = api(warehouse_user)
    assert keys(client.get(list_url(assignee=ops_user.pk))) == ["SO-1001"]
    assert keys(client.get(list_url(assignee="me"))) == []


def test_an_invalid_filter_is_400_with_the_reason(
    ops_user: AbstractUser, mix: dict[str, ExceptionRecord]
) -> None:
    response = api(ops_user).get(list_url(priority="P9"))
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Some filters are not valid."
    assert body["errors"] == {
        "priority": ["Select a valid choice. P9 is not one of the available choices."]
    }
    assert api(ops_user).get(list_url(ordering="key")).json() == {
        "detail": "ordering must be one of -score, priority, -first_seen, first_seen, -last_seen; "
        "got 'key'."
    }
    assert api(ops_user).get(list_url(limit="0")).status_code == 400
    assert api(ops_user).get(list_url(limit="500")).status_code == 400
    response = api(ops_user).get(list_url(after="not-a-cursor"))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The page cursor is not valid for ordering -score")


def test_a_row_says_everything_a_tool_needs(ops_user: AbstractUser, make_exception: Make) -> None:
    seen = timezone.now() - timedelta(hours=5)
    record = make_exception(
        key="SO-9", priority="P1", score=12.5, first_seen=seen, last_seen=seen, assignee=ops_user
    )
    ExceptionRecord.objects.filter(pk=record.pk).update(assigned_team="ops")
    row = api(ops_user).get(list_url()).json()["results"][0]
    local = serializers.DateTimeField().to_representation  # ISO 8601, local time, Z for UTC
    assert row == {
        "id": record.pk,
        "url": f"http://testserver/api/v1/exceptions/{record.pk}/",
        "web_url": f"http://testserver/exceptions/{record.pk}/",
        "rule": "ORDER_NOT_IN_ERP",
        "key": "SO-9",
        "owner": "office",
        "team": "ecommerce",
        "queue_team": "ops",
        "assigned_team": "ops",
        "assignee": {"id": ops_user.pk, "username": "otto"},
        "priority": "P1",
        "score": 12.5,
        "status": "open",
        "summary": "An order is not in the ERP",
        "roles": ["store", "erp"],
        "snoozed_until": None,
        "first_seen": local(seen),
        "last_seen": local(seen),
        "times_seen": 1,
        "resolved_at": None,
        "resolution": "",
        "resolution_reason": "",
        "sla_due": local(seen + timedelta(hours=4)),
        "sla_breached": True,  # P1: 4 hours, seen 5 hours ago
    }


def test_pages_follow_the_cursor_without_gaps_or_repeats(
    ops_user: AbstractUser, make_exception: Make
) -> None:
    # Equal scores: the id breaks the tie, so no row is lost between pages.
    made = [make_exception(key=f"SO-{n:02}", score=50.0 if n % 2 else 60.0) for n in range(7)]
    expected = [r.key for r in sorted(made, key=lambda r: (-r.score, r.pk))]
    client = api(ops_user)

    seen: list[str] = []
    url: str | None = list_url(limit=3)
    pages = 0
    while url:
        body = client.get(url).json()
        seen += [row["key"] for row in body["results"]]
        url = body["next"]
        pages += 1
    assert seen == expected
    assert pages == 3

    second = client.get(client.get(list_url(limit=3)).json()["next"]).json()
    assert second["previous"] is not None
    back = client.get(second["previous"]).json()
    assert [row["key"] for row in back["results"]] == expected[:3]
    assert back["previous"] is None


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_takes_a_fixed_number_of_queries(
    ops_user: AbstractUser,
    make_exception: Make,
    django_assert_num_queries: Any,
    rows: int,
) -> None:
    for n in range(rows):
        make_exception(key=f"SO-{n}", assignee=ops_user if n % 2 else None)
    client = api(ops_user)
    # token + user; the user's permissions (user, groups); the page of exceptions with assignees
    with django_assert_num_queries(4):
        response = client.get(list_url(limit=50))
    assert len(response.json()["results"]) == rows


# --- one exception -----------------------------------------------------------------------------


def test_one_exception_comes_with_its_details_and_events(
    ops_user: AbstractUser, make_exception: Make, django_assert_num_queries: Any
) -> None:
    record = make_exception(key="SO-7", details={"order_ref": "SO-7", "erp": None})
    at = timezone.now()
    ExceptionEvent.objects.create(exception=record, at=at, kind="detected", to_value="open")
    ExceptionEvent.objects.create(
        exception=record,
        at=at + timedelta(minutes=1),
        actor=ops_user,
        kind="commented",
        note="Calling the 3PL",
    )
    client = api(ops_user)
    with django_assert_num_queries(5):  # token, permissions ×2, exception, events with actors
        body = client.get(reverse("api:exception", args=[record.pk])).json()
    assert body["details"] == {"order_ref": "SO-7", "erp": None}
    assert [
        (e["kind"], e["actor"], e["from_value"], e["to_value"], e["note"]) for e in body["events"]
    ] == [("detected", None, "", "open", ""), ("commented", "otto", "", "", "Calling the 3PL")]
    assert body["events"][0]["at"] == serializers.DateTimeField().to_representation(at)


def test_a_forged_id_is_404_and_changes_nothing(ops_user: AbstractUser) -> None:
    client = api(ops_user)
    response = client.get(reverse("api:exception", args=[987654]))
    assert response.status_code == 404
    assert response.json() == {"detail": "No ExceptionRecord matches the given query."}
    for name in ["acknowledge", "comment", "resolve", "reopen", "assign", "snooze"]:
        response = client.post(action_url(name, 987654), {"text": "x"}, format="json")
        assert response.status_code == 404, name
    assert not ExceptionEvent.objects.exists()


# --- actions -----------------------------------------------------------------------------------


def test_acknowledge_twice_changes_once(ops_user: AbstractUser, make_exception: Make) -> None:
    record = make_exception()
    client = api(ops_user)
    first = client.post(action_url("acknowledge", record))
    assert first.status_code == 200
    assert first.json()["changed"] is True
    assert first.json()["exception"]["status"] == "acknowledged"
    second = client.post(action_url("acknowledge", record))
    assert second.json()["changed"] is False
    assert list(record.events.values_list("kind", "actor__username", "from_value", "to_value")) == [
        ("acknowledged", "otto", "open", "acknowledged")
    ]


def test_assign_to_a_team_and_a_person(
    ops_user: AbstractUser, warehouse_user: AbstractUser, make_exception: Make
) -> None:
    record = make_exception(owner="warehouse", team="warehouse")
    client = api(ops_user)
    response = client.post(
        action_url("assign", record), {"team": "warehouse", "assignee": "wren"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["exception"]["assignee"] == {"id": warehouse_user.pk, "username": "wren"}
    assert response.json()["exception"]["assigned_team"] == "warehouse"
    event = record.events.get()
    assert (event.kind, event.from_value, event.to_value) == ("assigned", "", "warehouse · wren")

    response = client.post(
        action_url("assign", record), {"team": "warehouse", "assignee": "ghost"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"assignee": ["There is no user named 'ghost'."]}
    response = client.post(action_url("assign", record), {"team": "moon"}, format="json")
    assert response.status_code == 400
    assert record.events.count() == 1


def test_comment_snooze_resolve_and_reopen(ops_user: AbstractUser, make_exception: Make) -> None:
    record = make_exception()
    client = api(ops_user)

    response = client.post(action_url("comment", record), {"text": "  "}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Write something to comment on ORDER_NOT_IN_ERP {record.key}."
    }
    assert client.post(action_url("comment", record), {"text": "Chasing"}, format="json").json()[
        "changed"
    ]

    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = client.post(action_url("snooze", record), {"until": past}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Snooze until a date in the future."}
    until = timezone.now() + timedelta(days=2)
    response = client.post(
        action_url("snooze", record), {"until": until.isoformat()}, format="json"
    )
    assert response.json()["exception"]["status"] == "snoozed"

    response = client.post(action_url("resolve", record), {"reason": "lost"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    response = client.post(
        action_url("resolve", record), {"reason": "fixed_in_erp", "note": "re-sent"}, format="json"
    )
    assert response.json()["exception"]["status"] == "resolved"
    assert response.json()["exception"]["resolution"] == "Fixed in ERP: re-sent"

    response = client.post(action_url("reopen", record), {"note": "came back"}, format="json")
    assert response.json()["exception"]["status"] == "open"
    assert list(record.events.values_list("kind", flat=True).order_by("id")) == [
        "commented",
        "snoozed",
        "resolved",
        "reopened",
    ]


@pytest.mark.parametrize(
    ("who", "action", "owner", "data"),
    [
        ("warehouse_user", "resolve", "office", {"reason": "fixed_in_erp"}),
        ("warehouse_user", "acknowledge", "office", {}),
        ("warehouse_user", "comment", "office", {"text": "mine?"}),
        ("warehouse_user", "snooze", "office", {"until": "2099-01-01T00:00:00Z"}),
        ("finance_user", "acknowledge", "warehouse", {}),
        ("cx_user", "resolve", "warehouse", {"reason": "fixed_in_wms"}),
        ("finance_user", "assign", "office", {"team": "finance"}),
        ("cx_user", "assign", "office", {"team": "cx"}),
        ("warehouse_user", "assign", "warehouse", {"team": "warehouse"}),
        ("ops_user", "resolve", "warehouse", {"reason": "fixed_in_wms"}),
        ("warehouse_user", "reopen", "office", {}),
    ],
)
def test_an_action_the_matrix_refuses_is_403_and_changes_nothing(
    who: str,
    action: str,
    owner: str,
    data: dict[str, Any],
    make_exception: Make,
    request: pytest.FixtureRequest,
) -> None:
    status = "resolved" if action == "reopen" else "open"
    record = make_exception(owner=owner, team="warehouse" if owner == "warehouse" else "ecommerce")
    ExceptionRecord.objects.filter(pk=record.pk).update(status=status)
    before = state(record)
    # Even invalid input gets 403, not a 400 that would tell the caller about the record.
    response = api(request.getfixturevalue(who)).post(
        action_url(action, record), data, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": f"You may not {action} {record.rule} {record.key}."}
    assert state(record) == before


@pytest.mark.parametrize(
    ("who", "action", "owner", "data"),
    [
        ("warehouse_user", "resolve", "warehouse", {"reason": "fixed_in_wms"}),
        ("finance_user", "resolve", "office", {"reason": "fixed_in_erp"}),
        ("cx_user", "acknowledge", "office", {}),
        ("admin_user", "resolve", "warehouse", {"reason": "duplicate"}),
        ("ops_user", "acknowledge", "warehouse", {}),
    ],
)
def test_an_action_the_matrix_allows_is_done(
    who: str,
    action: str,
    owner: str,
    data: dict[str, Any],
    make_exception: Make,
    request: pytest.FixtureRequest,
) -> None:
    record = make_exception(owner=owner)
    response = api(request.getfixturevalue(who)).post(
        action_url(action, record), data, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["changed"] is True
    assert record.events.count() == 1
