"""Held orders: which orders are listed, what is wrong field by field, and Release to warehouse
(the engine's checks, the outbox row, the exceptions resolved with their audit trail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils.html import escape

from exceptions.models import ExceptionEvent, ExceptionRecord
from integration import held_orders, releases
from integration.models import OrderRelease
from integration.releases import ReleaseInvalid, ReleaseRefused
from reconciliation.models import ReconciliationRun
from tests.integration.conftest import BAD_POSTCODE, HELD, NO_PHONE, SATURDAY

pytestmark = pytest.mark.django_db


def held_state() -> list[tuple[str, str, str, str]]:
    """Every held exception's (rule, key, status, resolution): to show a refusal changed nothing."""
    return list(
        held_orders.held_exceptions()
        .model.objects.filter(rule__in=held_orders.HELD_RULES)
        .order_by("rule", "key")
        .values_list("rule", "key", "status", "resolution")
    )


def every_held() -> list[str]:
    return [origin for origin, _, _ in held_orders.held_index(held_orders.held_exceptions())]


def test_every_held_order_is_listed_with_the_rules_holding_it(demo_run: ReconciliationRun) -> None:
    orders = held_orders.held_orders(every_held())

    assert {o.origin: set(o.rules) for o in orders} == HELD
    by_origin = {o.origin: o for o in orders}
    # Order data from the latest snapshots, following the links store → erp → wms.
    phone = by_origin[NO_PHONE]
    assert sorted(phone.copies) == ["erp", "store", "wms"]
    assert phone.copies["wms"]["status"] == "held"
    assert phone.copies["wms"]["source_ref"] == phone.copies["erp"]["order_ref"]
    assert phone.copies["erp"]["source_ref"] == NO_PHONE
    assert sorted(by_origin["WEB-104496"].copies) == ["erp", "store"]  # not sent yet


