"""Liveness and readiness endpoints for load balancers and operators.

Both are public (no login) and say only what an operator needs: no record data, no credentials.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@login_not_required
@never_cache
@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is checked."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readiness(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers; also reports queue backlog and sync freshness."""
    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    checks["queue_backlog"] = queue_backlog()
    checks["last_reconciliation"] = last_reconciliation()
    checks["connections"] = last_successful_syncs()
    return JsonResponse({"status": "ok", "checks": checks})


def queue_backlog() -> int | None:
    """Tasks waiting in the django-q2 broker (None when the broker cannot say)."""
    from django_q.brokers import get_broker

    try:
        return int(get_broker().queue_size())
    except Exception:  # noqa: BLE001 - a broker that cannot count is reported as unknown
        return None


def last_reconciliation() -> dict[str, Any] | None:
    from reconciliation.models import ReconciliationRun

    run = (
        ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE)
        .order_by("-finished_at")
        .only("id", "finished_at")
        .first()
    )
    if run is None or run.finished_at is None:
        return None
    return {
        "run": run.id,
        "finished_at": run.finished_at.isoformat(),
        "age_seconds": int((timezone.now() - run.finished_at).total_seconds()),
    }


def last_successful_syncs() -> list[dict[str, Any]]:
    """Per connection: when its last sync completed and how long ago."""
    from connectors.models import Connection, SyncRun

    rows = Connection.objects.order_by("name").annotate(
        last_ok=Max("sync_runs__finished_at", filter=_complete(SyncRun))
    )
    now = timezone.now()
    return [
        {
            "connection": row.name,
            "role": row.role,
            "enabled": row.enabled,
            "last_success": row.last_ok.isoformat() if row.last_ok else None,
            "age_seconds": int((now - row.last_ok).total_seconds()) if row.last_ok else None,
        }
        for row in rows
    ]


def _complete(sync_run_model: Any) -> Any:
    from django.db.models import Q

    return Q(sync_runs__state=sync_run_model.State.COMPLETE)
