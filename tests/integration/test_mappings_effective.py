"""What a run reads: defaults ← profile scalars ← mapping tables ← the bundle's config.json (maps
merged, the bundle's entry winning), and SKU aliases merged with the bundle's sku_map."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from django.core.exceptions import ValidationError

from exceptions.models import ExceptionRecord
from integration import mappings
from integration.models import NonStockSku, ServiceCode, SettingsProfile, ShippingMethod, SkuAlias
from reconciliation.bundle import read_bundle
from reconciliation.frames import PANDAS_DTYPES, Bundle
from reconciliation.models import ReconciliationRun
from reconciliation.runs import effective_settings, reconcile_path
from reconciliation.settings import ReconSettings
from tests.bundles import write_bundle_dir
from tests.integration.conftest import SATURDAY

pytestmark = pytest.mark.django_db


def tables(
    methods: dict[str, str] | None = None,
    express: tuple[str, ...] = (),
    non_stock: tuple[str, ...] = (),
) -> None:
    for name, code in (methods or {}).items():
        service, _ = ServiceCode.objects.get_or_create(code=code)
        ShippingMethod.objects.create(name=name, service=service)
    for code in express:
        ServiceCode.objects.update_or_create(code=code, defaults={"express": True})
    for sku in non_stock:
        NonStockSku.objects.create(sku=sku)


def test_with_empty_tables_the_defaults_apply() -> None:
    assert mappings.database_settings() == ReconSettings()
    assert effective_settings({}) == ReconSettings()


def test_the_tables_give_the_maps_and_the_profile_the_scalars() -> None:
    SettingsProfile.objects.create(values={"dispatch_sla_hours": 36})
    tables({"Standard": "STD48", "Next Day": "NDAY"}, express=("NDAY", "SAT"), non_stock=("WRAP",))

    settings = effective_settings({})

    assert settings == ReconSettings(
        dispatch_sla_hours=36,
        shipping_methods={"Next Day": "NDAY", "Standard": "STD48"},
        express_service_codes=("NDAY", "SAT"),
        non_stock_skus=("WRAP",),
    )


def test_config_scalars_win_and_maps_merge_with_the_bundle_winning_on_a_conflict() -> None:
    SettingsProfile.objects.create(values={"dispatch_sla_hours": 36, "require_phone": False})
    tables({"Standard": "STD48", "Saturday": "SAT"}, express=("SAT",), non_stock=("WRAP",))
    config = {
        "dispatch_sla_hours": 12,
        "shipping_methods": {"Standard": "RM48", "Next Day": "NDAY"},
        "express_service_codes": ["NDAY"],
        "non_stock_skus": ["CARRIAGE", "WRAP"],
    }

    settings = effective_settings(config)

    assert settings.dispatch_sla_hours == 12  # the bundle's
    assert settings.require_phone is False  # the profile's
    assert settings.shipping_methods == {"Standard": "RM48", "Saturday": "SAT", "Next Day": "NDAY"}
    assert settings.express_service_codes == ("NDAY", "SAT")
    assert settings.non_stock_skus == ("CARRIAGE", "WRAP")


def test_a_bad_config_value_is_refused_naming_the_key() -> None:
    tables({"Standard": "STD48"})
    with pytest.raises(ValueError, match="shipping_methods: expected an object"):
        effective_settings({"shipping_methods": ["Standard"]})


def test_sku_aliases_merge_with_the_bundles_sku_map_the_bundle_winning() -> None:
    SkuAlias.objects.create(role="wms", sku="OLD1", canonical_sku="TABLE-CANON")
    SkuAlias.objects.create(role="wms", sku="OLD2", canonical_sku="NEW2")
    text = PANDAS_DTYPES["text"]
    bundle_map = pd.DataFrame(
        {"role": ["wms"], "sku": ["OLD1"], "canonical_sku": ["BUNDLE-CANON"]}
    ).astype(text)

    merged = mappings.effective_sku_map(bundle_map)

    assert merged.to_dict("records") == [
        {"role": "wms", "sku": "OLD1", "canonical_sku": "BUNDLE-CANON"},
        {"role": "wms", "sku": "OLD2", "canonical_sku": "NEW2"},
    ]
    assert mappings.effective_sku_map(None).to_dict("records") == [
        {"role": "wms", "sku": "OLD1", "canonical_sku": "TABLE-CANON"},
        {"role": "wms", "sku": "OLD2", "canonical_sku": "NEW2"},
    ]
    SkuAlias.objects.all().delete()
    assert mappings.effective_sku_map(bundle_map) is bundle_map


def test_the_profile_refuses_the_maps_that_live_in_the_tables() -> None:
    profile = SettingsProfile(values={"shipping_methods": {"Standard": "STD48"}})
    with pytest.raises(ValidationError) as caught:
        profile.full_clean()
    assert caught.value.message_dict["values"] == [
        "shipping_methods: edited on the Mappings pages, not here"
    ]


def _sku_bundle(tmp_path: Path) -> Path:
    """store → wms: the warehouse knows the mug as LEGACY-MUG only."""
    placed = "2026-11-30T20:00:00Z"
    return write_bundle_dir(
        tmp_path / "b",
        systems={"store": "woocommerce", "wms": "whistl"},
        files={
            "store/orders.csv": [{"order_ref": "W1", "status": "open", "placed_at": placed}],
            "store/order_lines.csv": [
                {"order_ref": "W1", "line_no": "1", "sku": "MUG1", "quantity": "1"}
            ],
            "wms/orders.csv": [],
            "wms/products.csv": [{"sku": "LEGACY-MUG", "name": "Mug"}],
        },
    )


def test_a_run_uses_the_table_aliases_and_records_the_bundles_own_sku_map(
    tmp_path: Path,
) -> None:
    path = _sku_bundle(tmp_path)
    _, before = reconcile_path(path, save=False)
    assert ("SKU_UNKNOWN", "MUG1") in set(
        zip(before.exceptions["rule"], before.exceptions["key"], strict=True)
    )

    SkuAlias.objects.create(role="wms", sku="LEGACY-MUG", canonical_sku="MUG1")
    run, after = reconcile_path(path)

    assert "SKU_UNKNOWN" not in set(after.exceptions["rule"])
    assert run.sku_map == []  # the bundle brought none; the tables are read afresh each run


def test_a_shipping_mapping_clears_shipping_unmapped_on_the_next_run(
    demo_bundle: Bundle, reconcile: Callable[..., ReconciliationRun]
) -> None:
    reconcile(demo_bundle)
    unmapped = ExceptionRecord.objects.filter(rule="SHIPPING_UNMAPPED", status="open")
    assert sorted(unmapped.values_list("key", flat=True)) == list(SATURDAY)

    tables({"Saturday Delivery": "WHSAT"}, express=("WHSAT",))
    run = reconcile(demo_bundle)

    assert not ExceptionRecord.objects.filter(rule="SHIPPING_UNMAPPED", status="open").exists()
    assert run.totals["auto_resolved"] == 2
    assert run.settings["shipping_methods"] == {
        "Next Day Delivery": "WHNDAY",
        "Saturday Delivery": "WHSAT",
        "Standard Delivery": "WHSTD48",
    }
    assert run.settings["express_service_codes"] == ["WHNDAY", "WHSAT"]
    assert run.config == demo_bundle.config  # the bundle's config.json as given


def test_read_bundle_still_reads_without_tables(tmp_path: Path) -> None:
    bundle = read_bundle(_sku_bundle(tmp_path))
    assert mappings.with_table_aliases(bundle) is bundle


def test_maps_kept_in_the_profile_before_the_tables_move_into_them() -> None:
    from importlib import import_module

    from django.apps import apps

    SettingsProfile.objects.create(
        values={
            "dispatch_sla_hours": 36,
            "shipping_methods": {"Standard": "STD48", "Next Day": "NDAY"},
            "express_service_codes": ["NDAY", "SAT"],
            "non_stock_skus": ["WRAP"],
        }
    )
    migration = import_module("integration.migrations.0004_profile_maps_to_tables")

    migration.forwards(apps, None)
    migration.forwards(apps, None)  # twice: nothing doubled

    assert SettingsProfile.objects.get().values == {"dispatch_sla_hours": 36}
    assert effective_settings({}) == ReconSettings(
        dispatch_sla_hours=36,
        shipping_methods={"Next Day": "NDAY", "Standard": "STD48"},
        express_service_codes=("NDAY", "SAT"),
        non_stock_skus=("WRAP",),
    )
