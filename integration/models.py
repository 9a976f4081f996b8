"""The integration's own records: the settings profile (later connections and mapping tables)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from reconciliation.settings import ReconSettings, SettingsError

SINGLETON_ID = 1


def _known_keys() -> set[str]:
    return set(ReconSettings().to_json())


class SettingsProfile(models.Model):
    """The reconciliation defaults, one row; a bundle's config.json is laid over them per run."""

    # No default on the key: save() sets it, and Django then updates the one row if it exists
    # instead of trying to insert a second.
    id = models.PositiveSmallIntegerField(primary_key=True, editable=False)
    values = models.JSONField(
        default=dict,
        blank=True,
        help_text='config.json keys of rules.md, e.g. {"dispatch_sla_hours": 36}',
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "settings profile"
        constraints = [
            models.CheckConstraint(condition=Q(id=SINGLETON_ID), name="settings_profile_singleton")
        ]

    def __str__(self) -> str:
        return "Reconciliation settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = SINGLETON_ID
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not isinstance(self.values, dict):
            raise ValidationError({"values": "Expected an object of setting → value."})
        # config.json may carry other tools' keys, but here an unknown key is a typo nobody
        # would notice: the setting would silently keep its default.
        unknown = sorted(set(self.values) - _known_keys())
        if unknown:
            raise ValidationError({"values": f"Unknown setting(s): {', '.join(unknown)}"})
        try:
            ReconSettings.from_mapping(self.values)
        except SettingsError as exc:
            raise ValidationError({"values": str(exc)}) from exc

    @classmethod
    def load(cls) -> SettingsProfile:
        """The profile row, created with no overrides the first time."""
        profile, _ = cls.objects.get_or_create(pk=SINGLETON_ID)
        return profile

    @classmethod
    def current(cls) -> ReconSettings:
        """The defaults every run starts from; reads only (no row → the rules.md defaults)."""
        profile = cls.objects.filter(pk=SINGLETON_ID).first()
        return ReconSettings.from_mapping(profile.values if profile else {})
