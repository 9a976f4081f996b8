"""The integration's own records: the settings profile, the mapping tables and their history,
"re-check now" runs and the releases of held orders."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from reconciliation.settings import ReconSettings, SettingsError

SINGLETON_ID = 1
# The config.json keys kept in the mapping tables below rather than in the profile's values.
MAP_KEYS: tuple[str, ...] = ("shipping_methods", "express_service_codes", "non_stock_skus")


def _known_keys() -> set[str]:
    return set(ReconSettings().to_json())


class SettingsProfile(models.Model):
    """The scalar reconciliation defaults, one row (the maps are the tables below); a bundle's
    config.json is laid over them per run (integration.mappings.effective_settings)."""

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
        # Two homes for one map would leave people guessing which one is in force.
        tabled = [key for key in MAP_KEYS if key in self.values]
        if tabled:
            raise ValidationError(
                {"values": f"{', '.join(tabled)}: edited on the Mappings pages, not here"}
            )
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


# -- mapping tables (docs/ops.md) ------------------------------------------------------------


class ServiceCode(models.Model):
    """A warehouse delivery service (what the 3PL calls it) and whether it is express."""

    code = models.CharField(max_length=64, unique=True)
    express = models.BooleanField(
        default=False, help_text="Express services are held to express_sla_hours."
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ShippingMethod(models.Model):
    """A shipping method as the store/ERP names it, mapped to the warehouse service it ships by."""

    name = models.CharField(max_length=200, unique=True)
    # PROTECT: a service still in use cannot vanish under its methods.
    service = models.ForeignKey(ServiceCode, on_delete=models.PROTECT, related_name="methods")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} → {self.service_id and self.service.code}"


class SkuAlias(models.Model):
    """One system's SKU and the canonical SKU it stands for (a row of sku_map.csv)."""

    class Role(models.TextChoices):
        STORE = "store", "Store"
        ERP = "erp", "ERP"
        WMS = "wms", "Warehouse"

    role = models.CharField(max_length=8, choices=Role.choices)
    sku = models.CharField(max_length=200)
    canonical_sku = models.CharField(max_length=200)

    class Meta:
        ordering = ["role", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["role", "sku"], name="sku_alias_role_sku_unique")
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.sku} → {self.canonical_sku}"


class NonStockSku(models.Model):
    """A canonical SKU that is never stock (gift wrap, carriage): kept out of the warehouse feed."""

    sku = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = "non-stock SKU"

    def __str__(self) -> str:
        return self.sku


class AppendOnlyError(Exception):
    """An audit row was about to be changed or deleted."""


class MappingChangeQuerySet(models.QuerySet["MappingChange"]):
    # The history is evidence: bulk paths that bypass save() must not rewrite it either.
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("mapping changes are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("mapping changes are append-only")


class MappingChange(models.Model):
    """Who changed which mapping or setting, when, from what to what. Append-only."""

    class Table(models.TextChoices):
        SHIPPING_METHOD = "shipping_method", "Shipping method"
        SERVICE = "service", "Service code"
        SKU_ALIAS = "sku_alias", "SKU alias"
        NON_STOCK = "non_stock", "Non-stock SKU"
        SETTING = "setting", "Setting"

    class Action(models.TextChoices):
        ADDED = "added", "Added"
        CHANGED = "changed", "Changed"
        REMOVED = "removed", "Removed"

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    table = models.CharField(max_length=24, choices=Table.choices)
    action = models.CharField(max_length=8, choices=Action.choices)
    record = models.TextField()  # what people call the row: "Saturday Delivery", "wms WFJ101M"
    before = models.JSONField(null=True, blank=True)  # None when added
    after = models.JSONField(null=True, blank=True)  # None when removed
    via = models.CharField(max_length=200, blank=True)  # "form", "CSV import shipping.csv"

    objects = MappingChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["table", "-at"], name="mapping_change_table_at")]
        # Granted to Ops and Admin by integration.roles.ensure_role_groups().
        permissions = [
            ("change_mappings", "Can edit the mapping tables and settings and re-check"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.table} {self.record}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("mapping changes are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("mapping changes are append-only")


# -- re-check now ----------------------------------------------------------------------------


class Recheck(models.Model):
    """ "Re-check now": the rules re-run on the latest snapshots with the current mappings.

    queued → running → complete | failed; at most one queued or running at a time (the database
    refuses a second), and never while a reconciliation run is running."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    ACTIVE: tuple[str, ...] = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.CharField(max_length=200, blank=True)
    run = models.ForeignKey(
        "reconciliation.ReconciliationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    open_before = models.PositiveIntegerField(null=True, blank=True)
    open_after = models.PositiveIntegerField(null=True, blank=True)
    cleared = models.PositiveIntegerField(null=True, blank=True)  # auto-resolved by the run
    created = models.PositiveIntegerField(null=True, blank=True)  # opened + reopened
    per_rule = models.JSONField(default=dict, blank=True)  # rule -> {"cleared": n, "created": n}
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_recheck",
            )
        ]

    def __str__(self) -> str:
        return f"re-check {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


# -- held orders released by CX (docs/cx.md) -------------------------------------------------


class OrderRelease(models.Model):
    """An order corrected by a person and released to the warehouse: the outbox row the send
    task works from, and the record of what was changed."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # No enabled warehouse connection to send through: the release is the record.
        RECORDED = "recorded", "Recorded (no warehouse connection)"

    origin = models.TextField()  # the order's origin key (the held exceptions' key)
    order_ref = models.TextField()  # the copy that goes to the warehouse
    role = models.CharField(max_length=8)  # whose copy that is (the warehouse's upstream)
    before = models.JSONField(default=dict)  # delivery fields as the snapshot had them
    payload = models.JSONField(default=dict)  # the corrected order, as sent
    changes = models.JSONField(default=dict)  # field -> [before, after], changed fields only
    exception_ids = models.JSONField(default=list)  # the exceptions the release resolved
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    warehouse_ref = models.TextField(blank=True)  # the warehouse's order number (or file) once sent
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["origin", "-created_at"], name="order_release_origin")]
        # Granted to CX, Ops and Admin by integration.roles.ensure_role_groups().
        permissions = [("release_held_order", "Can correct and release held orders")]

    def __str__(self) -> str:
        return f"release of {self.origin} ({self.status})"
