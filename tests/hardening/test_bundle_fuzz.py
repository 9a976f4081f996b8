"""Hostile bundles, property-based: any bytes in any file, and random mutations of a valid bundle
(bad dates, money, statuses, quoting, BOMs, truncated rows, huge fields), read as a Bundle or fail
with a BundleError whose problems name the file — and the line, for a record — never with another
exception. On PostgreSQL, `reconcile_path` of a bundle that fails to read leaves no row behind.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from exceptions.models import ExceptionEvent, ExceptionRecord
from reconciliation.bundle import BundleError, read_bundle
from reconciliation.bundle.parse import OUT_OF_RANGE
from reconciliation.frames import (
    BOOL,
    FLOAT,
    INT,
    MONEY,
    ROLES,
    SCHEMAS,
    STATUSES,
    TIME,
    UNIQUE,
    Bundle,
)
from reconciliation.models import ROW_MODELS, ReconciliationRun, RunMetrics, Snapshot
from reconciliation.runs import reconcile_path
from tests.bundles import write_bundle_dir

PLACED = "2026-11-29T10:00:00Z"
# As many examples as the profile says (tests/conftest.py: 25 in CI); a database round trip
# each for the reconciling ones, so half as many of those.
FAST = settings(deadline=None)
# A short record with bytes that are not UTF-8 makes pyarrow print an "Exception ignored" from
# its own invalid-row handling before it raises the parse error the reader reports.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _seed() -> dict[str, bytes]:
    """A small valid bundle with every file of every role, a config.json and a sku_map.csv."""
    money = {"net_total": "10.00", "tax_total": "2.00", "gross_total": "12.00"}
    address = {"ship_name": "Ann Lee", "ship_line1": "1 Mill Lane", "ship_city": "Leeds"}
    order = {"status": "open", "placed_at": PLACED, **money, **address}
    files: dict[str, list[dict[str, Any]]] = {}
    for role, ref in (("store", "W1"), ("erp", "E1"), ("wms", "D1")):
        files[f"{role}/products.csv"] = [
            {"sku": "MUG1", "name": "Mug", "unit_cost": "2.50", "is_stock_item": "true"},
            {"sku": "TEA", "name": "Tea", "unit_cost": "1.0000", "is_stock_item": "no"},
        ]
        files[f"{role}/orders.csv"] = [
            {"order_ref": ref, "source_ref": "W1" if ref != "W1" else "", **order},
            {"order_ref": f"{ref}b", "source_ref": "", **order, "status": "held"},
        ]
        files[f"{role}/order_lines.csv"] = [
            {"order_ref": ref, "line_no": "1", "sku": "MUG1", "quantity": "2", "tax_rate": "0.2"},
            {"order_ref": f"{ref}b", "line_no": "1", "sku": "TEA", "quantity": "1"},
        ]
        files[f"{role}/shipments.csv"] = [
            {"order_ref": ref, "sku": "MUG1", "quantity": "2", "dispatched_at": PLACED},
        ]
        files[f"{role}/stock.csv"] = [
            {"sku": "MUG1", "location": "A", "on_hand": "5", "allocated": "1", "available": "4"},
        ]
        files[f"{role}/adjustments.csv"] = [
            {"adjustment_ref": f"{ref}-A1", "sku": "MUG1", "delta": "-1", "occurred_at": PLACED},
        ]
    with tempfile.TemporaryDirectory() as tmp:
        root = write_bundle_dir(
            Path(tmp),
            systems={"store": "woocommerce", "erp": "prima", "wms": "whistl"},
            files=files,
            config={"dispatch_sla_hours": 48, "money_tolerance": "0.01"},
            sku_map=[{"role": "erp", "sku": "MUG-1", "canonical_sku": "MUG1"}],
        )
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }


SEED = _seed()
NAMES = sorted(SEED)
CSV_NAMES = [name for name in NAMES if name.endswith(".csv")]
JSON_NAMES = [name for name in NAMES if name.endswith(".json")]
HUGE = "x" * (2 << 20)  # twice Arrow's 1 MB block

# Values that have broken CSV readers and date/money parsers somewhere.
HOSTILE_CELLS = [
    "",
    " ",
    "2026-02-30",
    "2026-13-01T00:00:00Z",
    "0000-01-01",
    "2262-04-11T23:47:16Z",  # the last nanosecond-representable moment, give or take
    "1677-09-21T00:12:44Z",
    "2026-01-01T00:00:00+99:99",
    "yesterday",
    "1,000.00",
    "12.34567",
    "99999999999999.9999",
    "999999999999999999999",
    "-0",
    "1e5",
    "NaN",
    "inf",
    "£12",
    "shiped",
    "OPEN ",
    '"',
    '"quoted"',
    'a"b',
    "a,b",
    "line\nbreak",
    "cr\ronly",
    "\ufeffbom",
    "nul\x00byte",
    '=HYPERLINK("http://x")',
    "<script>alert(1)</script>",
    "\u202eright-to-left",
    HUGE,
]
cell_values = st.one_of(
    st.sampled_from(HOSTILE_CELLS),
    st.text(max_size=30),
    st.from_regex(r"-?\d{1,20}(\.\d{0,6})?", fullmatch=True),
    st.from_regex(
        r"\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d{1,12})?)?)?)?(Z|[+-]\d{2}:?\d{2})?",
        fullmatch=True,
    ),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and Infinity too: Python's json reads them
    | st.text(max_size=20)
    | st.sampled_from(["1e999999", "2026-02-30T00:00:00Z", "GBPX", "", "store", "-1"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from(ROLES), children, max_size=3)
    ),
    max_leaves=8,
)
snippets = st.sampled_from(
    [b'"', b'""', b"\xef\xbb\xbf", b"\r", b"\n", b"\r\n", b",", b"\x00", b"\xff", b"\xc3"]
) | st.binary(max_size=8)


@dataclass
class Cell:
    """The one edit whose problem must name its exact file and line."""

    name: str
    line: int
    column: str
    value: str


def _rewrite_cell(data: bytes, row: int, column: int, value: str) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    rows[row][column] = value
    out = io.StringIO()
    # "\r\n": Python's csv quotes a value holding a character of the line terminator, and a bare
    # \r ends a record for Arrow (as for Excel), so it must be quoted too.
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _set_json(data: bytes, path: list[str], value: Any) -> bytes:
    document = json.loads(data)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return json.dumps(document).encode("utf-8")


JSON_PATHS = {
    "bundle.json": [
        ["as_of"],
        ["currency"],
        ["systems"],
        ["systems", "store"],
        ["systems", "erp", "taken_at"],
        ["systems", "wms", "kind"],
        ["extra"],
    ],
    "config.json": [
        [key]
        for key in (
            "grace_store_to_erp_minutes",
            "dispatch_sla_hours",
            "express_service_codes",
            "shipping_methods",
            "non_stock_skus",
            "require_phone",
            "money_tolerance",
            "stock_tolerance_units",
            "stale_after_minutes",
            "a_tool_of_our_own",
        )
    ],
}


@st.composite
def mutated_bundles(draw: st.DrawFn) -> tuple[dict[str, bytes], Cell | None]:
    """The seed with 1–3 edits; the Cell when the only edit is one cell of a non-key column."""
    files = dict(SEED)
    edits = draw(st.integers(1, 3))
    cells: list[Cell | None] = []
    for _ in range(edits):
        name = draw(st.sampled_from(NAMES))
        data = files[name]
        kinds = ["bytes", "truncate", "insert"]
        if name.endswith(".csv") and data == SEED[name]:
            kinds += ["cell", "cell", "cell", "line"]  # cells are what people get wrong most
        if name.endswith(".json") and data == SEED[name]:
            kinds += ["json", "json"]
        role = name.partition("/")[0]
        family = [f"{role}/{file}.csv" for file in ("orders", "order_lines", "shipments")]
        if name in family and all(files[f] == SEED[f] for f in family):
            kinds += ["rename"]  # a hostile order ref that still matches: it reaches the rules
        kind = draw(st.sampled_from(kinds))
        cell = None
        if kind == "bytes":
            data = draw(st.binary(max_size=2048))
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(snippets) + data[at:]
        elif kind == "cell":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
            row = draw(st.integers(1, len(rows) - 1))
            column = draw(st.integers(0, len(rows[0]) - 1))
            value = draw(cell_values)
            data = _rewrite_cell(data, row, column, value)
            cell = Cell(name, row + 1, rows[0][column], value)
        elif kind == "line":
            lines = data.split(b"\n")
            at = draw(st.integers(0, len(lines) - 1))
            edit = draw(st.sampled_from(["drop", "repeat", "extra field", "short"]))
            if edit == "drop":
                del lines[at]
            elif edit == "repeat":
                lines.insert(at, lines[at])
            elif edit == "extra field":
                lines[at] += b",surplus"
            else:
                lines[at] = lines[at].rpartition(b",")[0]
            data = b"\n".join(lines)
        elif kind == "rename":
            renamed = _renamed(files, role, draw(cell_values))
            files.update(renamed)
            data = renamed[name]
        else:
            path = draw(st.sampled_from(JSON_PATHS[name]))
            data = _set_json(data, path, draw(json_values))
        files[name] = data
        cells.append(cell)
    only = cells[0] if len(cells) == 1 else None
    if only is not None and any(only.column in key for key in (*UNIQUE.values(), ("role",))):
        only = None  # a changed key can surface on another line (a duplicate, a missing order)
    return files, only


def _renamed(files: dict[str, bytes], role: str, ref: str) -> dict[str, bytes]:
    """The role's second order (…b) renamed to `ref` in its orders, lines and shipments."""
    old = {"store": "W1b", "erp": "E1b", "wms": "D1b"}[role]
    changed = {}
    for file in ("orders", "order_lines", "shipments"):
        name = f"{role}/{file}.csv"
        rows = list(csv.reader(io.StringIO(files[name].decode("utf-8"))))
        column = rows[0].index("order_ref")
        for row in rows[1:]:
            row[column] = ref if row[column] == old else row[column]
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        changed[name] = out.getvalue().encode("utf-8")
    return changed


