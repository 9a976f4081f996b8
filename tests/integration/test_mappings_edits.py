"""Mapping edits: validated, each written to the append-only history (who, when, before → after)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client

from integration import mappings
from integration.mappings import MappingError
from integration.models import (
    AppendOnlyError,
    MappingChange,
    NonStockSku,
    ServiceCode,
    SettingsProfile,
    ShippingMethod,
    SkuAlias,
)

pytestmark = pytest.mark.django_db


def history() -> list[tuple[str, str, str, object, object, str]]:
    return list(
        MappingChange.objects.order_by("id").values_list(
            "table", "action", "record", "before", "after", "actor__username"
        )
    )


def test_mapping_a_method_creates_its_service_and_logs_both(ops_user: AbstractUser) -> None:
    mappings.save_shipping_method(ops_user, " Saturday Delivery ", "WHSAT", express=True)

    method = ShippingMethod.objects.select_related("service").get()
    assert (method.name, method.service.code, method.service.express) == (
        "Saturday Delivery",
        "WHSAT",
        True,
    )
    assert history() == [
        ("service", "added", "WHSAT", None, {"code": "WHSAT", "express": True, "description": ""}, "otto"),
        ("shipping_method", "added", "Saturday Delivery", None, {"name": "Saturday Delivery", "service_code": "WHSAT"}, "otto"),
    ]  # fmt: skip


def test_changing_and_removing_a_method_is_logged_with_before_and_after(
    ops_user: AbstractUser, admin_user: AbstractUser
) -> None:
    method = mappings.save_shipping_method(ops_user, "Saturday Delivery", "WHSAT")
    mappings.save_shipping_method(admin_user, "Saturday Delivery", "WHNDAY", method=method)
    mappings.delete_shipping_method(admin_user, ShippingMethod.objects.get())

    assert history()[-2:] == [
        ("shipping_method", "changed", "Saturday Delivery", {"name": "Saturday Delivery", "service_code": "WHSAT"}, {"name": "Saturday Delivery", "service_code": "WHNDAY"}, "ada"),
        ("shipping_method", "removed", "Saturday Delivery", {"name": "Saturday Delivery", "service_code": "WHNDAY"}, None, "ada"),
    ]  # fmt: skip
    assert ShippingMethod.objects.count() == 0
    assert sorted(ServiceCode.objects.values_list("code", flat=True)) == ["WHNDAY", "WHSAT"]


def test_saving_the_same_values_again_logs_nothing(ops_user: AbstractUser) -> None:
    method = mappings.save_shipping_method(ops_user, "Standard", "STD48")
    count = MappingChange.objects.count()
    mappings.save_shipping_method(ops_user, "Standard", "STD48", method=method)
    mappings.save_service(ops_user, "STD48", express=False)
    assert MappingChange.objects.count() == count


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda u: mappings.save_shipping_method(u, "", "X"), "Shipping method is required"),
        (lambda u: mappings.save_shipping_method(u, "Std", "WH STD"), "Service code for Std 'WH STD' must not contain spaces"),
        (lambda u: mappings.save_shipping_method(u, "Std", ""), "Service code for Std is required"),
        (lambda u: mappings.save_alias(u, "warehouse", "A", "B"), "role 'warehouse' is not one of store, erp, wms"),
        (lambda u: mappings.save_alias(u, "wms", "A", "A"), "wms SKU A is already canonical"),
        (lambda u: mappings.save_alias(u, "wms", "A", ""), "Canonical SKU for wms A is required"),
        (lambda u: mappings.save_non_stock(u, "   "), "Non-stock SKU is required"),
        (lambda u: mappings.save_settings(u, {"sku_pattern": "["}), "sku_pattern: not a valid regular expression"),
        (lambda u: mappings.save_settings(u, {"dispatch_sla_hours": -3}), "dispatch_sla_hours: expected a whole number of 0 or more"),
        (lambda u: mappings.save_settings(u, {"shipping_methods": {}}), "Unknown setting(s): shipping_methods"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_naming_the_record(
    ops_user: AbstractUser, call: object, message: str
) -> None:
    with pytest.raises(MappingError) as caught:
        call(ops_user)  # type: ignore[operator]
    assert str(caught.value).startswith(message)
    assert MappingChange.objects.count() == 0
    assert SettingsProfile.objects.count() == 0


def test_duplicates_are_refused(ops_user: AbstractUser) -> None:
    mappings.save_shipping_method(ops_user, "Standard", "STD48")
    mappings.save_alias(ops_user, "wms", "WFJ101", "JK3001NVYS")
    mappings.save_non_stock(ops_user, "GIFTWRAP")
    count = MappingChange.objects.count()

    with pytest.raises(MappingError, match="Shipping method 'Standard' is already mapped"):
        mappings.save_shipping_method(ops_user, "Standard", "NDAY")
    with pytest.raises(MappingError, match="wms SKU WFJ101 already has an alias"):
        mappings.save_alias(ops_user, "wms", "WFJ101", "OTHER")
    with pytest.raises(MappingError, match="GIFTWRAP is already a non-stock SKU"):
        mappings.save_non_stock(ops_user, "GIFTWRAP")

    assert MappingChange.objects.count() == count
    # The failed save_shipping_method did not leave a new service behind either.
    assert list(ServiceCode.objects.values_list("code", flat=True)) == ["STD48"]


def test_a_service_in_use_cannot_be_removed(ops_user: AbstractUser) -> None:
    mappings.save_shipping_method(ops_user, "Standard", "STD48")
    service = ServiceCode.objects.get()

    with pytest.raises(MappingError, match="Service code STD48 is used by Standard"):
        mappings.delete_service(ops_user, service)
    assert ServiceCode.objects.count() == 1


def test_settings_keep_only_what_differs_from_the_defaults(ops_user: AbstractUser) -> None:
    changed = mappings.save_settings(
        ops_user, {"dispatch_sla_hours": 36, "grace_to_wms_minutes": 60, "money_tolerance": "0.01"}
    )

    assert changed == ["dispatch_sla_hours", "money_tolerance"]
    profile = SettingsProfile.objects.get()
    assert profile.values == {"dispatch_sla_hours": 36, "money_tolerance": "0.01"}
    assert profile.updated_by == ops_user
    assert history() == [
        ("setting", "changed", "dispatch_sla_hours", 48, 36, "otto"),
        ("setting", "changed", "money_tolerance", "0.005", "0.01", "otto"),
    ]
    assert mappings.save_settings(ops_user, {"dispatch_sla_hours": "36"}) == []
    mappings.save_settings(ops_user, {"dispatch_sla_hours": 48})
    assert SettingsProfile.objects.get().values == {"money_tolerance": "0.01"}


def test_aliases_and_non_stock_round_trip(ops_user: AbstractUser) -> None:
    alias = mappings.save_alias(ops_user, "WMS", "WFJ101", "JK3001NVYS")
    mappings.save_alias(ops_user, "wms", "WFJ101", "JK3001NVYM", alias=alias)
    item = mappings.save_non_stock(ops_user, "GIFTWRAP", "Gift wrap")
    mappings.delete_alias(ops_user, alias)
    mappings.delete_non_stock(ops_user, item)

    assert SkuAlias.objects.count() == NonStockSku.objects.count() == 0
    assert [row[:3] for row in history()] == [
        ("sku_alias", "added", "wms WFJ101"),
        ("sku_alias", "changed", "wms WFJ101"),
        ("non_stock", "added", "GIFTWRAP"),
        ("sku_alias", "removed", "wms WFJ101"),
        ("non_stock", "removed", "GIFTWRAP"),
    ]


def test_the_history_is_append_only(ops_user: AbstractUser) -> None:
    mappings.save_non_stock(ops_user, "GIFTWRAP")
    change = MappingChange.objects.get()

    with pytest.raises(AppendOnlyError):
        change.save()
    with pytest.raises(AppendOnlyError):
        change.delete()
    with pytest.raises(AppendOnlyError):
        MappingChange.objects.update(record="x")
    with pytest.raises(AppendOnlyError):
        MappingChange.objects.all().delete()
    assert MappingChange.objects.get().record == "GIFTWRAP"


def test_a_change_in_the_admin_is_in_the_history_too(
    admin_client: Client, admin_user: AbstractUser
) -> None:
    SettingsProfile.objects.create(values={"dispatch_sla_hours": 36})

    saved = admin_client.post(
        "/admin/integration/settingsprofile/1/change/", {"values": '{"stale_after_minutes": 90}'}
    )

    assert saved.status_code == 302
    assert history() == [
        ("setting", "changed", "dispatch_sla_hours", 36, 48, "ada"),
        ("setting", "changed", "stale_after_minutes", 360, 90, "ada"),
    ]
    assert MappingChange.objects.filter(via="admin").count() == 2
    assert admin_client.get("/admin/integration/mappingchange/").status_code == 200
    assert admin_client.get("/admin/integration/mappingchange/add/").status_code == 403
