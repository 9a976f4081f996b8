"""Health endpoints: public, honest, and free of record data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connection, SyncRun
from reconciliation.models import ReconciliationRun

pytestmark = pytest.mark.django_db


def test_liveness_needs_no_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_reports_database_backlog_and_sync_freshness(client):
    store = Connection.objects.create(
        name="Shop", kind="woocommerce", role="store", base_url="http://127.0.0.1:1"
    )
    finished = timezone.now() - timedelta(minutes=5)
    SyncRun.objects.create(
        connection=store, state=SyncRun.State.COMPLETE, started_at=finished, finished_at=finished
    )
    SyncRun.objects.create(
        connection=store,
        state=SyncRun.State.FAILED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        error="boom",
    )
    run_finished = timezone.now() - timedelta(minutes=2)
    run = ReconciliationRun.objects.create(
        status=ReconciliationRun.Status.COMPLETE, finished_at=run_finished
    )

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue_backlog"] == 0
    assert body["checks"]["last_reconciliation"]["run"] == run.id
    assert 110 <= body["checks"]["last_reconciliation"]["age_seconds"] <= 130
    [shop] = body["checks"]["connections"]
    assert shop["connection"] == "Shop"
    assert shop["last_success"] == finished.isoformat()
    assert 290 <= shop["age_seconds"] <= 310


def test_readiness_without_any_run_or_connection(client):
    body = client.get("/readyz").json()

    assert body["checks"]["last_reconciliation"] is None
    assert body["checks"]["connections"] == []


def test_health_endpoints_refuse_writes(client):
    assert client.post("/readyz").status_code == 405
