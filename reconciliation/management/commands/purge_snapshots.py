"""manage.py purge_snapshots [--days N] [--dry-run]: delete snapshots past the retention period.

The same job runs daily from the schedule (connectors/schedules.py); see reconciliation/retention.py
for what is kept whatever its age.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reconciliation.retention import BATCH_ROWS, purge_snapshots


class Command(BaseCommand):
    help = "Delete snapshots (customers' personal data) older than the retention period."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"keep this many days (default PARITY_RETENTION_DAYS, {settings.PARITY_RETENTION_DAYS})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would go; delete nothing"
        )
        parser.add_argument(
            "--batch-rows", type=int, default=BATCH_ROWS, help="rows per DELETE statement"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] is not None and options["days"] < 0:
            raise CommandError("--days must be 0 or more")
        if options["batch_rows"] < 1:
            raise CommandError("--batch-rows must be 1 or more")
        report = purge_snapshots(
            options["days"], batch_rows=options["batch_rows"], dry_run=options["dry_run"]
        )
        self.stdout.write(str(report))
