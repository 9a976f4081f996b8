from django.contrib import admin
from django.http import HttpRequest

from reconciliation.models import ReconciliationRun, Snapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    # Snapshots and runs record what happened: only the store and the run service write them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "role",
        "kind",
        "taken_at",
        "source",
        "source_name",
        "status",
        "created_at",
    )
    list_filter = ("role", "status", "source")
    search_fields = ("kind", "source_name")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "started_at", "finished_at", "as_of", "source")
    list_filter = ("status",)
    search_fields = ("source",)
