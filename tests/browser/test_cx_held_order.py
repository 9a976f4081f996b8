"""CX in a real browser: opens a held order whose phone is missing and postcode is wrong, sees what
is wrong field by field, is refused a still-invalid postcode, corrects both, releases it, and
finds the exceptions resolved with the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from django.contrib.auth.models import AbstractUser
from django_q.conf import Conf

from exceptions.models import ExceptionEvent, ExceptionRecord
from integration.models import OrderRelease
from reconciliation.frames import Bundle

ORDER = "WEB-104491"  # the demo's mistyped postcode (NR2 8N), rejected by Whistl
AS_OF = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


def without_phone(bundle: Bundle, origin: str) -> Bundle:
    """The bundle with the order's phone number gone in every system that has it."""
    refs = {origin}
    for role in bundle.pipeline:
        orders = bundle.roles[role].frames["orders"]
        mine = orders["order_ref"].isin(refs) | orders["source_ref"].isin(refs).fillna(False)
        refs |= set(orders.loc[mine, "order_ref"])
        orders.loc[mine, "ship_phone"] = pd.NA
    return bundle


@pytest.fixture
def held_world(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    from integration.roles import ensure_role_groups
    from reconciliation.demo import build_demo_bundle
    from reconciliation.runs import reconcile_bundle_object

    # Tasks run where they are queued (the live server's thread): the release's send task too.
    monkeypatch.setattr(Conf, "SYNC", True)
    ensure_role_groups()
    bundle = without_phone(build_demo_bundle(orders=300, as_of=AS_OF), ORDER)
    run, _ = reconcile_bundle_object(bundle, source="bundle", source_name="demo (browser)")
    return run


def test_cx_fixes_the_phone_and_postcode_and_releases_the_order(
    page: Any,
    held_world: Any,
    cx_user: AbstractUser,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
) -> None:
    held = {r.rule: r for r in ExceptionRecord.objects.filter(key=ORDER, status="open")}
    assert sorted(held) == ["ADDRESS_INVALID", "ORDER_HELD"]
    assert held["ADDRESS_INVALID"].summary == (
        f"Order {ORDER} cannot be shipped: phone is missing; "
        "postcode 'NR2 8N' is not a valid UK postcode"
    )
    login_as(page, cx_user)

    page.get_by_role("link", name="Held orders").click()
    page.get_by_role("link", name=ORDER, exact=True).click()
    assert page.url.endswith(f"/held/order/{ORDER}")
    phone_row, postcode_row = page.locator("#row-ship_phone"), page.locator("#row-ship_postcode")
    assert "Now: phone is missing" in phone_row.inner_text()
    assert "Now: postcode 'NR2 8N' is not a valid UK postcode" in postcode_row.inner_text()
    screenshot(page, "held-order-form")

    # Still wrong: the engine's own check refuses it and nothing is released.
    page.get_by_label("Phone").fill("07700 900461")
    page.get_by_label("Postcode").fill("NR2")
    page.get_by_role("button", name="Release to warehouse").click()
    assert "postcode 'NR2' is not a valid UK postcode" in postcode_row.inner_text()
    assert OrderRelease.objects.count() == 0
    screenshot(page, "held-order-form-refused")

    page.get_by_label("Postcode").fill("nr2 8nx")
    page.get_by_label("Note for the audit trail").fill("Customer confirmed by phone")
    page.get_by_role("button", name="Release to warehouse").click()

    message = page.locator(".messages").inner_text()
    assert f"Order {ORDER} released to the warehouse (2 exception(s) resolved)." in message
    assert "Recorded (no warehouse connection)" in page.locator("#releases + table").inner_text()
    screenshot(page, "held-order-released")

    release = OrderRelease.objects.get()
    assert release.changes == {
        "ship_postcode": ["NR2 8N", "NR2 8NX"],
        "ship_phone": ["", "07700 900461"],
    }
    assert release.status == "recorded"
    for record in held.values():
        record.refresh_from_db()
        assert record.status == "resolved"
        assert "postcode 'NR2 8N' → 'NR2 8NX'; phone '' → '07700 900461'" in record.resolution
        kinds = list(
            ExceptionEvent.objects.filter(exception=record, actor=cx_user)
            .order_by("id")
            .values_list("kind", "from_value", "to_value")
        )
        assert kinds == [
            (
                "commented",
                json.dumps({"ship_postcode": "NR2 8N", "ship_phone": ""}),
                json.dumps({"ship_postcode": "NR2 8NX", "ship_phone": "07700 900461"}),
            ),
            ("resolved", "open", "resolved"),
        ]

    # The audit trail, as the queue shows it.
    page.goto(f"/exceptions/{held['ADDRESS_INVALID'].pk}/")
    history = page.locator(".timeline").inner_text()
    assert "Resolved" in history
    assert "corrected and released to the warehouse" in history
    assert "by cass" in history
    screenshot(page, "held-order-audit-trail")
    # And the order has left the held list.
    page.goto("/held/")
    assert page.get_by_role("link", name=ORDER, exact=True).count() == 0