def test_the_page_shows_what_is_wrong_field_by_field(
    client: Client, cx_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    client.force_login(cx_user)

    page = client.get(f"/held/order/{BAD_POSTCODE}")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Now: postcode &#x27;NR2 8N&#x27; is not a valid UK postcode" in html
    assert '<p class="field has-problem" id="row-ship_postcode">' in html
    assert "Release to warehouse" in html
    assert held_orders.problems_of(
        held_orders.delivery_of(held_orders.held_order(BAD_POSTCODE)),
        held_orders.current_settings(),
    ) == {"ship_postcode": "postcode 'NR2 8N' is not a valid UK postcode"}


def test_the_list_page_needs_a_login_and_lists_the_orders(
    client: Client, warehouse_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    assert client.get("/held/").status_code == 302
    client.force_login(warehouse_user)

    page = client.get("/held/")

    assert page.status_code == 200
    html = page.content.decode()
    assert all(f"/held/order/{origin}" in html for origin in HELD)
    assert 'Held orders <span class="muted">(12)</span>' in html
    filtered = client.get("/held/", {"rule": "SHIPPING_UNMAPPED"}).content.decode()
    assert [o for o in HELD if f'/held/order/{o}"' in filtered] == sorted(SATURDAY)


def release_form(origin: str = BAD_POSTCODE, **changes: str) -> dict[str, str]:
    order = held_orders.held_order(origin)
    return {**held_orders.delivery_of(order), "note": "", **changes}


def test_cx_corrects_the_postcode_and_releases_the_order(
    client: Client, cx_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    client.force_login(cx_user)
    before = {r.rule: r.pk for r in ExceptionRecord.objects.filter(key=BAD_POSTCODE, status="open")}
    assert set(before) == {"ADDRESS_INVALID", "ORDER_HELD"}

    with tasks_inline():
        answer = client.post(
            f"/held/order/{BAD_POSTCODE}",
            release_form(ship_postcode="nr2 8nx", note="Customer confirmed by phone"),
        )

    assert answer.status_code == 302
    release = OrderRelease.objects.get()
    assert (release.origin, release.role, release.released_by) == (BAD_POSTCODE, "erp", cx_user)
    assert release.changes == {"ship_postcode": ["NR2 8N", "NR2 8NX"]}
    assert release.payload["ship_postcode"] == "NR2 8NX"
    assert release.payload["order_ref"] == release.order_ref
    assert release.exception_ids == sorted(before.values())
    # No Whistl connection: the release is the record.
    assert (release.status, release.attempts) == ("recorded", 0)
    for rule, pk in before.items():
        record = ExceptionRecord.objects.get(pk=pk)
        assert record.status == "resolved", rule
        assert record.resolution.startswith("Other (note): corrected and released")
        assert "postcode 'NR2 8N' → 'NR2 8NX'" in record.resolution
        assert record.resolution.endswith("Note: Customer confirmed by phone")
        events = list(ExceptionEvent.objects.filter(exception=record, actor=cx_user).order_by("id"))
        assert [(e.kind, e.to_value) for e in events] == [
            ("commented", json.dumps({"ship_postcode": "NR2 8NX"})),
            ("resolved", "resolved"),
        ]
        assert json.loads(events[0].from_value) == {"ship_postcode": "NR2 8N"}
        assert events[1].from_value == "open"
    assert BAD_POSTCODE not in {o.origin for o in held_orders.held_orders(every_held())}
    page = client.get(f"/held/order/{BAD_POSTCODE}").content.decode()
    assert "Recorded (no warehouse connection)" in page
    assert "<del>NR2 8N</del> → <ins>NR2 8NX</ins>" in page


def test_a_correction_that_still_fails_the_engines_check_changes_nothing(
    client: Client, cx_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    client.force_login(cx_user)
    state = held_state()

    with tasks_inline():
        answer = client.post(
            f"/held/order/{BAD_POSTCODE}", release_form(ship_postcode="NR2", ship_phone="")
        )

    assert answer.status_code == 400
    html = answer.content.decode()
    assert "postcode &#x27;NR2&#x27; is not a valid UK postcode" in html
    assert "phone is missing" in html
    assert held_state() == state
    assert OrderRelease.objects.count() == 0


def test_a_phone_that_is_not_a_phone_number_is_refused(
    client: Client, cx_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    client.force_login(cx_user)
    state = held_state()

    answer = client.post(f"/held/order/{NO_PHONE}", release_form(NO_PHONE, ship_phone="call me"))

    assert answer.status_code == 400
    assert "phone &#x27;call me&#x27; is not a phone number" in answer.content.decode()
    assert held_state() == state


def test_an_unmapped_service_must_be_replaced_by_a_mapped_one(
    cx_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    origin = SATURDAY[1]  # not sent yet, Saturday Delivery
    details = held_orders.delivery_of(held_orders.held_order(origin))

    with pytest.raises(ReleaseInvalid) as caught:
        releases.release_order(cx_user, origin, details)
    assert caught.value.problems == {
        "shipping_method": "shipping method 'Saturday Delivery' has no service code mapped: "
        "pick a mapped service"
    }

    with tasks_inline():
        release = releases.release_order(
            cx_user, origin, {**details, "shipping_method": "Next Day Delivery"}
        )
    assert release.changes == {"shipping_method": ["Saturday Delivery", "Next Day Delivery"]}
    assert ExceptionRecord.objects.get(rule="SHIPPING_UNMAPPED", key=origin).status == "resolved"


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("WEB-104483", "Held for 'Payment review: fraud': only Finance can release it"),
        ("WEB-104467", "only the warehouse can release it"),
        ("WEB-104489", "merchandising must fix SKU KN6003ECRM first"),
        ("WEB-104422", "The warehouse already has it as WH"),
    ],
)
def test_orders_held_for_someone_elses_reason_cannot_be_released(
    client: Client, cx_user: AbstractUser, demo_run: ReconciliationRun, origin: str, message: str
) -> None:
    client.force_login(cx_user)
    state = held_state()
    details = held_orders.delivery_of(held_orders.held_order(origin))

    with pytest.raises(ReleaseRefused, match="cannot be released here"):
        releases.release_order(cx_user, origin, details)
    answer = client.post(f"/held/order/{origin}", {**details, "note": ""}, follow=True)

    assert escape(message) in answer.content.decode()
    assert "Release to warehouse</button>" not in answer.content.decode()
    assert held_state() == state
    assert OrderRelease.objects.count() == 0


def test_warehouse_and_finance_may_look_but_not_release(
    client: Client,
    warehouse_user: AbstractUser,
    finance_user: AbstractUser,
    demo_run: ReconciliationRun,
) -> None:
    state = held_state()
    for user in (warehouse_user, finance_user):
        client.force_login(user)
        assert client.get(f"/held/order/{NO_PHONE}").status_code == 200
        answer = client.post(
            f"/held/order/{NO_PHONE}", release_form(NO_PHONE, ship_phone="07700 900123")
        )
        assert answer.status_code == 403
    assert held_state() == state
    assert OrderRelease.objects.count() == 0


def test_a_second_release_is_refused_and_an_unknown_order_is_404(
    client: Client, ops_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    client.force_login(ops_user)
    form = release_form(NO_PHONE, ship_phone="07700 900123")
    with tasks_inline():
        client.post(f"/held/order/{NO_PHONE}", form)
        again = client.post(f"/held/order/{NO_PHONE}", form, follow=True)

    assert OrderRelease.objects.count() == 1
    assert "is not held any more" in again.content.decode()
    assert client.get("/held/order/WEB-000000").status_code == 404
    assert client.post("/held/order/WEB-000000", form).status_code == 404


def test_release_needs_csrf(cx_user: AbstractUser, demo_run: ReconciliationRun) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cx_user)
    state = held_state()

    answer = client.post(
        f"/held/order/{NO_PHONE}", release_form(NO_PHONE, ship_phone="07700 900123")
    )

    assert answer.status_code == 403
    assert held_state() == state


def test_the_payload_leaves_non_stock_lines_out_and_uses_the_warehouses_skus(
    cx_user: AbstractUser,
    demo_run: ReconciliationRun,
    tasks_inline: Callable[[], Any],
) -> None:
    with tasks_inline():
        release = releases.release_order(
            cx_user, NO_PHONE, release_form(NO_PHONE, ship_phone="07700 900123")
        )

    # Prima's copy has JK3001NVYM and a CARRIAGE line (non-stock); Whistl knows the jacket as
    # WFJ106 (the demo's sku_map.csv).
    assert release.payload["lines"] == [
        {
            "line_no": "10",
            "sku": "WFJ106",
            "quantity": 1,
            "unit_price": "120.8333",
            "line_net": "120.83",
            "line_tax": "24.17",
            "tax_rate": 0.2,
        }
    ]
    assert release.payload["order_ref"] == "SO5800272"
    assert release.payload["shipping_method"] == "Next Day Delivery"
    assert release.payload["ship_phone"] == "07700 900123"


def test_the_list_and_the_order_page_take_a_fixed_number_of_queries(
    client: Client,
    cx_user: AbstractUser,
    demo_run: ReconciliationRun,
    django_assert_num_queries: Any,
) -> None:
    client.force_login(cx_user)
    client.get("/held/")  # warm the session

    # session, user; the index (order-keyed groups, SKU exceptions); the page's exceptions
    # (order-keyed, SKU ids, SKU rows); the latest snapshot per role (3); the copies per role (3);
    # the releases; the user's permissions (2): twelve held orders or a thousand alike.
    with django_assert_num_queries(16):
        assert client.get("/held/").status_code == 200
    with django_assert_num_queries(19):
        assert client.get(f"/held/order/{BAD_POSTCODE}").status_code == 200


def test_the_list_pages_through_many_held_orders(
    client: Client, cx_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    ExceptionRecord.objects.bulk_create(
        ExceptionRecord(
            rule="ADDRESS_INVALID",
            key=f"BULK-{i:04d}",
            owner="office",
            team="cx",
            priority="P1",
            summary=f"Order BULK-{i:04d} cannot be shipped: city is missing",
        )
        for i in range(120)
    )
    client.force_login(cx_user)

    first = client.get("/held/").content.decode()
    third = client.get("/held/", {"page": 3}).content.decode()

    assert 'Held orders <span class="muted">(132)</span>' in first
    assert "Page 1 of 3" in first
    # P1 first, in the order they were first found; the demo's P2/P3 orders on the last page.
    assert first.index("BULK-0000") < first.index("BULK-0049")
    assert "BULK-0050" not in first
    assert "BULK-0119" in third
    assert all(f"/held/order/{origin}" in third for origin in HELD)
