"""manage.py reconcile_bundle PATH [--json FILE] [--no-save]: reconcile one snapshot bundle."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from reconciliation.bundle import BundleError
from reconciliation.engine import Result, result_json
from reconciliation.models import ReconciliationRun, RunAlreadyRunning
from reconciliation.runs import reconcile_path
from reconciliation.settings import SettingsError


class Command(BaseCommand):
    help = "Reconcile a snapshot bundle (directory or .zip), save it and record its exceptions."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="bundle directory or .zip")
        parser.add_argument(
            "--json", metavar="FILE", help="write the exceptions as JSON to FILE ('-' = stdout)"
        )
        parser.add_argument(
            "--no-save",
            action="store_true",
            help="read and reconcile only: nothing is written to the database",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        json_target = options["json"]
        # With the JSON on stdout, everything for people goes to stderr.
        out = self.stderr if json_target == "-" else self.stdout
        try:
            run, result = reconcile_path(
                options["path"], save=not options["no_save"], progress=out.write
            )
        except BundleError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            if exc.omitted:
                self.stderr.write(f"… and {exc.omitted} more")
            total = len(exc.problems) + exc.omitted
            raise CommandError(
                f"{total} problem(s) in bundle {options['path']}; nothing was saved"
            ) from exc
        except (SettingsError, RunAlreadyRunning) as exc:
            raise CommandError(f"{exc}; nothing was saved") from exc

        if json_target:
            self._write_json(result_json(result), json_target)
        self._summary(out, run, result)

    def _write_json(self, document: dict[str, Any], target: str) -> None:
        text = json.dumps(document, indent=2, ensure_ascii=False)
        if target == "-":
            self.stdout.write(text)
        else:
            Path(target).write_text(text + "\n", encoding="utf-8")

    def _summary(self, out: TextIO, run: ReconciliationRun | None, result: Result) -> None:
        found = len(result.exceptions)
        state = f"run {run.pk} {run.status}" if run else "not saved (--no-save)"
        out.write(f"{found} exception(s) as of {result.as_of:%Y-%m-%d %H:%M} UTC; {state}")
        for rule in result.rules_run:
            out.write(f"  {rule}: {result.counts.get(rule, 0)}")
        for rule, reason in result.rules_skipped.items():
            out.write(f"  {rule}: skipped ({reason})")
        if run:
            out.write("  " + ", ".join(f"{name} {n}" for name, n in run.totals.items()))
        phases = ("read", "save_snapshots", "reconcile", "save_exceptions")
        out.write(
            "timings: "
            + ", ".join(f"{p} {result.timings[p]:.2f}s" for p in phases if p in result.timings)
        )
