""" "Re-check now": the rules re-run on the latest complete snapshots with the current mappings
and settings, so ops sees at once what a change cleared or created.

`start(user)` records a queued `Recheck` and enqueues `integration.tasks.run_recheck` after
commit; the task calls `run(recheck_id)`. A re-check is a normal reconciliation run over the saved
snapshots (`reconciliation.runs.reconcile_saved`): it refuses to start while another run is
running, and its exceptions are recorded (and auto-resolved) like any run's.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django_q.tasks import async_task

from exceptions.models import EventKind, ExceptionEvent, ExceptionRecord, Status
from integration.models import Recheck
from reconciliation.models import ReconciliationRun, RunAlreadyRunning
from reconciliation.store import latest_complete_snapshots, load_bundle

logger = logging.getLogger(__name__)

TASK = "integration.tasks.run_recheck"
# A re-check still queued or running after this long lost its worker (or none is running).
ABANDONED_AFTER = timedelta(hours=2)
CLEARED_KINDS = (EventKind.AUTO_RESOLVED,)
CREATED_KINDS = (EventKind.DETECTED, EventKind.REOPENED)


class RecheckRefused(Exception):
    """A re-check cannot start now; the message says why."""


def active() -> Recheck | None:
    return Recheck.objects.filter(status__in=Recheck.ACTIVE).first()


def start(user: AbstractBaseUser | None) -> Recheck:
    """Queue a re-check. RecheckRefused when a reconciliation run or another re-check is going on,
    or there is nothing to re-check yet."""
    _fail_abandoned()
    # A run whose process died would otherwise refuse every re-check until it times out.
    ReconciliationRun.fail_abandoned(ABANDONED_AFTER)
    running = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.RUNNING).first()
    if running is not None:
        raise RecheckRefused(
            f"Reconciliation run {running.pk} is running: re-check when it has finished"
        )
    if not latest_complete_snapshots():
        raise RecheckRefused("There are no complete snapshots yet: nothing to re-check")
    try:
        with transaction.atomic():
            recheck = Recheck.objects.create(requested_by=user)
    except IntegrityError as exc:  # the one-active constraint: someone else was quicker
        other = active()
        label = f"re-check {other.pk}" if other else "another re-check"
        raise RecheckRefused(f"{label} is already queued or running") from exc
    transaction.on_commit(lambda: async_task(TASK, recheck.pk, task_name=f"re-check {recheck.pk}"))
    return recheck


def run(recheck_id: int) -> Recheck:
    """Do a queued re-check; a re-check that is no longer queued is left alone (redelivery)."""
    claimed = Recheck.objects.filter(pk=recheck_id, status=Recheck.Status.QUEUED).update(
        status=Recheck.Status.RUNNING, started_at=timezone.now(), progress="loading snapshots"
    )
    recheck = Recheck.objects.get(pk=recheck_id)
    if not claimed:
        return recheck
    try:
        _recheck(recheck)
    except RunAlreadyRunning as exc:
        _finish(recheck, Recheck.Status.FAILED, error=f"Refused: {exc}")
    except Exception as exc:
        logger.exception("re-check %s failed", recheck_id)
        _finish(recheck, Recheck.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    return recheck


def _recheck(recheck: Recheck) -> None:
    from connectors.sync import current_sync_failures
    from reconciliation.runs import reconcile_saved

    latest = latest_complete_snapshots()
    if not latest:
        raise RuntimeError("there are no complete snapshots to re-check")
    snapshots = list(latest.values())
    last = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE).first()
    # The same snapshots as the last run: keep its as_of, so only the settings differ and the
    # counts show what the change did (not orders that have aged past a grace meanwhile).
    same = last is not None and set(last.snapshots.values_list("id", flat=True)) == {
        s.pk for s in snapshots
    }
    bundle = load_bundle(
        snapshots,
        as_of=last.as_of if same and last.as_of else timezone.now(),
        currency=(last.currency if last else "") or getattr(settings, "PARITY_CURRENCY", "GBP"),
        config=last.config if last else {},
        sku_map=last.sku_map if last else None,
        source="re-check",
        sync_failures=current_sync_failures(),
    )
    open_before = _open_count()
    who = recheck.requested_by.get_username() if recheck.requested_by else "system"
    reconciliation, _ = reconcile_saved(
        bundle,
        snapshots,
        source=f"re-check {recheck.pk} by {who}",
        progress=lambda message: _progress(recheck, message),
    )
    per_rule: dict[str, dict[str, int]] = {}
    rows = (
        ExceptionEvent.objects.filter(run=reconciliation, kind__in=CLEARED_KINDS + CREATED_KINDS)
        .values_list("exception__rule", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    for rule, kind, n in rows:
        entry = per_rule.setdefault(rule, {"cleared": 0, "created": 0})
        entry["cleared" if kind in CLEARED_KINDS else "created"] += n
    totals = reconciliation.totals
    recheck.run = reconciliation
    recheck.open_before = open_before
    recheck.open_after = _open_count()
    recheck.cleared = totals.get("auto_resolved", 0)
    recheck.created = totals.get("opened", 0) + totals.get("reopened", 0)
    recheck.per_rule = dict(sorted(per_rule.items()))
    _finish(recheck, Recheck.Status.COMPLETE)


def _open_count() -> int:
    return ExceptionRecord.objects.exclude(status=Status.RESOLVED).count()


def _progress(recheck: Recheck, message: str) -> None:
    recheck.progress = message[:200]
    Recheck.objects.filter(pk=recheck.pk).update(progress=recheck.progress)


def _finish(recheck: Recheck, status: str, *, error: str = "") -> None:
    recheck.status = status
    recheck.error = error
    recheck.finished_at = timezone.now()
    recheck.progress = "done" if status == Recheck.Status.COMPLETE else "failed"
    recheck.save()


def _fail_abandoned() -> None:
    cutoff = timezone.now() - ABANDONED_AFTER
    Recheck.objects.filter(status__in=Recheck.ACTIVE, created_at__lt=cutoff).update(
        status=Recheck.Status.FAILED,
        finished_at=timezone.now(),
        error=f"abandoned: not finished after {ABANDONED_AFTER} (is a qcluster running?)",
    )
