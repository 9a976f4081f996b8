"""Every URL × every role, against the table in docs/roles.md ("Every URL, every role").

- every URL pattern of the project (walked from the resolver) has a row, and every method a URL
  answers (anything but 405) has one: a URL nobody classified fails here, by name;
- each row, for each of the seven users, gives exactly the outcome the table says; a POST that is
  refused (401, 403, 404, 405, the sign-in page) changes no row of any table;
- an id that does not exist is 404 and changes nothing.

Each request runs in a savepoint that is rolled back, so every row starts from the same world.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from exceptions.models import ExceptionRecord
from integration import held_orders, mappings
from integration.permissions import can
from tests.conftest import PASSWORD
from tests.security.conftest import ROLES, World, changed_tables, client_for, db_state
from tests.security.urltable import FORGED, Row, forged, project_patterns, url_table

REFUSED = {"401", "403", "404", "405", "login"}
EXCEPTION_ACTIONS: dict[str, dict[str, str]] = {
    "acknowledge": {},
    "comment": {"text": "Checked with the warehouse."},
    "snooze": {"until": "2027-01-15"},
    "resolve": {"reason": "not_an_issue", "note": "Checked."},
    "reopen": {"note": "Not fixed after all."},
    "assign": {"team": "finance", "person": ""},
}
# Enough to fill placeholders when only resolving (no database).
SAMPLE_ARGS = {
    "office": "1",
    "warehouse": "2",
    "held": "WEB-1",
    "released": "WEB-2",
    "release": "3",
    "connection": "4",
    "sync_run": "5",
    "route": "6",
    "delivery": "7",
    "method": "8",
    "service": "9",
    "alias": "10",
    "non_stock": "11",
    "recheck": "12",
    "month": "2026-11",
}

Payload = Callable[[World, str], dict[str, Any]]


def _bulk(action: str, **extra: str) -> Payload:
    def payload(world: World, role: str) -> dict[str, Any]:
        return {
            "action": action,
            "scope": "selected",
            "ids": [world.office.pk, world.warehouse.pk],
            "filter": "team=",
            "confirm": "1",
            "expected": "2",
            **extra,
        }

    return payload


def _held(world: World, role: str) -> dict[str, Any]:
    held = held_orders.held_order(world.held)
    details = held_orders.delivery_of(held) if held else {}
    return {**details, "ship_postcode": "NR2 8NP", "note": "Postcode corrected."}


def _login(world: World, role: str) -> dict[str, Any]:
    user = world.users.get(role) or world.users["finance"]
    return {"username": user.get_username(), "password": PASSWORD}


def _route(name: str) -> Payload:
    return lambda world, role: {
        "name": name,
        "team": "finance",
        "min_priority": "P2",
        "emails": "desk@example.com",
        "webhook_url": "",
        "enabled": "on",
    }


def _connection(name: str, *, enabled: bool) -> Payload:
    # One enabled connection per role: a second store connection is added disabled.
    return lambda world, role: {
        "name": name,
        "role": "store",
        "base_url": world.connection.base_url,
        "enabled": "on" if enabled else "",
        "schedule_minutes": "60",
        "options": "{}",
        "credential_consumer_key": "ck_parity",
        "credential_consumer_secret": "cs_parity",
    }


def _settings(world: World, role: str) -> dict[str, Any]:
    values = {key: value for key, value in mappings.settings_values().items() if value is not False}
    return {**values, "dispatch_sla_hours": 30}


def _import(world: World, role: str) -> dict[str, Any]:
    body = b"role,sku,canonical_sku\nwms,cup-2,CUP2\n"
    return {"file": SimpleUploadedFile("sku_aliases.csv", body, content_type="text/csv")}


def _fixed(data: dict[str, Any]) -> Payload:
    return lambda world, role: data


# Row template (for POST rows) -> what a person would submit; a refused role submits the same.
PAYLOADS: dict[str, Payload] = {
    "/login/": _login,
    "/exceptions/bulk/#acknowledge": _bulk("acknowledge"),
    "/exceptions/bulk/#assign": _bulk("assign", team="finance", person=""),
    "/exceptions/bulk/#resolve": _bulk("resolve", reason="not_an_issue", note="Checked."),
    **{
        f"{prefix}/{{{side}}}/{action}/": _fixed(data)
        for prefix in ("/exceptions", "/api/v1/exceptions")
        for side in ("office", "warehouse")
        for action, data in EXCEPTION_ACTIONS.items()
    },
    "/held/order/{held}": _held,
    "/held/order/{released}": _held,
    "/mappings/shipping/methods/save/": _fixed(
        {"name": "Royal Mail 48", "service_code": "RM48", "express": ""}
    ),
    "/mappings/shipping/services/save/": _fixed(
        {"code": "DPD", "express": "", "description": "DPD"}
    ),
    "/mappings/sku-aliases/save/": _fixed({"role": "wms", "sku": "cup-2", "canonical_sku": "CUP2"}),
    "/mappings/non-stock/save/": _fixed({"sku": "INSERT", "description": "Leaflet"}),
    "/mappings/settings/": _settings,
    "/mappings/csv/sku_aliases/import/": _import,
    "/mappings/recheck/": _fixed({"next": "shipping"}),
    "/alerts/new/": _route("Finance desk"),
    "/alerts/{route}/": _route("Ops desk"),
    "/month-end/{month}/checklist/": _fixed({"item": "vat_reviewed", "ticked": "1"}),
    "/connections/new/?kind=woocommerce": _connection("Shop two", enabled=False),
    "/connections/{connection}/edit/": _connection("Shop", enabled=True),
    "/connections/{connection}/sync/": _fixed({"kind": "delta"}),
}

TABLE = url_table()


def payload(row: Row, world: World, role: str) -> dict[str, Any]:
    if row.method != "POST":
        return {}
    return PAYLOADS.get(row.template, _fixed({}))(world, role)


def send(client: Client, method: str, path: str, data: dict[str, Any]) -> HttpResponse:
    if method == "GET":
        return client.get(path)
    return client.post(path, data)


def outcome(response: HttpResponse) -> str:
    """The response as the table writes it: the status, or `login` for the sign-in redirect."""
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith("/login/?next="):
        return "login"
    return str(response.status_code)


def attempt(
    client: Client, row: Row, path: str, data: dict[str, Any]
) -> tuple[HttpResponse, list[str]]:
    """Send one request in a savepoint rolled back afterwards; the tables it changed. The client's
    cookies are put back too (sign-in and sign-out replace the session), so the next request is
    made by the same user from the same state. Only a POST is compared (a snapshot costs ~80 ms)."""
    cookies = client.cookies
    client.cookies = SimpleCookie(cookies)
    with transaction.atomic():
        before = db_state() if row.method == "POST" else {}
        response = send(client, row.method, path, data)
        changed = changed_tables(before, db_state()) if row.method == "POST" else []
        transaction.set_rollback(True)
    client.cookies = cookies
    return response, changed


# --- the table covers the project --------------------------------------------------------------


def test_every_url_pattern_has_a_row_and_every_row_names_its_url() -> None:
    patterns = project_patterns()
    covered: dict[str, set[str]] = {}
    problems = []
    for row in TABLE:
        match = resolve(row.path(SAMPLE_ARGS).split("?", 1)[0])
        if match.view_name != row.name:
            problems.append(f"{row.key}: resolves to {match.view_name}, the table says {row.name}")
        covered.setdefault(match.route, set()).add(row.method)
    unclassified = sorted(
        f"{name} ({route})" for route, name in patterns.items() if route not in covered
    )
    assert unclassified == [], f"URL patterns with no row in docs/roles.md: {unclassified}"
    assert problems == []
    assert "/admin/" in {row.template for row in TABLE}
    assert len({row.key for row in TABLE}) == len(TABLE), "a row appears twice"


def test_every_method_a_url_answers_has_a_row(world: World) -> None:
    """As the admin, who may do everything: a method that is not 405 must be in the table."""
    client = client_for(world.users["admin"])
    # The table's (method, path) pairs, a variant ("#assign") counting as its path.
    keys = {(row.method, row.template.split("#", 1)[0]) for row in TABLE}
    missing = []
    for row in TABLE:
        if row.name.startswith("admin:"):  # the Django admin's own business
            continue
        for method in ("GET", "POST"):
            probe = Row(row.template, method, row.name, {})
            if (method, row.template.split("#", 1)[0]) in keys:
                continue
            data = (
                PAYLOADS.get(row.template, _fixed({}))(world, "admin") if method == "POST" else {}
            )
            response, _ = attempt(client, probe, row.path(world.args), data)
            if response.status_code != 405:
                missing.append(f"{probe.key} answers {response.status_code}")
    assert missing == [], f"methods the table does not classify: {missing}"


# --- every row, every role ---------------------------------------------------------------------


def test_every_url_gives_each_role_what_the_table_says(world: World) -> None:
    """One world for the seven users (it takes seconds to build); every difference is listed."""
    args = world.args
    wrong, written = [], []
    for role in ROLES:
        client = client_for(world.users[role])
        for row in TABLE:
            data = payload(row, world, role)
            response, changed = attempt(client, row, row.path(args), data)
            got, expected = outcome(response), row.expected[role]
            if got != expected:
                wrong.append(f"{role}: {row.key}: {got}, the table says {expected}")
            if expected in REFUSED and changed:
                written.append(f"{role}: {row.key} ({expected}) changed {changed}")
    assert wrong == [], f"{len(wrong)} outcome(s) differ from docs/roles.md"
    assert written == [], "refused requests changed tables"


def capability(row: Row) -> tuple[str, str | None] | None:
    """The `can()` action (and exception side) a row needs by docs/roles.md's matrix; None for
    the rows outside it (sign-in, health, the admin, methods no one may use)."""
    path, method = row.template, row.method
    if path in {"/login/", "/logout/", "/healthz", "/readyz", "/admin/"} or "405" in (
        row.expected.values()
    ):
        return None
    if match := re.fullmatch(r"(?:/api/v1)?/exceptions/\{(\w+)\}/(\w+)/", path):
        side, action = match.groups()
        return (action, side) if action in EXCEPTION_ACTIONS else None
    if path.startswith("/exceptions/bulk/"):
        return path.split("#", 1)[1], None
    if path.startswith("/alerts/"):
        return "edit_mappings", None
    if path.startswith("/connections/"):
        return "manage_connections", None
    if path.startswith("/month-end/"):
        return ("close_month" if method == "POST" else "view_month_end"), None
    if method == "POST" and path.startswith("/mappings/"):
        return "edit_mappings", None
    if method == "POST" and path.startswith("/held/"):
        return "release", None
    return "view", None


def test_the_table_agrees_with_the_permission_matrix(cast: dict[str, Any]) -> None:
    """Each row's cells for the signed-in users are refused exactly where `can()` — the matrix
    of docs/roles.md in code — says no, so the table cannot drift from the matrix above it."""
    now = timezone.now()
    sides = {
        side: ExceptionRecord.objects.create(
            rule="ORDER_NOT_IN_ERP",
            key=f"W-{side}",
            owner=side,
            team="ops",
            priority="P2",
            score=1.0,
            summary="-",
            details={},
            roles=[],
            first_seen=now,
            last_seen=now,
        )
        for side in ("office", "warehouse")
    }
    wrong, judged = [], 0
    for row in TABLE:
        needs = capability(row)
        if needs is None:
            continue
        action, side = needs
        for role in ROLES[1:]:
            allowed = can(cast[role], action, sides[side] if side else None)
            if (row.expected[role] not in REFUSED) != allowed:
                wrong.append(f"{role}: {row.key}: {row.expected[role]}, can() says {allowed}")
            judged += 1
    assert wrong == []
    assert judged >= 80 * 6


# --- forged ids --------------------------------------------------------------------------------


def test_a_forged_id_is_404_and_changes_nothing(world: World) -> None:
    client = client_for(world.users["admin"])
    args = world.args
    wrong = []
    checked = 0
    for row in TABLE:
        forged_args = forged(row, args)
        if forged_args is None or "405" in row.expected.values():
            continue
        response, changed = attempt(
            client, row, row.path(forged_args), payload(row, world, "admin")
        )
        checked += 1
        if response.status_code != 404 or changed:
            wrong.append(f"{row.key}: {response.status_code}, changed {changed}")
    assert checked >= 30
    assert wrong == []


def test_a_forged_month_or_order_is_404_and_changes_nothing(world: World) -> None:
    client = client_for(world.users["admin"])
    rows = [row for row in TABLE if set(row.placeholders) & set(FORGED)]
    answers = [
        (
            row.key,
            *attempt(client, row, row.path({**world.args, **FORGED}), payload(row, world, "admin")),
        )
        for row in rows
    ]
    assert [(key, response.status_code, changed) for key, response, changed in answers] == [
        (row.key, 404, []) for row in rows
    ]
    assert len(rows) >= 10
