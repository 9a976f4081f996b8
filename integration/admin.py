from django.contrib import admin
from django.http import HttpRequest

from integration.models import SettingsProfile


@admin.register(SettingsProfile)
class SettingsProfileAdmin(admin.ModelAdmin):
    # Editable here for now; a settings page with a proper form can replace this.
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
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
