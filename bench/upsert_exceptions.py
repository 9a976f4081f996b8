"""Time exceptions.sync.record_exceptions on N exceptions (default 100,000).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parity .venv/bin/python bench/upsert_exceptions.py

Runs in a throwaway test database (test_<name>, created and dropped here), never in the real one.
Prints seconds for: the first insert, a re-run of the same data, and a churn run (10 % gone,
10 % new, 5 % escalated).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from exceptions.sync import record_exceptions  # noqa: E402
from reconciliation.models import ReconciliationRun  # noqa: E402

RULES = ("ORDER_NOT_IN_ERP", "ORDER_NOT_AT_WMS", "TRACKING_MISSING", "STOCK_DRIFT")


def frame(n: int, start: int = 0, escalate_every: int = 0) -> pd.DataFrame:
    ids = range(start, start + n)
    priorities = [
        "P1" if escalate_every and i % escalate_every == 0 else f"P{2 + i % 3}" for i in ids
    ]
    return pd.DataFrame(
        {
            "rule": [RULES[i % len(RULES)] for i in ids],
            "key": [f"SO-{i:08d}" for i in ids],
            "owner": ["office"] * n,
            "team": ["ops"] * n,
            "priority": priorities,
            "score": [float(i % 1000) for i in ids],
            "summary": [f"Order SO-{i:08d} placed 3 h ago is not in the ERP" for i in ids],
            "details": [
                {"order_ref": f"SO-{i:08d}", "gross_total": "12.50", "age_minutes": i % 500}
                for i in ids
            ],
            "roles": [["store", "erp"]] * n,
        }
    )


def timed(label: str, run_frame: pd.DataFrame) -> None:
    run = ReconciliationRun.objects.create()
    started = time.perf_counter()
    counts = record_exceptions(run, run_frame)
    print(f"{label:<12} {time.perf_counter() - started:6.2f} s  {counts}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000)
    n = parser.parse_args().n
    config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        print(f"{connection.vendor}, {n} exceptions")
        first = frame(n)
        timed("first", first)
        timed("re-run", first)
        churn = pd.concat([frame(n - n // 10, n // 10, escalate_every=20), frame(n // 10, n)])
        timed("churn", churn)
    finally:
        teardown_databases(config, verbosity=0)


if __name__ == "__main__":
    main()
