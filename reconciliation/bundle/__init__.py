"""Snapshot bundles (shared/spec/bundle.md): read and validate a directory or zip, write one back.

- `read_bundle(path)` → `Bundle`, or `BundleError` listing every `Problem` (up to a limit);
- `parse_table(file, table, label=...)` → the per-file validation, for connectors' tables too;
- `write_bundle(bundle, path)` → the canonical on-disk form.
"""

from reconciliation.bundle.parse import parse_table, parse_timestamp
from reconciliation.bundle.problems import BundleError, Problem, Problems
from reconciliation.bundle.reader import read_bundle
from reconciliation.bundle.writer import write_bundle

__all__ = [
    "BundleError",
    "Problem",
    "Problems",
    "parse_table",
    "parse_timestamp",
    "read_bundle",
    "write_bundle",
]
