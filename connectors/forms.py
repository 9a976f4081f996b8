"""The connection form: credentials are write-only (never rendered back, blank keeps them)."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from connectors.base import REGISTRY, Connector, ConnectorError
from connectors.http import check_url
from connectors.models import Connection

CREDENTIAL_PREFIX = "credential_"


def kind_choices() -> list[tuple[str, str]]:
    return sorted(((kind, cls.label or kind) for kind, cls in REGISTRY.items()), key=lambda c: c[1])


class ConnectionForm(forms.ModelForm):
    """Edits one connection of a fixed kind; one password field per credential the kind needs."""

    options = forms.JSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='Connector options as JSON, e.g. field mapping overrides: {"status_map": {...}}',
    )

    class Meta:
        model = Connection
        fields = ("name", "role", "base_url", "enabled", "schedule_minutes", "options")
        widgets = {"base_url": forms.URLInput(attrs={"size": 50})}

    def __init__(self, *args: Any, connector: type[Connector], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.instance.kind = connector.kind
        if connector.roles:
            self.fields["role"].choices = [
                (value, label)
                for value, label in self.fields["role"].choices
                if value in connector.roles
            ]
            if len(connector.roles) == 1:
                self.fields["role"].initial = connector.roles[0]
        stored = set(self.instance.credential_names or [])
        for name in connector.credential_fields:
            is_set = name in stored
            self.fields[CREDENTIAL_PREFIX + name] = forms.CharField(
                label=name.replace("_", " ").capitalize(),
                required=not is_set,
                strip=True,
                # render_value=False: the stored value is never sent back, not even after an error.
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text="Set; leave blank to keep it." if is_set else "Stored encrypted.",
            )

    def credential_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(CREDENTIAL_PREFIX)]

    def settings_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(CREDENTIAL_PREFIX)]

    def clean_base_url(self) -> str:
        url = self.cleaned_data["base_url"].strip()
        try:
            check_url(url)
        except ConnectorError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url.rstrip("/")

    def clean_options(self) -> dict[str, Any]:
        value = self.cleaned_data.get("options") or {}
        if isinstance(value, str):  # a JSON string typed in by hand
            value = json.loads(value)
        if not isinstance(value, dict):
            raise forms.ValidationError("Options must be a JSON object.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        role = cleaned.get("role")
        if cleaned.get("enabled") and role:
            clash = Connection.objects.filter(enabled=True, role=role).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(
                    "enabled",
                    f"{clash.first()} already feeds the {role} role; disable it first.",
                )
        return cleaned

    def save(self, commit: bool = True) -> Connection:
        connection = super().save(commit=False)
        values = {
            name[len(CREDENTIAL_PREFIX) :]: self.cleaned_data.get(name) or ""
            for name in self.fields
            if name.startswith(CREDENTIAL_PREFIX)
        }
        connection.set_credentials(values, keep_blank=True)
        if commit:
            connection.save()
        return connection


class SyncNowForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("delta", "Changes"), ("full", "Full refresh")], initial="delta"
    )
