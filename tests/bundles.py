"""Tiny bundle factory for tests: write a bundle directory from plain dicts, maybe read it back.

    bundle = make_bundle(
        tmp_path,
        systems={"store": "woocommerce", "erp": {"kind": "prima", "taken_at": "2026-11-30T23:50Z"}},
        files={"store/orders.csv": [{"order_ref": "W1", "status": "open", "placed_at": "..."}]},
    )

A file's header is the union of its rows' keys in first-appearance order (missing keys are empty
cells); a file given an empty list gets the canonical header of frames.SCHEMAS and no rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from reconciliation.bundle import read_bundle
from reconciliation.frames import SCHEMAS, SKU_MAP_SCHEMA, Bundle


def write_bundle_dir(
    root: Path,
    *,
    as_of: str = "2026-11-30T23:59:00Z",
    systems: dict[str, str | dict[str, Any]],
    files: dict[str, list[dict[str, Any]]] | None = None,
    config: dict[str, Any] | None = None,
    sku_map: list[dict[str, Any]] | None = None,
    currency: str = "GBP",
) -> Path:
    """Write bundle.json, config.json, sku_map.csv and the role CSVs under `root`; return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    manifest_systems = {
        role: {"kind": entry, "taken_at": as_of} if isinstance(entry, str) else entry
        for role, entry in systems.items()
    }
    manifest = {"as_of": as_of, "currency": currency, "systems": manifest_systems}
    (root / "bundle.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if config is not None:
        (root / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    if sku_map is not None:
        write_csv(root / "sku_map.csv", sku_map, default_header=list(SKU_MAP_SCHEMA))
    for name, rows in (files or {}).items():
        default_header = list(SCHEMAS.get(Path(name).stem, {}))
        write_csv(root / name, rows, default_header=default_header)
    return root


def make_bundle(tmp_path: Path, **kwargs: Any) -> Bundle:
    """write_bundle_dir(tmp_path / "bundle", **kwargs), then read_bundle it."""
    return read_bundle(write_bundle_dir(tmp_path / "bundle", **kwargs))


def write_raw(root: Path, name: str, data: str | bytes) -> Path:
    """One file exactly as given (str as UTF-8): for BOMs, odd quoting, bad bytes."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def write_csv(
    path: Path, rows: list[dict[str, Any]], *, default_header: list[str] | None = None
) -> Path:
    """One CSV file: header from the rows' keys (or `default_header` when there are no rows)."""
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    columns = list(header) if rows else list(default_header or [])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(col) is None else str(row[col]) for col in columns])
    return path