def _cell(name: str, line: int, column: str, value: str) -> tuple[dict[str, bytes], Cell]:
    """The seed with one cell changed (line counts the header as 1)."""
    header = next(csv.reader(io.StringIO(SEED[name].decode("utf-8"))))
    data = _rewrite_cell(SEED[name], line - 1, header.index(column), value)
    return {**SEED, name: data}, Cell(name, line, column, value)


def _edited(name: str, data: bytes) -> tuple[dict[str, bytes], None]:
    return {**SEED, name: data}, None


ORDERS = "store/orders.csv"
BUNDLE = "a Bundle"
NOT_MONEY = "is not a money amount (a decimal with up to 4 places)"
# The hostile inputs that found bugs (found → fixed), with exactly what reading them gives now;
# the property tests run them first too.
REGRESSIONS: list[tuple[tuple[dict[str, bytes], Cell | None], str | list[str]]] = [
    # Old Mac line ends: the header read raised csv.Error.
    (_edited(ORDERS, SEED[ORDERS].replace(b"\n", b"\r")), BUNDLE),
    # NUL: read, then refused by PostgreSQL's COPY half-way through saving.
    (
        _cell(ORDERS, 2, "ship_name", "Ann\x00Lee"),
        ["store/orders.csv line 2: ship_name contains a NUL character"],
    ),
    # A field over Arrow's 1 MB block: "straddling object straddles two block boundaries".
    (_cell(ORDERS, 2, "ship_name", HUGE), BUNDLE),
    # … and a bad one was quoted whole (2 MB) in its problem.
    (
        _cell(ORDERS, 2, "net_total", HUGE),
        [f"store/orders.csv line 2: net_total '{'x' * 79}…' {NOT_MONEY}"],
    ),
    # A quote never closed: the rest of the file is one field (it was the straddling error).
    (
        _edited(ORDERS, SEED[ORDERS].replace(b"W1b,", b'"W1b,', 1)),
        ["store/orders.csv line 3: expected 10 fields as in the header, found 1"],
    ),
    (_cell(ORDERS, 2, "ship_name", "Ann\rLee"), BUNDLE),
    # A CR in a key (quoted, so valid) broke the exceptions' COPY: the run failed after saving.
    (({**SEED, **_renamed(SEED, "store", "W1\rb")}, None), BUNDLE),
    # A NUL in an extra column's name: saving the snapshot's jsonb list of names failed.
    (
        _edited(ORDERS, SEED[ORDERS].replace(b"ship_city", b"x\x00y", 1)),
        ["store/orders.csv line 1: column 10's name contains a NUL character"],
    ),
    # A short record with bytes that are not UTF-8: Arrow's own handler failed, no line given.
    (
        _edited(ORDERS, SEED[ORDERS] + b"x\xe7y,2\n"),
        ["store/orders.csv line 4: not valid UTF-8 text: save the file as UTF-8"],
    ),
    # Pandas' own first day: read, then as_of minus it overflowed in the rules (OverflowError).
    (
        _cell(ORDERS, 2, "placed_at", "1677-09-22T00:00:00Z"),
        [f"store/orders.csv line 2: placed_at '1677-09-22T00:00:00Z' {OUT_OF_RANGE}"],
    ),
    (
        _cell(ORDERS, 3, "placed_at", "2101-01-01"),
        [f"store/orders.csv line 3: placed_at '2101-01-01' {OUT_OF_RANGE}"],
    ),
    # A manifest of JSON's null was taken for unreadable: a BundleError with no problem in it.
    (
        _edited("bundle.json", b"null"),
        ["bundle.json: expected a JSON object with as_of, currency and systems"],
    ),
    (_edited("config.json", b"null"), ["config.json: expected a JSON object of settings"]),
    # JSON nested past Python's recursion limit raised RecursionError.
    (_edited("bundle.json", b"[" * 3000), ["bundle.json: not valid JSON (nested too deeply)"]),
    # Settings: int() of 1e999999 ran for minutes, NaN raised on comparing, 1e15 minutes
    # overflowed the rules' timedelta.
    (
        _edited("config.json", b'{"dispatch_sla_hours": "1e999999"}'),
        ["config.json: dispatch_sla_hours: expected at most 1,000,000, got '1e999999'"],
    ),
    (
        _edited("config.json", b'{"money_tolerance": NaN}'),
        ["config.json: money_tolerance: expected an amount of 0 or more, got nan"],
    ),
    (
        _edited("config.json", b'{"grace_to_wms_minutes": 1e15}'),
        ["config.json: grace_to_wms_minutes: expected at most 1,000,000, got 1000000000000000.0"],
    ),
]


