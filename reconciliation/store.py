"""Snapshot storage: a Bundle's frames into the row tables and back, exactly.

On PostgreSQL rows go in and out through COPY: frames are serialised to CSV by pyarrow in blocks
(vectorised, no Python per row) and read back by pyarrow's CSV reader. Other databases (the embedded
SQLite) use bulk_create and a values query. Either way a load gives the frames.PANDAS_DTYPES
dtypes, money as Int64 ten-thousandths and timestamps in UTC (to the microsecond: the database's
precision).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter

from reconciliation.frames import (
    BOOL,
    FILES,
    FLOAT,
    INT,
    MONEY,
    MONEY_SCALE,
    PANDAS_DTYPES,
    ROLES,
    SCHEMAS,
    SKU_MAP_SCHEMA,
    TEXT,
    TIME,
    Bundle,
    RoleSnapshot,
    empty_frame,
)
from reconciliation.models import ROW_MODELS, Snapshot, SnapshotRow

logger = logging.getLogger(__name__)

# Rows per CSV block handed to COPY: large enough to amortise calls, small enough to bound memory.
COPY_BLOCK_ROWS = 100_000
BULK_BATCH_ROWS = 2_000
_ARROW_TYPES = {TEXT: pa.string(), INT: pa.int64(), BOOL: pa.bool_(), FLOAT: pa.float64()}
_PANDAS_TYPES = {
    pa.string(): PANDAS_DTYPES[TEXT],
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.float64(): pd.Float64Dtype(),
}


class SnapshotImmutable(Exception):
    """Rows were to be written to a snapshot that is no longer loading."""


def save_snapshots(bundle: Bundle, *, source: str, source_name: str) -> list[Snapshot]:
    """A complete Snapshot per role of `bundle`, in one transaction: a failure saves nothing."""
    saved = []
    with transaction.atomic():
        for role in bundle.pipeline:
            role_snapshot = bundle.roles[role]
            present = {f: role_snapshot.get(f) for f in FILES if role_snapshot.has(f)}
            snapshot = Snapshot.objects.create(
                role=role,
                kind=role_snapshot.kind or "",
                taken_at=pd.Timestamp(role_snapshot.taken_at).to_pydatetime(),
                source=source,
                source_name=source_name,
            )
            counts = {file: add_rows(snapshot, file, frame) for file, frame in present.items()}
            snapshot.mark_complete(counts)
            saved.append(snapshot)
    return saved


def add_rows(snapshot: Snapshot, file: str, frame: pd.DataFrame) -> int:
    """Append a frame's rows to a loading snapshot; returns the number of rows written."""
    # Ask the database, not the instance: another handle may have completed the snapshot.
    status = Snapshot.objects.filter(pk=snapshot.pk).values_list("status", flat=True).first()
    if status != Snapshot.Status.LOADING:
        raise SnapshotImmutable(f"snapshot {snapshot.pk} is {status}; its rows cannot change")
    if frame.empty:
        return 0
    extras = _extras(file, frame)
    known = snapshot.extra_columns.get(file, [])
    if any(col not in known for col in extras):
        # Remember the names in order: load_frame rebuilds the columns from them.
        merged = [*known, *(col for col in extras if col not in known)]
        snapshot.extra_columns = {**snapshot.extra_columns, file: merged}
        snapshot.save(update_fields=["extra_columns"])
    if use_copy():
        with connection.wrap_database_errors:  # psycopg's errors as Django's, as for queries
            _copy_in(snapshot.pk, file, frame, extras)
    else:
        _bulk_create(snapshot.pk, file, frame, extras)
    return len(frame)


def load_bundle(
    snapshots: Iterable[Snapshot],
    *,
    as_of: Any,
    currency: str,
    config: dict[str, Any] | None = None,
    sku_map: pd.DataFrame | Sequence[dict[str, str]] | None = None,
    source: str = "",
    sync_failures: list[dict[str, Any]] | None = None,
) -> Bundle:
    """The Bundle the snapshots were saved from (one snapshot per role); the rest of a Bundle
    (as_of, currency, config, sku_map) is the run's and comes in as arguments."""
    roles: dict[str, RoleSnapshot] = {}
    for snapshot in snapshots:
        if snapshot.role in roles:
            raise ValueError(f"two snapshots for role {snapshot.role}")
        frames = {file: load_frame(snapshot, file) for file in FILES if file in snapshot.row_counts}
        roles[snapshot.role] = RoleSnapshot(
            role=snapshot.role,
            kind=snapshot.kind,
            taken_at=pd.Timestamp(snapshot.taken_at).tz_convert("UTC"),
            frames=frames,
        )
    return Bundle(
        as_of=_utc(as_of),
        currency=currency,
        roles={role: roles[role] for role in ROLES if role in roles},
        sku_map=sku_map_frame(sku_map),
        config=dict(config or {}),
        source=source,
        sync_failures=list(sync_failures or []),
    )


