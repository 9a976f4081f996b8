"""Run a real qcluster for the cluster tests: `python tests/connectors/qcluster_runner.py`.

The test connector kind (tests/connectors/simapp.py) is imported first so the forked workers know
it. PARITY_TEST_Q_NAME names the cluster's queue (cluster_name; the signing prefix `name` stays) so
concurrent test runs sharing a Redis server never take each other's tasks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.settings")

from django.conf import settings  # noqa: E402

if name := os.environ.get("PARITY_TEST_Q_NAME"):
    settings.Q_CLUSTER["cluster_name"] = name  # before django_q reads its configuration

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

import tests.connectors.simapp  # noqa: E402, F401 - registers the "testshop" connector

call_command("qcluster")
