"""Exceptions fixtures: engine-shaped frames, runs, records made directly, and a sync that runs
either implementation (the PostgreSQL statements or the portable ORM one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from django.db import connection

from exceptions import sync
from exceptions.models import ExceptionRecord
from reconciliation.models import ReconciliationRun

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def found_row(rule: str = "ORDER_NOT_IN_ERP", key: str = "W1", **fields: Any) -> dict[str, Any]:
    """One row of the engine's exceptions frame; defaults are a plain office/ecommerce P2."""
    return {
        "rule": rule,
        "key": key,
        "owner": "office",
        "team": "ecommerce",
        "priority": "P2",
        "score": 50.0,
        "summary": f"Order {key} is not in the ERP",
        "details": {"order_ref": key, "gross_total": "12.50"},
        "roles": ["store", "erp"],
        **fields,
    }


def found_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(sync.COLUMNS))


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The cast's passwords are hashed for every test; the production hasher (deliberately slow)
    # made user creation most of the time of a view test. Autouse: it runs before the cast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_run(db: None) -> Callable[[], ReconciliationRun]:
    return ReconciliationRun.objects.create


@pytest.fixture(params=["postgresql", "orm"])
def record(
    request: pytest.FixtureRequest, db: None, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, int]]:
    """record(run, [rows], rules_run=None, minutes=0): sync at T0 + minutes, via one of the two
    implementations; both must give identical results."""
    if request.param == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the COPY implementation needs PostgreSQL")
    if request.param == "orm":
        monkeypatch.setattr(sync, "_record_postgresql", sync._record_orm)

    def run_sync(
        run: ReconciliationRun | None,
        rows: list[dict[str, Any]],
        rules_run: list[str] | None = None,
        *,
        minutes: int = 0,
    ) -> dict[str, int]:
        return sync.record_exceptions(
            run, found_frame(*rows), rules_run, now=T0 + timedelta(minutes=minutes)
        )

    return run_sync


@pytest.fixture
def make_exception(db: None) -> Callable[..., ExceptionRecord]:
    """make_exception(rule=..., key=..., **fields) -> a saved ExceptionRecord (no events)."""
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> ExceptionRecord:
        values = {
            "rule": "ORDER_NOT_IN_ERP",
            "key": f"W{next(counter)}",
            "owner": "office",
            "team": "ecommerce",
            "priority": "P2",
            "score": 50.0,
            "summary": "An order is not in the ERP",
            "details": {},
            "roles": ["store", "erp"],
            "first_seen": T0,
            "last_seen": T0,
            **fields,
        }
        return ExceptionRecord.objects.create(**values)

    return make
