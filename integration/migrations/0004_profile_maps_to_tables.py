"""Maps kept in the settings profile's values move into the mapping tables (one home each)."""

from django.db import migrations


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201 - migration signature
    profile_model = apps.get_model("integration", "SettingsProfile")
    service_model = apps.get_model("integration", "ServiceCode")
    method_model = apps.get_model("integration", "ShippingMethod")
    non_stock_model = apps.get_model("integration", "NonStockSku")
    profile = profile_model.objects.filter(pk=1).first()
    if profile is None or not isinstance(profile.values, dict):
        return
    values = dict(profile.values)
    express = set(values.pop("express_service_codes", None) or [])
    methods = values.pop("shipping_methods", None) or {}
    for code in sorted(express | set(methods.values())):
        service_model.objects.get_or_create(code=code, defaults={"express": code in express})
    for name, code in methods.items():
        method_model.objects.get_or_create(
            name=name, defaults={"service": service_model.objects.get(code=code)}
        )
    for sku in values.pop("non_stock_skus", None) or []:
        non_stock_model.objects.get_or_create(sku=sku)
    if values != profile.values:
        profile.values = values
        profile.save(update_fields=["values"])


class Migration(migrations.Migration):
    dependencies = [("integration", "0003_mapping_tables_recheck_releases")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
