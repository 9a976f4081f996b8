"""read_bundle: a bundle directory or .zip to a validated Bundle, or a BundleError saying why."""

from __future__ import annotations

import json
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from reconciliation.bundle.csvfile import UTF8_MESSAGE, read_csv_table
from reconciliation.bundle.parse import parse_table, parse_timestamp
from reconciliation.bundle.problems import BundleError, Problems
from reconciliation.frames import FILES, ROLES, Bundle, RoleSnapshot
from reconciliation.settings import ReconSettings, SettingsError

MANIFEST = "bundle.json"
CONFIG = "config.json"
SKU_MAP = "sku_map.csv"
ROLE_FILES = ", ".join(f"{file}.csv" for file in FILES)
UNREADABLE = object()  # what _read_json gives for a file it reported as unreadable


def read_bundle(path: str | Path, *, max_problems: int = 200) -> Bundle:
    """Read and validate a whole bundle; raise BundleError with every problem (up to the cap)."""
    problems = Problems(max_problems)
    source = _open_source(Path(path), problems)
    if source is None:
        raise BundleError.from_problems(problems, source=str(path))
    try:
        return _read(source, problems, str(path))
    finally:
        source.close()


def _read(source: _Source, problems: Problems, label: str) -> Bundle:
    manifest = _read_manifest(source, problems)
    config = _read_config(source, problems)
    _check_layout(source, manifest, problems)
    sku_map = None
    if SKU_MAP in source.files:
        sku_map = _read_file(source, "sku_map", SKU_MAP, problems)
    systems = manifest.systems if manifest is not None else {}
    present = [role for role in ROLES if role in systems]
    # Two roles at a time: parsing is mostly single-threaded Arrow kernels, so a second role keeps
    # the other core busy. Each role collects its own problems, merged in role order.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(_read_role, source, role, Problems(problems.limit)) for role in present
        ]
        results = [future.result() for future in futures]
    for _, role_problems in results:
        problems.extend(role_problems)
    if problems or manifest is None or manifest.as_of is None:
        raise BundleError.from_problems(problems, source=label)
    roles = {}
    for role, (frames, _) in zip(present, results, strict=True):
        kind, taken_at = systems[role]
        roles[role] = RoleSnapshot(role=role, kind=kind, taken_at=taken_at, frames=frames)
    return Bundle(
        as_of=manifest.as_of,
        currency=manifest.currency,
        roles=roles,
        sku_map=sku_map,
        config=config,
        source=label,
    )


class UnreadableError(Exception):
    """A file listed in the bundle whose bytes cannot be had (a damaged zip member)."""


class _Source:
    """The files of a bundle directory or of the bundle folder inside a zip, by relative path."""

    def __init__(
        self,
        files: set[str],
        *,
        root: Path | None = None,
        archive: zipfile.ZipFile | None = None,
        prefix: str = "",
    ) -> None:
        self.files = files
        self.root = root
        self.archive = archive
        self.prefix = prefix

    def data(self, name: str) -> Path | bytes:
        if self.root is not None:
            return self.root / name
        assert self.archive is not None
        try:
            return self.archive.read(self.prefix + name)
        except RuntimeError as exc:  # zipfile's word for a member that needs a password
            raise UnreadableError("is encrypted: zip the bundle without a password") from exc
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            # A damaged member (ValueError: a header pointing before the file's start).
            raise UnreadableError(
                f"cannot be read from the zip ({str(exc) or 'it ends early'})"
            ) from exc
        except NotImplementedError as exc:
            raise UnreadableError(f"uses a zip feature Parity cannot read ({exc})") from exc

    def read_bytes(self, name: str) -> bytes:
        data = self.data(name)
        return data.read_bytes() if isinstance(data, Path) else data

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def _open_source(path: Path, problems: Problems) -> _Source | None:
    if path.is_dir():
        files = {
            child.relative_to(path).as_posix()
            for top in path.iterdir()
            if not _ignored(top.name)
            for child in ([top] if top.is_file() else top.iterdir() if top.is_dir() else [])
            if child.is_file() and not _ignored(child.name)
        }
        return _Source(files, root=path)
    if not path.exists():
        problems.add(str(path), "no such file or directory")
        return None
    if not zipfile.is_zipfile(path):
        message = "not a bundle: expected a directory or a .zip file"
        if path.suffix.lower() == ".zip":
            message = "not a valid zip file"
        problems.add(str(path), message)
        return None
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        # A damaged central directory, or a zip of a version zipfile cannot read.
        problems.add(str(path), f"not a valid zip file ({exc})")
        return None
    names = [name for name in archive.namelist() if not _ignored(name)]
    prefix = ""
    if MANIFEST not in names:
        folders = sorted(name[: -len(MANIFEST)] for name in names if _is_nested_manifest(name))
        if len(folders) > 1:
            archive.close()
            listed = ", ".join(folders)
            problems.add(MANIFEST, f"the zip holds several bundles ({listed}): zip one at a time")
            return None
        prefix = folders[0] if folders else ""
    # A damaged directory entry can have an empty name: not a file either.
    files = {
        name[len(prefix) :]
        for name in names
        if name and name.startswith(prefix) and not name.endswith("/")
    }
    return _Source(files, archive=archive, prefix=prefix)


