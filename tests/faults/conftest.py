"""Fixtures of the fault tests: the simulator fixtures of tests/connectors and its real qcluster
(a subprocess on the test database), plus `exception_state()`, the exceptions table as a value to
compare before and after a fault."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from django.db import connection as db
from django.db import connections

from exceptions.models import ExceptionEvent, ExceptionRecord
from tests.connectors.conftest import shop, shop_connection, simulator, sleeps, world  # noqa: F401
from tests.connectors.test_cluster import cluster  # noqa: F401

POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres") or db.vendor != "postgresql",
    reason="the fault tests run against PostgreSQL (set DATABASE_URL)",
)


def exception_state() -> dict[str, Any]:
    """Every exception's state and the audit trail's size: equal values mean nothing changed."""
    records = ExceptionRecord.objects.order_by("rule", "key").values_list(
        "rule", "key", "status", "priority", "last_seen", "last_run_id"
    )
    return {
        "records": list(records),
        "events": ExceptionEvent.objects.count(),
    }


def in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run target() in a thread with its own database connection; its result or exception."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome
