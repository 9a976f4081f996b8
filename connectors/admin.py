"""Admin: connections without their secrets (read-only names only), sync runs view-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from connectors.models import Connection, QuarantinedRecord, SyncRun


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    # Credentials are edited on the Connections page, write-only; here only their names show.
    list_display = ("name", "kind", "role", "base_url", "enabled", "schedule_minutes")
    list_filter = ("kind", "role", "enabled")
    search_fields = ("name",)
    fields = (
        "name",
        "kind",
        "role",
        "base_url",
        "credential_names",
        "options",
        "enabled",
        "schedule_minutes",
    )
    readonly_fields = ("credential_names",)


class QuarantineInline(admin.TabularInline):
    model = QuarantinedRecord
    extra = 0
    can_delete = False
    fields = ("file", "ref", "reason", "payload")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    # Runs are written by the sync service only.
    list_display = ("id", "connection", "kind", "state", "trigger", "created_at", "quarantined")
    list_filter = ("state", "kind", "connection")
    list_select_related = ("connection",)
    inlines = (QuarantineInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False
