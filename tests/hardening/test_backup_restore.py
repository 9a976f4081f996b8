"""Backup and restore (docs/operations.md): a pg_dump of a working database, restored into a
fresh one, holds every exception and every audit event exactly as they were."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import AbstractUser
from django.db import connection

from exceptions import actions
from exceptions.models import ExceptionEvent, ExceptionRecord
from reconciliation.models import ReconciliationRun, Snapshot, SnapshotOrder
from reconciliation.runs import reconcile_path
from tests.bundles import write_bundle_dir

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump needs PostgreSQL"),
    # Committed data: pg_dump reads from its own connection, outside the test's transaction.
    pytest.mark.django_db(transaction=True),
]

TABLES = [ExceptionRecord, ExceptionEvent, ReconciliationRun, Snapshot, SnapshotOrder]
COMMENT = "Chasing the ERP team — ‘W2’ <b>not</b> posted"


def _client_args() -> tuple[list[str], dict[str, str]]:
    """The command-line clients' connection options and environment for the test database."""
    db = connection.settings_dict
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    return args, env


@pytest.fixture
def restored_name() -> Iterator[str]:
    """A fresh database name for the restore, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{os.getpid()}"
    args, env = _client_args()
    subprocess.run(["dropdb", *args, "--if-exists", name], check=True, env=env)
    yield name
    subprocess.run(["dropdb", *args, "--if-exists", name], check=True, env=env)


def _rows(conn: psycopg.Connection, table: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608 - our table names
        return cursor.fetchall()


def test_a_restored_dump_holds_every_exception_and_event(
    tmp_path: Path,
    make_user: Callable[..., AbstractUser],
    restored_name: str,
) -> None:
    ops = make_user("otto", group="Ops")
    bundle = write_bundle_dir(
        tmp_path / "bundle",
        systems={"store": "woocommerce", "erp": "prima"},
        files={
            "store/orders.csv": [
                {"order_ref": "W1", "status": "open", "placed_at": "2026-11-29T10:00:00Z"},
                {"order_ref": "W2", "status": "open", "placed_at": "2026-11-29T10:00:00Z"},
            ],
            "erp/orders.csv": [],
        },
    )
    reconcile_path(bundle)
    first, second = ExceptionRecord.objects.order_by("id")[:2]
    assert actions.acknowledge(first, ops)
    assert actions.comment(second, ops, COMMENT)
    assert ExceptionEvent.objects.filter(actor=ops).count() == 2

    args, env = _client_args()
    dump = tmp_path / "parity.dump"
    name = connection.settings_dict["NAME"]
    subprocess.run(["pg_dump", *args, "-Fc", "-f", str(dump), name], check=True, env=env)
    subprocess.run(["createdb", *args, restored_name], check=True, env=env)
    subprocess.run(
        ["pg_restore", *args, "--no-owner", "--exit-on-error", "-d", restored_name, str(dump)],
        check=True,
        env=env,
    )

    db = connection.settings_dict
    dsn = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
    with (
        psycopg.connect(dbname=name, password=db["PASSWORD"] or None, **dsn) as original,
        psycopg.connect(dbname=restored_name, password=db["PASSWORD"] or None, **dsn) as copy,
    ):
        for model in TABLES:
            table = model._meta.db_table
            assert _rows(copy, table) == _rows(original, table), table
        with copy.cursor() as cursor:
            cursor.execute(
                "SELECT r.key, r.status, e.kind, u.username, e.note"
                " FROM exceptions_exceptionevent e"
                " JOIN exceptions_exceptionrecord r ON r.id = e.exception_id"
                " LEFT JOIN auth_user u ON u.id = e.actor_id ORDER BY e.id"
            )
            assert cursor.fetchall() == [
                ("W1", "acknowledged", "detected", None, ""),
                ("W2", "open", "detected", None, ""),
                ("W1", "acknowledged", "acknowledged", "otto", ""),
                ("W2", "open", "commented", "otto", COMMENT),
            ]