def with_regressions(test: Callable[..., None]) -> Callable[..., None]:
    """Run every REGRESSIONS case before the generated ones."""
    for case, _ in REGRESSIONS:
        test = example(case)(test)
    return test


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _zipped(files: dict[str, bytes]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return _zip(Path(tmp) / "bundle.zip", files).read_bytes()


ZIPPED_SEED = _zipped(SEED)


def _last_line(data: bytes) -> int:
    """The highest line a problem in this file can name (header = 1): \r\n, \r and \n each
    end a line, as for Arrow."""
    return len(re.split(rb"\r\n|\r|\n", data))


def check_problems(exc: BundleError, files: dict[str, bytes] | None, source: str) -> None:
    """Every problem names one of the bundle's files (or a role folder, or the bundle itself)
    and, when it names a line, a line that exists in that file. `files` None: the names are not
    known (a damaged zip's directory can rename a member), only that there is one."""
    assert exc.problems or exc.omitted
    folders = {f"{role}/" for role in ROLES}
    for problem in exc.problems:
        assert problem.message
        assert problem.file
        if files is None:
            continue
        assert problem.file in files or problem.file in folders or problem.file == source, problem
        if problem.line is not None:
            assert problem.file in files, problem
            assert 1 <= problem.line <= _last_line(files[problem.file]), problem
    assert str(exc).startswith(f"{len(exc.problems) + exc.omitted} problem")


def check_outcome(
    read: Callable[[], Bundle], files: dict[str, bytes] | None, source: str
) -> Bundle | BundleError:
    """Read: a Bundle, or a BundleError that passes check_problems; anything else propagates."""
    try:
        bundle = read()
    except BundleError as exc:
        check_problems(exc, files, source)
        return exc
    assert isinstance(bundle, Bundle)
    return bundle


def _facts(outcome: Bundle | BundleError, source: str) -> Any:
    """What a directory and a zip of the same files must agree on."""
    if isinstance(outcome, Bundle):
        return ("bundle", sorted(outcome.roles), outcome.currency)
    return [(p.file, p.line, p.column, p.message) for p in outcome.problems if p.file != source]


@pytest.mark.parametrize(("case", "expected"), REGRESSIONS)
def test_each_regression_reads_as_it_should(
    case: tuple[dict[str, bytes], Cell | None], expected: str | list[str]
) -> None:
    files, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        outcome = check_outcome(lambda: read_bundle(_write(Path(tmp), files)), files, tmp)
    if expected == BUNDLE:
        assert isinstance(outcome, Bundle)
    else:
        assert isinstance(outcome, BundleError)
        assert [str(problem) for problem in outcome.problems] == expected


def test_an_encrypted_zip_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    data = bytearray(ZIPPED_SEED)
    data[6] |= 1  # the first member's "encrypted" flag, in its local header …
    data[data.find(b"PK\x01\x02") + 8] |= 1  # … and in the central directory
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(BundleError) as caught:
        read_bundle(archive)
    first = sorted(SEED)[0]
    assert [str(p) for p in caught.value.problems] == [
        f"{first}: is encrypted: zip the bundle without a password"
    ]


def test_the_seed_bundle_is_valid() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bundle = read_bundle(_write(Path(tmp), SEED))
    assert sorted(bundle.roles) == ["erp", "store", "wms"]
    assert len(bundle.roles["store"].frames["orders"]) == 2


@FAST
@given(name=st.sampled_from(NAMES), data=st.binary(max_size=4096))
def test_any_bytes_in_any_file(name: str, data: bytes) -> None:
    files = {**SEED, name: data}
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp), files)
        check_outcome(lambda: read_bundle(root), files, str(root))


