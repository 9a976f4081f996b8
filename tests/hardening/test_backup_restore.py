"""Backup and restore (docs/operations.md): a pg_dump of a working database, restored into a
fresh one, holds every exception and every audit event exactly as they were (row for row, same
counts and checksums), at the same schema version: `migrate` on it has nothing to apply."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

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

ROOT = Path(__file__).resolve().parents[2]
TABLES = [ExceptionRecord, ExceptionEvent, ReconciliationRun, Snapshot, SnapshotOrder]
COMMENT = "Chasing the ERP team — ‘W2’ <b>not</b> posted"


def _client_args() -> tuple[list[str], dict[str, str]]:
    """The command-line clients' connection options and environment for the test database."""
    db = connection.settings_dict
    args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    return args, env


def _url(name: str) -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}/{name}"


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


def _checksum(conn: psycopg.Connection, table: str) -> tuple[int, str]:
    """Rows and an md5 of them all, as docs/operations.md has an operator compare them."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), ''))"  # noqa: S608
            f' FROM "{table}" t'
        )
        return cursor.fetchone()


def _migrations(conn: psycopg.Connection) -> list[tuple[str, str]]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
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
        counts = {}
        for model in TABLES:
            table = model._meta.db_table
            assert _rows(copy, table) == _rows(original, table), table
            assert _checksum(copy, table) == _checksum(original, table), table
            counts[model.__name__] = _checksum(copy, table)[0]
        assert counts == {
            "ExceptionRecord": 2,
            "ExceptionEvent": 4,
            "ReconciliationRun": 1,
            "Snapshot": 2,
            "SnapshotOrder": 2,
        }
        # The restored schema is this release's: every migration recorded, none left to apply.
        assert _migrations(copy) == _migrations(original) != []
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
    # docs/operations.md's step after a restore: migrate finds nothing to do.
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _url(restored_name)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "No migrations to apply." in migrated.stdout, migrated.stdout + migrated.stderr
