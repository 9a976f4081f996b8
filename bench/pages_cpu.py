"""CPU per request of the queue and exception pages, in-process (no server, no network).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parity .venv/bin/python bench/pages_cpu.py \
        [--orders 1000] [--exceptions 20000] [--users 50] [--repeat 15] [--profile KIND]

Runs in a throwaway database (test_<name>, created and dropped here), never in the real one:
seeds the world bench/load.py uses (the demo world reconciled, filler exceptions and events, the
people), then asks each page through Django's test client as an Ops and a Warehouse user and
prints the median `time.process_time()` per request in milliseconds — this process's CPU only
(PostgreSQL's is not included), which is what saturates the web server under load. DEBUG is
off. `--profile queue-all` (any kind) prints a cProfile of that page instead.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")
os.environ["DEBUG"] = "false"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from bench.load import seed  # noqa: E402

QUEUES = {
    "queue-mine": "/exceptions/",
    "queue-all": "/exceptions/?team=",
    "queue-P1": "/exceptions/?team=&priority=P1",
}
ROLES = ("ops1", "warehouse2")  # Ops may assign and act in bulk; Warehouse acts on its side


def _detail_paths(count: int) -> list[str]:
    """Exceptions the reconciliation found (evidence and events), open ones first."""
    from exceptions.models import ExceptionRecord

    ids = ExceptionRecord.objects.filter(first_run__isnull=False).order_by("-score", "id")
    return [f"/exceptions/{pk}/" for pk in ids.values_list("pk", flat=True)[:count]]


def cpu_ms(client: Client, path: str) -> float:
    started = time.process_time()
    response = client.get(path)
    spent = (time.process_time() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code}")
    return spent


def measure(repeat: int, profile: str | None) -> dict[str, dict[str, float]]:
    from django.contrib.auth import get_user_model

    details = _detail_paths(repeat)
    results: dict[str, dict[str, float]] = {}
    for username in ROLES:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        pages = {kind: [path] * repeat for kind, path in QUEUES.items()}
        pages["detail"] = details
        for kind, paths in pages.items():
            cpu_ms(client, paths[0])  # warm: templates compiled, caches filled
            if profile == kind:
                profiler = cProfile.Profile()
                profiler.enable()
                for path in paths:
                    client.get(path)
                profiler.disable()
                print(f"--- {kind} as {username}, {len(paths)} requests")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            times = [cpu_ms(client, path) for path in paths]
            results.setdefault(kind, {})[username] = statistics.median(times)
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000, help="demo world orders (1,000)")
    parser.add_argument("--exceptions", type=int, default=20_000, help="exceptions (20,000)")
    parser.add_argument("--users", type=int, default=50, help="people (50)")
    parser.add_argument("--repeat", type=int, default=15, help="requests per page kind (15)")
    parser.add_argument("--profile", help="print a cProfile of this page kind (e.g. queue-all)")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        sys.exit("bench/pages_cpu.py seeds with PostgreSQL SQL: set DATABASE_URL=postgres://…")
    config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    try:
        seed(args.orders, args.exceptions, args.users)
        results = measure(args.repeat, args.profile)
    finally:
        teardown_databases(config, verbosity=0)
    print(f"median CPU ms per request (of {args.repeat}), DEBUG off")
    print(f"{'page':<12}" + "".join(f"{name:>12}" for name in ROLES))
    for kind, by_user in results.items():
        print(f"{kind:<12}" + "".join(f"{by_user[name]:>12.1f}" for name in ROLES))
    return results


if __name__ == "__main__":
    main()