def load_frame(snapshot: Snapshot, file: str) -> pd.DataFrame:
    """One file of a snapshot as a canonical frame (extra columns after the canonical ones)."""
    extras = snapshot.extra_columns.get(file, [])
    if use_copy():
        with connection.wrap_database_errors:
            return _copy_out(snapshot.pk, file, extras)
    return _values_query(snapshot.pk, file, extras)


def latest_complete_snapshots() -> dict[str, Snapshot]:
    """role → the most recently taken complete snapshot of that role."""
    latest = {}
    for role in ROLES:
        snapshot = (
            Snapshot.objects.filter(role=role, status=Snapshot.Status.COMPLETE)
            .order_by("-taken_at", "-id")
            .first()
        )
        if snapshot is not None:
            latest[role] = snapshot
    return latest


def sku_map_records(frame: pd.DataFrame | None) -> list[dict[str, str]]:
    """A sku_map frame as JSON-ready rows (what ReconciliationRun.sku_map keeps)."""
    if frame is None or frame.empty:
        return []
    columns = list(SKU_MAP_SCHEMA)
    return [dict(zip(columns, row, strict=True)) for row in _py_lists(frame, columns)]


def sku_map_frame(sku_map: pd.DataFrame | Sequence[dict[str, str]] | None) -> pd.DataFrame | None:
    if sku_map is None or isinstance(sku_map, pd.DataFrame):
        return sku_map
    if not sku_map:
        return None
    return pd.DataFrame(
        {
            col: pd.array([row.get(col) for row in sku_map], dtype=PANDAS_DTYPES[kind])
            for col, kind in SKU_MAP_SCHEMA.items()
        }
    )


def use_copy() -> bool:
    """COPY on PostgreSQL; everything else takes the portable ORM path."""
    return connection.vendor == "postgresql"


# -- helpers ---------------------------------------------------------------------------------


def _extras(file: str, frame: pd.DataFrame | None) -> list[str]:
    if frame is None:
        return []
    return [str(col) for col in frame.columns if col not in SCHEMAS[file]]


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _table(model: type[SnapshotRow]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _py_lists(frame: pd.DataFrame, columns: Sequence[str]) -> Iterable[tuple[Any, ...]]:
    """Rows as tuples of plain Python values, missing values as None."""
    lists = [frame[col].astype(object).where(frame[col].notna(), None).tolist() for col in columns]
    return zip(*lists, strict=True)


def _extra_json(frame: pd.DataFrame, extras: list[str]) -> list[str]:
    return [
        json.dumps(dict(zip(extras, row, strict=True)), ensure_ascii=False, default=str)
        for row in _py_lists(frame, extras)
    ]


def _money_text(series: pd.Series) -> pa.Array:
    """Ten-thousandths to exact decimal text with integer arithmetic: 125000 → '12.5000'."""
    values = pa.array(series, type=pa.int64(), from_pandas=True)
    magnitude = pc.abs_checked(values)
    units = pc.divide(magnitude, MONEY_SCALE)  # integer division: both operands are int64
    fraction = pc.subtract(magnitude, pc.multiply(units, MONEY_SCALE))
    sign = pc.if_else(pc.less(values, 0), "-", "")
    return pc.binary_join_element_wise(
        sign,
        pc.cast(units, pa.string()),
        ".",
        pc.utf8_lpad(pc.cast(fraction, pa.string()), width=4, padding="0"),
        "",
    )


def _arrow_column(series: pd.Series, kind: str) -> pa.Array:
    if kind == MONEY:
        return _money_text(series)
    if kind == TIME:
        stamps = pd.to_datetime(series, utc=True)
        # The database keeps microseconds; fewer digits also means less CSV to send.
        return pa.array(stamps, from_pandas=True).cast(pa.timestamp("us", tz="UTC"), safe=False)
    return pa.array(series, type=_ARROW_TYPES[kind], from_pandas=True)


def _copy_in(snapshot_id: int, file: str, frame: pd.DataFrame, extras: list[str]) -> None:
    schema = {col: kind for col, kind in SCHEMAS[file].items() if col in frame.columns}
    names = ["snapshot_id", *schema, *(["extra"] if extras else [])]
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    sql = f"COPY {_table(ROW_MODELS[file])} ({columns}) FROM STDIN WITH (FORMAT csv)"
    with connection.cursor() as cursor:
        # The queued writer sends from a thread, so the server parses one block while the next is
        # being serialised here (pyarrow releases the GIL): the two cores work at once.
        raw = cursor.cursor  # psycopg's own cursor: Django's debug wrapper takes no writer
        with raw.copy(sql, writer=QueuedLibpqWriter(raw)) as copy:
            for offset in range(0, len(frame), COPY_BLOCK_ROWS):
                block = frame.iloc[offset : offset + COPY_BLOCK_ROWS]
                copy.write(_csv_block(snapshot_id, block, schema, extras))
    logger.debug("COPY %d rows into %s for snapshot %s", len(frame), file, snapshot_id)


def _csv_block(
    snapshot_id: int, block: pd.DataFrame, schema: dict[str, str], extras: list[str]
) -> memoryview:
    arrays = {"snapshot_id": pa.array(np.full(len(block), snapshot_id, dtype=np.int64))}
    arrays.update({col: _arrow_column(block[col], kind) for col, kind in schema.items()})
    if extras:
        arrays["extra"] = pa.array(_extra_json(block, extras), type=pa.string())
    out = pa.BufferOutputStream()
    # quoting "needed" quotes every string, so '' stays an empty string while an unquoted empty
    # field is NULL, which is how COPY's CSV format reads them.
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed", batch_size=65_536)
    pacsv.write_csv(pa.table(arrays), out, options)
    return memoryview(out.getvalue())


def _select_expression(col: str, kind: str) -> str:
    name = connection.ops.quote_name(col)
    if kind == MONEY:
        return f"({name} * {MONEY_SCALE})::bigint"  # exact: numeric(18, 4) times 10^4
    if kind == TIME:
        return f"(extract(epoch from {name}) * 1000000)::bigint"
    return name


def _copy_out(snapshot_id: int, file: str, extras: list[str]) -> pd.DataFrame:
    schema = SCHEMAS[file]
    selects = [_select_expression(col, kind) for col, kind in schema.items()]
    names = list(schema)
    if extras:
        selects.append("extra::text")
        names.append("extra")
    sql = (
        f"COPY (SELECT {', '.join(selects)} FROM {_table(ROW_MODELS[file])} "
        f"WHERE snapshot_id = {int(snapshot_id)} ORDER BY id) TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        while data := copy.read():
            buffer.write(data)
    types = {
        col: (pa.int64() if k in (MONEY, TIME) else _ARROW_TYPES[k]) for col, k in schema.items()
    }
    types["extra"] = pa.string()
    if not buffer.getbuffer().nbytes:  # pyarrow refuses an empty CSV
        return _with_extras(empty_frame(file), extras, [])
    table = pacsv.read_csv(
        pa.BufferReader(buffer.getbuffer()),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: types[name] for name in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,  # COPY writes NULL as an empty field, '' as ""
            true_values=["t"],
            false_values=["f"],
        ),
    )
    columns = {}
    for col, kind in schema.items():
        values = table.column(col)
        if kind == TIME:
            values = values.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("ns", tz="UTC"))
        columns[col] = values.to_pandas(types_mapper=_PANDAS_TYPES.get)
    frame = pd.DataFrame(columns)
    extra_values = table.column("extra").to_pylist() if extras else []
    return _with_extras(frame, extras, extra_values)


