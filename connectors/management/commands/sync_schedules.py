"""`manage.py sync_schedules`: write the connectors' schedules (connectors/schedules.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from connectors.schedules import sync_schedules


class Command(BaseCommand):
    help = "Create or update the sync schedules in django-q2 (safe to run on every deploy)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_schedules()
        for action, names in report.items():
            for name in names:
                self.stdout.write(f"{action:8} {name}")