@FAST
@with_regressions
@given(mutated_bundles())
def test_a_mutated_bundle_reads_or_names_file_and_line(case: tuple[dict, Cell | None]) -> None:
    files, cell = case
    with tempfile.TemporaryDirectory() as tmp:
        root = _write(Path(tmp) / "bundle", files)
        outcome = check_outcome(lambda: read_bundle(root), files, str(root))
        # The same files zipped give the same answer.
        archive = _zip(Path(tmp) / "bundle.zip", files)
        zipped = check_outcome(lambda: read_bundle(archive), files, str(archive))
    assert _facts(zipped, str(archive)) == _facts(outcome, str(root))
    if cell is not None and isinstance(outcome, BundleError):
        # Only one cell of a non-key column changed: the problem is on that cell's line.
        where = {(p.file, p.line) for p in outcome.problems}
        assert (cell.name, cell.line) in where, (cell, outcome.problems)


@FAST
@given(data=st.binary(max_size=4096))
def test_any_bytes_as_a_zip(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "bundle.zip"
        archive.write_bytes(data)
        check_outcome(lambda: read_bundle(archive), {}, str(archive))


@FAST
@given(
    at=st.integers(0, len(ZIPPED_SEED) - 1),
    byte=st.integers(0, 255),
    cut=st.none() | st.integers(0, len(ZIPPED_SEED)),
)
def test_a_damaged_zip(at: int, byte: int, cut: int | None) -> None:
    data = bytearray(ZIPPED_SEED)
    data[at] = byte
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "bundle.zip"
        archive.write_bytes(bytes(data[:cut]))
        check_outcome(lambda: read_bundle(archive), None, str(archive))


# -- nothing saved -------------------------------------------------------------------------------


def _saved() -> dict[str, int]:
    models = [Snapshot, *ROW_MODELS.values(), ReconciliationRun, RunMetrics]
    models += [ExceptionRecord, ExceptionEvent]
    return {model.__name__: model.objects.count() for model in models}


DB_SETTINGS = settings(
    max_examples=max(settings.default.max_examples // 2, 5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY and its failures: PostgreSQL"
)


def reconcile_or_refuse(files: dict[str, bytes]) -> str:
    """reconcile_path in a savepoint rolled back afterwards (the next example starts from empty
    tables): a complete run, or a BundleError that saved nothing. What happened, for `event`."""
    nothing = dict.fromkeys(_saved(), 0)
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
        root = _write(Path(tmp), files)
        assert _saved() == nothing
        try:
            run, _ = reconcile_path(root)
        except BundleError as exc:
            check_problems(exc, files, str(root))
            assert _saved() == nothing
            outcome = "refused: BundleError"
        else:
            assert run is not None
            assert run.status == ReconciliationRun.Status.COMPLETE
            assert Snapshot.objects.filter(status=Snapshot.Status.COMPLETE).count() == 3
            outcome = "read and reconciled"
        transaction.set_rollback(True)
    return outcome


@pytest.mark.django_db
@ON_POSTGRESQL
@DB_SETTINGS
@with_regressions
@given(mutated_bundles())
def test_reconcile_path_saves_nothing_when_the_bundle_fails(
    case: tuple[dict[str, bytes], Cell | None],
) -> None:
    files, _ = case
    event(reconcile_or_refuse(files))  # --hypothesis-show-statistics shows the split


KEY_COLUMNS = {column for key in UNIQUE.values() for column in key} | {"role", "source_ref"}


def _valid_text(kind: str) -> st.SearchStrategy[str]:
    """Values a column of that kind accepts, extreme ones included."""
    if kind == MONEY:
        return st.from_regex(r"-?\d{1,14}(\.\d{1,4})?", fullmatch=True)
    if kind == INT:
        return st.integers(-(10**18) + 1, 10**18 - 1).map(str)
    if kind == FLOAT:
        return st.floats(allow_nan=False, allow_infinity=False).map(repr)
    if kind == TIME:
        moments = st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31), timezones=st.just(UTC))
        return moments.map(lambda moment: moment.isoformat())
    if kind == BOOL:
        return st.sampled_from(["true", "FALSE", "Yes", "no", "1", "0", ""])
    return st.text(max_size=40) | st.sampled_from(HOSTILE_CELLS[:-1])


