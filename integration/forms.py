"""Forms of the mappings pages (ops) and the held order page (CX). They check shape only; the
rules — what a valid mapping, setting or delivery address is — live in integration.mappings and
the engine's validation module, which the views call."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from integration.held_orders import DELIVERY_FIELDS
from integration.mappings import SCALAR_KEYS
from integration.models import SkuAlias
from reconciliation.settings import ReconSettings

INT_HELP = {
    "grace_store_to_erp_minutes": "ORDER_NOT_IN_ERP fires after this many minutes.",
    "grace_to_wms_minutes": "ORDER_NOT_AT_WMS fires after this many minutes.",
    "grace_dispatch_post_minutes": "DISPATCH_NOT_POSTED fires after this many minutes.",
    "grace_store_update_minutes": "STORE_NOT_UPDATED fires after this many minutes.",
    "grace_adjustment_post_minutes": "ADJUSTMENT_NOT_POSTED fires after this many minutes.",
    "dispatch_sla_hours": "STUCK_PRE_DISPATCH: standard orders, hours in progress.",
    "express_sla_hours": "STUCK_PRE_DISPATCH: express orders, hours in progress.",
    "stock_tolerance_units": "STOCK_DRIFT ignores differences up to this many units.",
    "safety_buffer_units": "OVERSELL_RISK / UNDERSELL: units held back from the store.",
    "stale_after_minutes": "SNAPSHOT_STALE fires when a snapshot is older than this.",
}
SETTING_LABELS = {
    "grace_store_to_erp_minutes": "Store → ERP grace (minutes)",
    "grace_to_wms_minutes": "To warehouse grace (minutes)",
    "grace_dispatch_post_minutes": "Dispatch posting grace (minutes)",
    "grace_store_update_minutes": "Store update grace (minutes)",
    "grace_adjustment_post_minutes": "Adjustment posting grace (minutes)",
    "dispatch_sla_hours": "Dispatch SLA (hours)",
    "express_sla_hours": "Express dispatch SLA (hours)",
    "stock_tolerance_units": "Stock tolerance (units)",
    "safety_buffer_units": "Safety buffer (units)",
    "stale_after_minutes": "Snapshot stale after (minutes)",
}
PHONE = re.compile(r"^\+?[0-9 ()-]+$")


class ServiceForm(forms.Form):
    code = forms.CharField(label="Service code", max_length=64)
    express = forms.BooleanField(label="Express", required=False)
    description = forms.CharField(max_length=200, required=False)


class ShippingMethodForm(forms.Form):
    name = forms.CharField(label="Shipping method", max_length=200)
    service_code = forms.CharField(
        label="Warehouse service code",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "service-codes", "autocomplete": "off"}),
    )
    express = forms.BooleanField(
        label="Service is express",
        required=False,
        help_text="Marks the service code express (every method mapped to it shares this).",
    )


class AliasForm(forms.Form):
    role = forms.ChoiceField(choices=SkuAlias.Role.choices)
    sku = forms.CharField(label="SKU in that system", max_length=200)
    canonical_sku = forms.CharField(label="Canonical SKU", max_length=200)


class NonStockForm(forms.Form):
    sku = forms.CharField(label="Canonical SKU", max_length=200)
    description = forms.CharField(max_length=200, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file")


class SettingsForm(forms.Form):
    """One field per scalar setting, named as in config.json."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        defaults = ReconSettings().to_json()
        for key in SCALAR_KEYS:
            label = SETTING_LABELS.get(key, key.replace("_", " ").capitalize())
            default = defaults[key]
            if key == "sku_pattern":
                field: forms.Field = forms.CharField(
                    label="SKU pattern",
                    max_length=500,
                    help_text="SKU_INVALID_FORMAT: a SKU must match this regular expression "
                    "as a whole.",
                )
            elif key == "require_phone":
                field = forms.BooleanField(
                    label="Require a phone number",
                    required=False,
                    help_text="ADDRESS_INVALID: an order without a phone cannot be shipped.",
                )
            elif key == "money_tolerance":
                field = forms.DecimalField(
                    label="Money tolerance",
                    min_value=0,
                    decimal_places=4,
                    max_digits=12,
                    help_text="TAX_MISMATCH / TOTAL_MISMATCH ignore differences up to this.",
                )
            else:
                field = forms.IntegerField(
                    label=label, min_value=0, help_text=INT_HELP.get(key, "")
                )
            field.default = default  # type: ignore[attr-defined]  # shown next to the field
            self.fields[key] = field

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["money_tolerance"] = str(data["money_tolerance"])
        return data


class HeldOrderForm(forms.Form):
    """The delivery details CX may correct, and the service the order ships by."""

    ship_name = forms.CharField(label="Name", max_length=200, required=False)
    ship_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    ship_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    ship_city = forms.CharField(label="City", max_length=100, required=False)
    ship_postcode = forms.CharField(label="Postcode", max_length=16, required=False)
    ship_country = forms.CharField(
        label="Country",
        max_length=2,
        required=False,
        help_text="Two-letter code, e.g. GB.",
        widget=forms.TextInput(attrs={"size": 3}),
    )
    ship_phone = forms.CharField(label="Phone", max_length=40, required=False)
    shipping_method = forms.ChoiceField(label="Service", required=False)
    note = forms.CharField(
        label="Note for the audit trail",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        methods: dict[str, str] | None = None,
        express: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        methods = methods or {}
        choices = [("", "— pick a mapped service —")]
        for name, code in sorted(methods.items()):
            tag = ", express" if code in express else ""
            choices.append((name, f"{name} ({code}{tag})"))
        current = (self.initial or {}).get("shipping_method")
        if current and current not in methods:
            # Shown so CX sees what the order says now; the engine's check decides if it goes.
            choices.insert(1, (current, f"{current} (as ordered)"))
        self.fields["shipping_method"].choices = choices
        # Nothing to pick when no map exists: SHIPPING_UNMAPPED does not run then either.
        self.has_services = bool(methods)

    def clean_ship_country(self) -> str:
        return self.cleaned_data["ship_country"].strip().upper()

    def clean_ship_phone(self) -> str:
        phone = " ".join(self.cleaned_data["ship_phone"].split())
        # A shape check on top of the engine's "present" check: a carrier cannot ring letters.
        if phone and (not PHONE.match(phone) or sum(ch.isdigit() for ch in phone) < 7):
            raise forms.ValidationError(
                f"phone '{phone}' is not a phone number (digits, spaces, + ( ) - only)"
            )
        return phone

    def corrections(self) -> dict[str, str]:
        return {f: self.cleaned_data[f] for f in (*DELIVERY_FIELDS, "shipping_method")}
