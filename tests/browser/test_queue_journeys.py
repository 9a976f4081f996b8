"""Issue 3's journeys in a real browser: ops works the warehouse queue in bulk, and a warehouse
user cannot resolve what belongs to the office (no button, and a forged POST changes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractUser

from exceptions.models import EventKind, ExceptionEvent, ExceptionRecord

RULE = "TRACKING_MISSING"  # a warehouse rule the demo world fires a few times


def test_ops_filters_the_warehouse_queue_bulk_assigns_and_sees_the_audit_trail(
    page: Any,
    demo_world: Any,
    ops_user: AbstractUser,
    warehouse_user: AbstractUser,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
) -> None:
    chosen = ExceptionRecord.objects.filter(owner="warehouse", rule=RULE, status="open")
    expected = set(chosen.values_list("pk", flat=True))
    assert len(expected) >= 2, "the demo world should fire the rule more than once"
    untouched = set(
        ExceptionRecord.objects.exclude(pk__in=expected).values_list("pk", "assignee_id")
    )

    login_as(page, ops_user)
    page.goto("/exceptions/")
    page.get_by_role("link", name="Warehouse", exact=True).click()
    page.locator("form.filters [name=rule]").select_option(RULE)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    matching = page.get_by_test_id("matching").inner_text()
    assert matching.startswith(f"{len(expected)} exceptions match"), matching
    screenshot(page, "queue-warehouse-filtered")

    bulk = page.locator("form#bulk")
    bulk.locator("select[name=action]").select_option("assign")
    bulk.get_by_label(f"all {len(expected)} matching this filter").check()
    bulk.locator("summary").click()
    bulk.locator("select[name=team]").select_option("warehouse")
    bulk.locator("select[name=person]").select_option(label="Wren (wren)")
    bulk.get_by_role("button", name="Continue…").click()

    # The confirmation step says how many, and nothing has changed yet.
    assert f"All {len(expected)} exceptions matching this filter" in (
        page.get_by_test_id("bulk-count").inner_text()
    )
    assert not ExceptionRecord.objects.filter(pk__in=expected, assignee=warehouse_user).exists()
    screenshot(page, "bulk-assign-confirm")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()

    assert (
        set(ExceptionRecord.objects.filter(assignee=warehouse_user).values_list("pk", flat=True))
        == expected
    )
    assert (
        set(
            ExceptionEvent.objects.filter(kind=EventKind.ASSIGNED, actor=ops_user).values_list(
                "exception_id", flat=True
            )
        )
        == expected
    )
    # Nothing outside the filter moved.
    assert untouched == set(
        ExceptionRecord.objects.exclude(pk__in=expected).values_list("pk", "assignee_id")
    )

    # The audit trail on one of them: who assigned it, to whom.
    one = ExceptionRecord.objects.get(pk=min(expected))
    page.goto(one.get_absolute_url())
    assigned = page.locator("ol.timeline li.event-assigned")
    assert assigned.count() == 1
    text = assigned.inner_text()
    assert "Assigned" in text
    assert f"by {ops_user.get_username()}" in text
    assert "Wren" in page.locator("table.facts").inner_text()
    screenshot(page, "detail-after-bulk-assign")


def test_a_warehouse_user_cannot_resolve_an_office_exception(
    page: Any,
    demo_world: Any,
    warehouse_user: AbstractUser,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
) -> None:
    office = ExceptionRecord.objects.filter(owner="office", rule="TAX_MISMATCH").first()
    warehouse = ExceptionRecord.objects.filter(owner="warehouse", rule=RULE).first()
    assert office is not None
    assert warehouse is not None
    before = (office.status, office.resolved_at, office.resolution, office.events.count())

    login_as(page, warehouse_user)
    page.goto(office.get_absolute_url())
    assert page.locator("form[aria-label=Resolve]").count() == 0
    assert page.get_by_role("button", name="Resolve").count() == 0
    screenshot(page, "detail-office-as-warehouse")

    # A forged POST with a valid session and CSRF token is refused and changes nothing.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        f"{office.get_absolute_url()}resolve/",
        form={"csrfmiddlewaretoken": token, "reason": "fixed_in_erp", "note": "forged"},
        headers={"X-CSRFToken": token, "Referer": page.url},
        max_redirects=0,
    )
    assert answer.status == 403
    office.refresh_from_db()
    assert (office.status, office.resolved_at, office.resolution, office.events.count()) == before

    # The same person does see Resolve on the warehouse's own exceptions.
    page.goto(warehouse.get_absolute_url())
    assert page.locator("form[aria-label=Resolve]").count() == 1
