"""The mappings pages: login, who may change what, forged ids, CSRF, messages, query counts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client

from integration import mappings
from integration.models import MappingChange, NonStockSku, ServiceCode, ShippingMethod, SkuAlias

pytestmark = pytest.mark.django_db

PAGES = (
    "/mappings/shipping/",
    "/mappings/sku-aliases/",
    "/mappings/non-stock/",
    "/mappings/settings/",
    "/mappings/history/",
)


def state() -> tuple[list, list, list, list, int]:
    return (
        list(ShippingMethod.objects.values_list("name", "service__code")),
        list(ServiceCode.objects.values_list("code", "express")),
        list(SkuAlias.objects.values_list("role", "sku", "canonical_sku")),
        list(NonStockSku.objects.values_list("sku", "description")),
        MappingChange.objects.count(),
    )


def test_every_page_needs_a_login(client: Client) -> None:
    for page in PAGES:
        answer = client.get(page)
        assert answer.status_code == 302, page
        assert answer["Location"].startswith("/login/"), page


def test_everyone_may_look_but_only_ops_and_admin_see_the_forms(
    client: Client, cx_user: AbstractUser, ops_user: AbstractUser
) -> None:
    client.force_login(cx_user)
    for page in PAGES:
        html = client.get(page).content.decode()
        assert "You can look; Ops and Admin change mappings and settings." in html, page
        assert "Re-check now</button>" not in html, page
    client.force_login(ops_user)
    shipping = client.get("/mappings/shipping/").content.decode()
    assert "Re-check now</button>" in shipping
    assert "Save mapping</button>" in shipping


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/mappings/shipping/methods/save/", {"name": "Saturday Delivery", "service_code": "WHSAT"}),
        ("/mappings/shipping/services/save/", {"code": "WHSAT", "express": "on"}),
        ("/mappings/sku-aliases/save/", {"role": "wms", "sku": "A", "canonical_sku": "B"}),
        ("/mappings/non-stock/save/", {"sku": "GIFTWRAP"}),
        ("/mappings/settings/", {"dispatch_sla_hours": "12"}),
    ],
)  # fmt: skip
def test_cx_finance_and_warehouse_cannot_change_anything(
    client: Client,
    cx_user: AbstractUser,
    finance_user: AbstractUser,
    warehouse_user: AbstractUser,
    url: str,
    data: dict[str, str],
) -> None:
    before = state()
    for user in (cx_user, finance_user, warehouse_user):
        client.force_login(user)
        assert client.post(url, data).status_code == 403, user.username
    assert state() == before


def test_ops_maps_a_method_through_the_form(client: Client, ops_user: AbstractUser) -> None:
    client.force_login(ops_user)

    answer = client.post(
        "/mappings/shipping/methods/save/",
        {"name": "Saturday Delivery", "service_code": "WHSAT", "express": "on"},
        follow=True,
    )

    assert answer.redirect_chain == [("/mappings/shipping/", 302)]
    html = answer.content.decode()
    assert (
        "Shipping method &#x27;Saturday Delivery&#x27; → WHSAT saved. "
        "It takes effect on the next reconciliation." in html
    )
    assert list(
        ShippingMethod.objects.values_list("name", "service__code", "service__express")
    ) == [("Saturday Delivery", "WHSAT", True)]
    history = client.get("/mappings/history/").content.decode()
    assert "Saturday Delivery" in history
    assert "otto" in history


def test_a_refused_value_says_why_and_saves_nothing(client: Client, ops_user: AbstractUser) -> None:
    client.force_login(ops_user)
    before = state()

    alias = client.post(
        "/mappings/sku-aliases/save/",
        {"role": "wms", "sku": "WFJ101", "canonical_sku": "WFJ101"},
        follow=True,
    )
    settings = client.post(
        "/mappings/settings/", {**mappings.settings_values(), "sku_pattern": "^[A-Z"}
    )

    assert "wms SKU WFJ101 is already canonical" in alias.content.decode()
    assert settings.status_code == 400
    assert "sku_pattern: not a valid regular expression" in settings.content.decode()
    assert state() == before


def test_settings_are_saved_from_the_form(client: Client, ops_user: AbstractUser) -> None:
    client.force_login(ops_user)
    values = {**mappings.settings_values(), "dispatch_sla_hours": "36", "require_phone": ""}
    values.pop("require_phone")  # an unticked box is not sent

    answer = client.post("/mappings/settings/", values, follow=True)

    assert "Saved dispatch_sla_hours, require_phone." in answer.content.decode()
    assert mappings.settings_values()["dispatch_sla_hours"] == 36
    assert mappings.settings_values()["require_phone"] is False


def test_forged_ids_answer_404_and_change_nothing(client: Client, ops_user: AbstractUser) -> None:
    mappings.save_non_stock(ops_user, "GIFTWRAP")
    client.force_login(ops_user)
    before = state()

    for url in (
        "/mappings/shipping/methods/999999/delete/",
        "/mappings/shipping/services/999999/delete/",
        "/mappings/sku-aliases/999999/delete/",
        "/mappings/non-stock/999999/delete/",
    ):
        assert client.post(url).status_code == 404, url
    assert client.post("/mappings/non-stock/save/", {"sku": "X", "pk": "999999"}).status_code == 404
    assert (
        client.post("/mappings/non-stock/save/", {"sku": "X", "pk": "1; drop"}).status_code == 404
    )
    assert client.get("/mappings/non-stock/?edit=abc").status_code == 404
    assert state() == before


def test_changes_need_post_and_csrf(ops_user: AbstractUser) -> None:
    item = NonStockSku.objects.create(sku="GIFTWRAP")
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_user)

    assert client.get(f"/mappings/non-stock/{item.pk}/delete/").status_code == 405
    assert client.post(f"/mappings/non-stock/{item.pk}/delete/").status_code == 403
    assert NonStockSku.objects.filter(pk=item.pk).exists()


def test_a_service_in_use_is_not_removed_and_the_page_says_why(
    client: Client, ops_user: AbstractUser
) -> None:
    mappings.save_shipping_method(ops_user, "Standard", "STD48")
    client.force_login(ops_user)
    service = ServiceCode.objects.get()

    answer = client.post(f"/mappings/shipping/services/{service.pk}/delete/", follow=True)

    assert "Service code STD48 is used by Standard" in answer.content.decode()
    assert ServiceCode.objects.count() == 1


def test_list_pages_take_a_fixed_number_of_queries(
    client: Client, ops_user: AbstractUser, django_assert_num_queries: object
) -> None:
    for i in range(30):
        mappings.save_alias(ops_user, "wms", f"OLD{i}", f"NEW{i}")
        mappings.save_shipping_method(ops_user, f"Method {i}", f"SVC{i % 5}")
        mappings.save_non_stock(ops_user, f"NS{i}")
    client.force_login(ops_user)
    client.get("/mappings/shipping/")  # warm the session and the permission caches

    # session, user, permissions, then the page's own reads: independent of the row count.
    expected = {
        "/mappings/shipping/": 13,
        "/mappings/sku-aliases/": 8,
        "/mappings/non-stock/": 12,
        "/mappings/history/": 7,
        "/mappings/settings/": 7,
    }
    for page, count in expected.items():
        with django_assert_num_queries(count):  # type: ignore[operator]
            assert client.get(page).status_code == 200


def test_an_unticked_express_box_leaves_an_existing_service_express(
    client: Client, ops_user: AbstractUser
) -> None:
    mappings.save_service(ops_user, "WHNDAY", express=True)
    client.force_login(ops_user)

    client.post("/mappings/shipping/methods/save/", {"name": "Next Day", "service_code": "WHNDAY"})
    client.post("/mappings/shipping/methods/save/", {"name": "Economy", "service_code": "ECO"})

    assert list(ServiceCode.objects.order_by("code").values_list("code", "express")) == [
        ("ECO", False),
        ("WHNDAY", True),
    ]
