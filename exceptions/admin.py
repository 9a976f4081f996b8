from django.contrib import admin
from django.http import HttpRequest

from exceptions.models import ExceptionEvent, ExceptionRecord


class EventInline(admin.TabularInline):
    # The audit trail is written by the sync and by actions, never edited by hand.
    model = ExceptionEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "from_value", "to_value", "note", "run")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(ExceptionRecord)
class ExceptionRecordAdmin(admin.ModelAdmin):
    # View only: every change to an exception goes through the sync or an action, which write
    # the event saying who changed what; an admin edit would leave no trace.
    list_display = ("id", "priority", "rule", "key", "team", "status", "score", "last_seen")
    list_filter = ("status", "priority", "owner", "team")
    search_fields = ("=key", "=rule")
    show_full_result_count = False  # no COUNT(*) over a large table on every page
    inlines = (EventInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(ExceptionEvent)
class ExceptionEventAdmin(admin.ModelAdmin):
    list_display = ("id", "at", "kind", "exception", "actor", "run")
    list_filter = ("kind",)
    list_select_related = ("exception", "actor", "run")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False
