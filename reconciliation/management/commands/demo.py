"""`manage.py demo`: demo logins, the Northwind Apparel bundle in var/demo-bundle/, and a run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration.roles import ensure_demo_users
from reconciliation.demo import write_demo_bundle


def demo_bundle_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-bundle"


class Command(BaseCommand):
    help = (
        "Create the demo users, write the demo world to var/demo-bundle/ and reconcile it. "
        "Safe to run again: users are kept, the bundle is rewritten and a new run recorded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=3000, help="store orders (3000)")
        parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
        parser.add_argument(
            "--no-reconcile",
            action="store_true",
            help="only create the users and write the bundle",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["orders"] < 1:
            raise CommandError("--orders must be at least 1")
        self._users()
        path = self._write(options["seed"], options["orders"])
        if not options["no_reconcile"]:
            self._reconcile(path)

    def _users(self) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins (demo only, change them):"))
        for username, password, group in ensure_demo_users():
            self.stdout.write(f"  {username:<10} / {password:<18} {group}")

    def _write(self, seed: int, orders: int) -> Path:
        path = demo_bundle_path()
        if path.exists():
            # Only ever replace a bundle (never a directory someone pointed here by mistake).
            if any(path.iterdir()) and not (path / "bundle.json").exists():
                raise CommandError(f"{path} exists and is not a bundle; move it away first")
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        bundle = write_demo_bundle(path, seed=seed, orders=orders)
        self._load_mappings(bundle)
        counts = ", ".join(
            f"{role} {len(snapshot.frames['orders']):,} orders"
            for role, snapshot in bundle.roles.items()
        )
        self.stdout.write(
            self.style.MIGRATE_HEADING(f"Demo world as of {bundle.as_of:%Y-%m-%d %H:%M} UTC")
        )
        self.stdout.write(f"  Northwind Apparel, seed {seed}: {counts}")
        self.stdout.write(f"  written to {path}")
        return path

    def _load_mappings(self, bundle: Any) -> None:
        """Put the world's SKU aliases, shipping map and settings into the mapping tables, as ops
        would: syncs from the simulators carry no config.json or sku_map.csv of their own."""
        from integration import mappings
        from integration.models import NonStockSku, ShippingMethod, SkuAlias

        config = bundle.config
        via = "demo world"
        express = set(config.get("express_service_codes", []))
        for name, code in config.get("shipping_methods", {}).items():
            method = ShippingMethod.objects.filter(name=name).first()
            mappings.save_shipping_method(
                None, name, code, express=code in express, method=method, via=via
            )
        for sku in config.get("non_stock_skus", []):
            item = NonStockSku.objects.filter(sku=sku).first()
            mappings.save_non_stock(None, sku, item=item, via=via)
        scalars = {k: v for k, v in config.items() if k in mappings.SCALAR_KEYS}
        if scalars:
            mappings.save_settings(None, scalars, via=via)
        aliases = bundle.sku_map if bundle.sku_map is not None else []
        for role, sku, canonical in (
            aliases[["role", "sku", "canonical_sku"]].itertuples(index=False)
            if len(aliases)
            else []
        ):
            alias = SkuAlias.objects.filter(role=role, sku=sku).first()
            mappings.save_alias(None, role, sku, canonical, alias=alias, via=via)
        self.stdout.write(
            f"  mapping tables: {len(config.get('shipping_methods', {}))} shipping methods, "
            f"{len(aliases)} SKU aliases, {len(config.get('non_stock_skus', []))} non-stock SKUs"
        )

    def _reconcile(self, path: Path) -> None:
        from reconciliation.runs import reconcile_path

        self.stdout.write(self.style.MIGRATE_HEADING("Reconciling:"))
        run, result = reconcile_path(
            path, save=True, progress=lambda m: self.stdout.write(f"  {m}")
        )
        self.stdout.write(self.style.MIGRATE_HEADING("Exceptions per rule:"))
        for rule, count in sorted(result.counts.items()):
            if count:
                self.stdout.write(f"  {rule:<24} {count:>4}")
        total = len(result.exceptions)
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk if run else '-'}: {total} exceptions"))