@st.composite
def hostile_valid_bundles(draw: st.DrawFn) -> dict[str, bytes]:
    """The seed with 1–6 cells (never a key) set to extreme values their column accepts, or a
    role's second order renamed to any text: bundles that read, for the rules to choke on."""
    files = dict(SEED)
    for _ in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from([n for n in CSV_NAMES if n != "sku_map.csv"]))
        if draw(st.integers(0, 5)) == 0:
            files.update(_renamed(files, name.partition("/")[0], draw(st.text(max_size=30))))
            continue
        rows = list(csv.reader(io.StringIO(files[name].decode("utf-8"))))
        columns = [c for c in rows[0] if c not in KEY_COLUMNS]
        column = draw(st.sampled_from(columns))
        if column == "status":
            value = draw(st.sampled_from(STATUSES).map(str.upper) | st.sampled_from(STATUSES))
        else:
            value = draw(_valid_text(SCHEMAS[Path(name).stem][column]))
        row = draw(st.integers(1, len(rows) - 1))
        files[name] = _rewrite_cell(files[name], row, rows[0].index(column), value)
    return files


@pytest.mark.django_db
@ON_POSTGRESQL
@DB_SETTINGS
@given(hostile_valid_bundles())
def test_a_bundle_of_extreme_valid_values_reconciles(files: dict[str, bytes]) -> None:
    event(reconcile_or_refuse(files))
