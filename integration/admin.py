from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from integration import mappings
from integration.models import MappingChange, OrderRelease, Recheck, SettingsProfile
from reconciliation.settings import ReconSettings


@admin.register(SettingsProfile)
class SettingsProfileAdmin(admin.ModelAdmin):
    # The settings page (Mappings → Settings) is the everyday way; this stays for administrators.
    fields = ("values", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not SettingsProfile.objects.exists()

    def has_delete_permission(
        self, request: HttpRequest, obj: SettingsProfile | None = None
    ) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: SettingsProfile, form: object, change: bool
    ) -> None:
        # The same history as the settings page: a row per setting that changed.
        stored = SettingsProfile.objects.filter(pk=obj.pk).values_list("values", flat=True).first()
        with transaction.atomic():
            obj.updated_by = request.user
            super().save_model(request, obj, form, change)
            mappings.log_settings_change(
                request.user,
                ReconSettings.from_mapping(stored or {}),
                ReconSettings.from_mapping(obj.values),
                via="admin",
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: changes go through the pages, which write the history."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MappingChange)
class MappingChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "table", "action", "record", "via")
    list_filter = ("table", "action")
    search_fields = ("record",)


@admin.register(OrderRelease)
class OrderReleaseAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "origin", "order_ref", "status", "attempts", "released_by")
    list_filter = ("status",)
    search_fields = ("origin", "order_ref")


@admin.register(Recheck)
class RecheckAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "status", "requested_by", "cleared", "created", "run")
