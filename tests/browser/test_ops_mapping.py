"""Ops in a real browser: sees orders waiting on "Saturday Delivery", maps it to a warehouse
service, presses Re-check now and sees the SHIPPING_UNMAPPED exceptions clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django_q.conf import Conf

from exceptions.models import ExceptionRecord
from integration.models import MappingChange, Recheck, ShippingMethod

AS_OF = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


@pytest.fixture
def mapped_world(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    from integration.roles import ensure_role_groups
    from reconciliation.demo import build_demo_bundle
    from reconciliation.runs import reconcile_bundle_object

    monkeypatch.setattr(Conf, "SYNC", True)  # the re-check task runs in the server's thread
    ensure_role_groups()
    run, _ = reconcile_bundle_object(
        build_demo_bundle(orders=300, as_of=AS_OF), source="bundle", source_name="demo (browser)"
    )
    return run


def unmapped() -> list[str]:
    return sorted(
        ExceptionRecord.objects.filter(rule="SHIPPING_UNMAPPED", status="open").values_list(
            "key", flat=True
        )
    )


def test_ops_maps_saturday_delivery_and_the_recheck_clears_shipping_unmapped(
    page: Any,
    mapped_world: Any,
    ops_user: AbstractUser,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
) -> None:
    assert unmapped() == ["WEB-104485", "WEB-104497"]
    login_as(page, ops_user)

    page.get_by_role("link", name="Mappings").click()
    waiting = page.locator("section.warn").inner_text()
    assert "Saturday Delivery: 2 orders (SHIPPING_UNMAPPED)" in waiting
    page.get_by_role("link", name="map it").click()
    assert page.get_by_role("textbox", name="Shipping method").input_value() == "Saturday Delivery"
    page.get_by_label("Warehouse service code").fill("WHSAT")
    page.get_by_label("Service is express").check()
    screenshot(page, "ops-mapping-form")
    page.get_by_role("button", name="Save mapping").click()

    assert (
        "Shipping method 'Saturday Delivery' → WHSAT saved."
        in page.locator(".messages").inner_text()
    )
    assert list(ShippingMethod.objects.values_list("name", "service__code")) == [
        ("Saturday Delivery", "WHSAT")
    ]
    assert unmapped() == ["WEB-104485", "WEB-104497"]  # not until the rules run again

    page.get_by_role("button", name="Re-check now").click()

    result = page.locator(".recheck-status")
    result.locator(".badge", has_text="Complete").wait_for()
    assert "2 open exceptions cleared, 0 created" in result.inner_text()
    assert "SHIPPING_UNMAPPED\t2\t0" in result.locator("table").inner_text()
    screenshot(page, "ops-recheck-result")
    assert unmapped() == []
    recheck = Recheck.objects.get()
    assert (recheck.status, recheck.cleared, recheck.requested_by) == ("complete", 2, ops_user)

    page.get_by_role("link", name="History").click()
    rows = page.locator("table.table tbody").inner_text()
    assert "Saturday Delivery" in rows
    assert "otto" in rows
    assert MappingChange.objects.filter(actor=ops_user).count() == 2  # the service, the method
    page.goto("/exceptions/?rule=SHIPPING_UNMAPPED")
    assert "No exceptions match these filters." in page.content()