def _with_extras(frame: pd.DataFrame, extras: list[str], values: list[Any]) -> pd.DataFrame:
    if not extras:
        return frame
    rows = [json.loads(v) if isinstance(v, str) else (v or {}) for v in values]
    for col in extras:
        frame[col] = pd.array([row.get(col) for row in rows], dtype=PANDAS_DTYPES[TEXT])
    return frame


def _bulk_create(snapshot_id: int, file: str, frame: pd.DataFrame, extras: list[str]) -> None:
    model = ROW_MODELS[file]
    schema = {col: kind for col, kind in SCHEMAS[file].items() if col in frame.columns}
    columns = [_python_values(frame[col], kind) for col, kind in schema.items()]
    extra_values = _extra_json(frame, extras) if extras else [None] * len(frame)
    names = list(schema)
    rows = (
        model(
            snapshot_id=snapshot_id,
            extra=json.loads(extra) if extra else None,
            **dict(zip(names, values, strict=True)),
        )
        for *values, extra in zip(*columns, extra_values, strict=True)
    )
    model.objects.bulk_create(rows, batch_size=BULK_BATCH_ROWS)


def _python_values(series: pd.Series, kind: str) -> list[Any]:
    if kind == MONEY:
        return [None if pd.isna(v) else Decimal(int(v)).scaleb(-4) for v in series]
    if kind == TIME:
        stamps = pd.to_datetime(series, utc=True)
        return [None if pd.isna(v) else v.to_pydatetime() for v in stamps]
    return series.astype(object).where(series.notna(), None).tolist()


def _values_query(snapshot_id: int, file: str, extras: list[str]) -> pd.DataFrame:
    schema = SCHEMAS[file]
    fields = [*schema, "extra"]
    rows = list(
        ROW_MODELS[file].objects.filter(snapshot_id=snapshot_id).order_by("id").values_list(*fields)
    )
    values = list(zip(*rows, strict=True)) if rows else [() for _ in fields]
    columns = {}
    for (col, kind), column in zip(schema.items(), values, strict=False):
        if kind == MONEY:
            column = [None if v is None else int(v.scaleb(4)) for v in column]
        if kind == TIME:
            columns[col] = pd.Series(pd.to_datetime(list(column), utc=True)).astype(
                PANDAS_DTYPES[TIME]
            )
        else:
            columns[col] = pd.Series(pd.array(list(column), dtype=PANDAS_DTYPES[kind]))
    return _with_extras(pd.DataFrame(columns), extras, list(values[-1]))