def _ignored(name: str) -> bool:
    # Finder's resource forks and hidden files ride along in zips made on a Mac.
    return any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(name).parts)


def _is_nested_manifest(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[1] == MANIFEST


@dataclass
class _Manifest:
    """bundle.json as far as it is valid: a role is present once named, even with a bad entry,
    so that its files are still checked and every problem reported in one go."""

    as_of: pd.Timestamp | None
    currency: str
    systems: dict[str, tuple[str, pd.Timestamp | None]]


def _read_manifest(source: _Source, problems: Problems) -> _Manifest | None:
    if MANIFEST not in source.files:
        in_zip = source.archive is not None
        where = " at the zip's root or in a folder one level down" if in_zip else ""
        problems.add(MANIFEST, f"not found{where}: every bundle needs a manifest")
        return None
    data = _read_json(source, MANIFEST, problems)
    if data is UNREADABLE:
        return None
    if not isinstance(data, dict):
        problems.add(MANIFEST, "expected a JSON object with as_of, currency and systems")
        return None
    as_of = _timestamp_field(data, "as_of", "as_of", problems)
    currency = data.get("currency")
    if currency in (None, ""):
        message = "currency is required (an ISO 4217 code such as GBP)"
        problems.add(MANIFEST, message, column="currency")
    elif not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        message = f"currency {_quote(currency)} is not an ISO 4217 code"
        problems.add(MANIFEST, message, column="currency")
    currency = currency.upper() if isinstance(currency, str) else ""
    return _Manifest(as_of, currency, _systems(data.get("systems"), as_of, problems))


def _systems(
    value: Any, as_of: pd.Timestamp | None, problems: Problems
) -> dict[str, tuple[str, pd.Timestamp | None]]:
    if value is None:
        problems.add(MANIFEST, "systems is required: name each system present", column="systems")
        return {}
    if not isinstance(value, dict) or not value:
        message = "systems must be an object naming at least one of store, erp, wms"
        problems.add(MANIFEST, message, column="systems")
        return {}
    systems: dict[str, tuple[str, pd.Timestamp | None]] = {}
    for role, entry in value.items():
        where = f"systems.{role}"
        if role not in ROLES:
            message = f"systems: unknown role '{role}' (expected store, erp or wms)"
            problems.add(MANIFEST, message, column="systems")
            continue
        # The plain form names only the kind; the snapshot is then taken at as_of.
        details = {"kind": entry} if isinstance(entry, str) else entry
        if not isinstance(details, dict):
            message = f"{where} must be a kind string or an object with kind and taken_at"
            problems.add(MANIFEST, message, column=where)
            details = {}
        kind = details.get("kind", "")
        if not isinstance(kind, str):
            problems.add(MANIFEST, f"{where}.kind must be a string", column=f"{where}.kind")
            kind = ""
        taken_at = as_of
        if details.get("taken_at") is not None:
            taken_at = _timestamp_field(details, "taken_at", f"{where}.taken_at", problems)
        systems[role] = (kind, taken_at)
    return systems


def _timestamp_field(
    data: dict[str, Any], key: str, where: str, problems: Problems
) -> pd.Timestamp | None:
    value = data.get(key)
    if value in (None, ""):
        problems.add(MANIFEST, f"{where} is required (an ISO 8601 timestamp)", column=where)
        return None
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        message = f"{where} {_quote(value)} is not an ISO 8601 timestamp"
        problems.add(MANIFEST, message, column=where)
    return parsed


def _quote(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _read_json(source: _Source, name: str, problems: Problems) -> Any:
    """The file's JSON value, or UNREADABLE with the problem added (JSON's null is a value)."""
    try:
        text = source.read_bytes(name).decode("utf-8-sig")
    except UnreadableError as exc:
        problems.add(name, str(exc))
        return UNREADABLE
    except OSError as exc:
        problems.add(name, f"cannot be read ({exc.strerror or exc})")
        return UNREADABLE
    except UnicodeDecodeError:
        problems.add(name, UTF8_MESSAGE)
        return UNREADABLE
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(name, f"not valid JSON ({exc.msg}, column {exc.colno})", line=exc.lineno)
    except RecursionError:  # "[[[[…": Python's reader gives up past ~1,000 levels
        problems.add(name, "not valid JSON (nested too deeply)")
    return UNREADABLE


def _read_config(source: _Source, problems: Problems) -> dict[str, Any]:
    if CONFIG not in source.files:
        return {}
    data = _read_json(source, CONFIG, problems)
    if data is UNREADABLE:
        return {}
    if not isinstance(data, dict):
        problems.add(CONFIG, "expected a JSON object of settings")
        return {}
    # One key at a time, so every bad setting is reported, not just the first.
    for key, value in data.items():
        try:
            ReconSettings.from_mapping({key: value})
        except SettingsError as exc:
            problems.add(CONFIG, str(exc), column=key)
    return data


def _check_layout(source: _Source, manifest: _Manifest | None, problems: Problems) -> None:
    """Role folders must be named in systems; stray CSV files are mistakes, not extras."""
    folders: dict[str, list[str]] = {}
    for name in sorted(source.files):
        folder, _, rest = name.partition("/")
        if rest:
            folders.setdefault(folder, []).append(rest)
        elif name.endswith(".csv") and name != SKU_MAP:
            message = "not a bundle file: system files go in store/, erp/ or wms/"
            problems.add(name, message)
    for folder, names in folders.items():
        csvs = [name for name in names if "/" not in name and name.endswith(".csv")]
        if folder in ROLES:
            if manifest is not None and folder not in manifest.systems:
                message = f"a folder for role '{folder}', which bundle.json's systems does not name"
                problems.add(f"{folder}/", message)
                continue
            for name in csvs:
                if name.removesuffix(".csv") not in FILES:
                    message = f"not a bundle file (expected one of {ROLE_FILES})"
                    problems.add(f"{folder}/{name}", message)
        elif csvs:
            problems.add(f"{folder}/", "not a role folder: expected store/, erp/ or wms/")


def _read_role(
    source: _Source, role: str, problems: Problems
) -> tuple[dict[str, pd.DataFrame], Problems]:
    frames: dict[str, pd.DataFrame] = {}
    orders_label = f"{role}/orders.csv"
    # FILES has orders before order_lines and shipments, whose order_refs are checked against it.
    for file in FILES:
        name = f"{role}/{file}.csv"
        if name not in source.files:
            continue
        order_refs = None
        if file in ("order_lines", "shipments"):
            orders = frames.get("orders")
            if orders is not None:
                # An orders file without its order_ref column is reported already; checking
                # against nothing would only repeat that once per line.
                if orders["order_ref"].notna().any() or orders.empty:
                    order_refs = orders["order_ref"].array
            elif orders_label not in source.files:
                message = f"there is no {orders_label} to check order_ref against"
                problems.add(name, message, column="order_ref")
        frame = _read_file(
            source, file, name, problems, order_refs=order_refs, orders_label=orders_label
        )
        if frame is not None:
            frames[file] = frame
    return frames, problems


def _read_file(
    source: _Source,
    file: str,
    name: str,
    problems: Problems,
    *,
    order_refs: Any = None,
    orders_label: str = "",
) -> pd.DataFrame | None:
    try:
        table = read_csv_table(source.data(name), label=name, problems=problems)
    except UnreadableError as exc:
        problems.add(name, str(exc))
        return None
    if table is None:
        return None
    frame, _ = parse_table(
        file,
        table,
        label=name,
        problems=problems,
        order_refs=order_refs,
        orders_label=orders_label,
    )
    return frame
