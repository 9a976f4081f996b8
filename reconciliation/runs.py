"""A reconciliation run end to end: read → save snapshots → reconcile → record exceptions.

Each phase is timed; the run row moves pending → running → complete | failed and keeps the
timings, counts per rule and the exception totals. The exceptions, the run's summary and its
completion are committed together, so a run that dies (docs/faults.md) changes no exception. A bundle that does not read (BundleError) or a
config that does not validate stops before any run or snapshot exists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction

from exceptions.alerts import queue_run_alerts
from exceptions.sync import record_exceptions
from integration import mappings
from integration.logging import log_context
from reconciliation.bundle import read_bundle
from reconciliation.engine import Result, reconcile
from reconciliation.frames import Bundle
from reconciliation.metrics import record_metrics
from reconciliation.models import ReconciliationRun, Snapshot
from reconciliation.settings import ReconSettings
from reconciliation.store import save_snapshots, sku_map_records

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

# A run still `running` after this long lost its process: the largest bundles take minutes.
ABANDONED_AFTER = timedelta(hours=2)


def effective_settings(config: dict[str, Any]) -> ReconSettings:
    """A bundle's config.json laid over the database settings (the profile's scalars and the
    mapping tables, over the rules.md defaults); maps are merged, the bundle's entry winning.
    See integration/mappings.py."""
    return mappings.effective_settings(config)


def engine_input(bundle: Bundle) -> tuple[Bundle, ReconSettings]:
    """What the engine reconciles: the bundle with the tables' SKU aliases merged into its
    sku_map (its own rows win), and the effective settings. Every run path goes through here."""
    return mappings.with_table_aliases(bundle), effective_settings(bundle.config)


def reconcile_path(
    path: str | Path, *, save: bool = True, progress: Progress | None = None
) -> tuple[ReconciliationRun | None, Result]:
    """Reconcile a bundle directory or zip; with save=False nothing is written to the database."""
    timings: dict[str, float] = {}
    with _phase("read", timings, progress):
        bundle = read_bundle(path)
    return _run(bundle, "bundle", str(path), save=save, progress=progress, timings=timings)


def reconcile_bundle_object(
    bundle: Bundle,
    *,
    source: str,
    source_name: str,
    save: bool = True,
    progress: Progress | None = None,
    run: ReconciliationRun | None = None,
) -> tuple[ReconciliationRun | None, Result]:
    """Reconcile an in-memory bundle (the demo, connectors). `run`: a pending run to use."""
    return _run(bundle, source, source_name, save=save, progress=progress, timings={}, run=run)


def _run(
    bundle: Bundle,
    source: str,
    source_name: str,
    *,
    save: bool,
    progress: Progress | None,
    timings: dict[str, float],
    run: ReconciliationRun | None = None,
) -> tuple[ReconciliationRun | None, Result]:
    engine_bundle, settings = engine_input(bundle)  # a bad value stops here, before any writes
    if not save:
        with _phase("reconcile", timings, progress):
            result = reconcile(engine_bundle, settings)
        result.timings = {**timings, **result.timings}
        return None, result

    run = _begin(run, bundle, settings, source, source_name)
    try:
        with _phase("save_snapshots", timings, progress):
            snapshots = save_snapshots(bundle, source=source, source_name=source_name)
            run.snapshots.set(snapshots)
        result = _reconcile_and_record(run, engine_bundle, settings, timings, progress)
    except BaseException as exc:  # Ctrl-C too: a run left `running` would block every other
        _fail(run, exc)
        raise
    return run, result


def _reconcile_and_record(
    run: ReconciliationRun,
    engine_bundle: Bundle,
    settings: ReconSettings,
    timings: dict[str, float],
    progress: Progress | None,
) -> Result:
    """The phases every run ends with: reconcile, record exceptions, summarise, complete, alert."""
    # Every record logged during the phases names the run in JSON logs (integration/logging.py).
    with log_context(reconciliation_run=run.pk):
        with _phase("reconcile", timings, progress):
            result = reconcile(engine_bundle, settings)
        # One transaction from the exceptions to the run's completion: a run that dies in between
        # (killed worker, dropped connection) leaves the exceptions exactly as they were.
        with transaction.atomic():
            with _phase("save_exceptions", timings, progress):
                totals = record_exceptions(run, result.exceptions, result.rules_run)
            # The dashboard's and month-end's summary: timed, not announced (it takes a moment).
            with _phase("metrics", timings, None):
                record_metrics(run, engine_bundle, result, settings)
            result.timings = {**timings, **result.timings}
            run.complete(timings=result.timings, counts=result.counts, totals=totals)
            # Alerts are planned in a task once the run is committed: a failing webhook never
            # blocks it.
            queue_run_alerts(run.pk)
        logger.info(
            "reconciliation run %s complete: %s",
            run.pk,
            ", ".join(f"{name} {count}" for name, count in totals.items()),
        )
    return result


def reconcile_saved(
    bundle: Bundle,
    snapshots: list[Snapshot],
    *,
    source: str,
    progress: Progress | None = None,
) -> tuple[ReconciliationRun, Result]:
    """Reconcile snapshots that are saved already (loaded back with store.load_bundle): the run
    links them instead of saving copies. RunAlreadyRunning when another run is going on."""
    timings: dict[str, float] = {}
    engine_bundle, settings = engine_input(bundle)
    if abandoned := ReconciliationRun.fail_abandoned(ABANDONED_AFTER):
        logger.warning("marked %d abandoned reconciliation run(s) failed", abandoned)
    run = ReconciliationRun.begin(
        as_of=bundle.as_of.to_pydatetime(),
        currency=bundle.currency,
        source=source,
        config=bundle.config,
        settings=settings.to_json(),
        sku_map=sku_map_records(bundle.sku_map),
    )
    try:
        run.snapshots.set(snapshots)
        result = _reconcile_and_record(run, engine_bundle, settings, timings, progress)
    except BaseException as exc:
        _fail(run, exc)
        raise
    return run, result


def _begin(
    run: ReconciliationRun | None,
    bundle: Bundle,
    settings: ReconSettings,
    source: str,
    source_name: str,
) -> ReconciliationRun:
    """The run row in `running` (RunAlreadyRunning when another run is; nothing is then saved)."""
    fields = {
        "as_of": bundle.as_of.to_pydatetime(),
        "currency": bundle.currency,
        "source": f"{source}: {source_name}",
        "config": bundle.config,
        "settings": settings.to_json(),
        # The bundle's own sku_map, like `config`: the tables' aliases are read afresh by each
        # run, so a later run never carries a deleted alias forward from here.
        "sku_map": sku_map_records(bundle.sku_map),
    }
    if abandoned := ReconciliationRun.fail_abandoned(ABANDONED_AFTER):
        logger.warning("marked %d abandoned reconciliation run(s) failed", abandoned)
    if run is None:
        return ReconciliationRun.begin(**fields)
    for name, value in fields.items():
        setattr(run, name, value)
    run.save(update_fields=list(fields))
    run.start()
    return run


def _fail(run: ReconciliationRun, exc: BaseException) -> None:
    reason = f"{type(exc).__name__}: {str(exc).strip()}"
    try:
        try:
            run.fail(reason)
        except (OperationalError, InterfaceError):
            # The connection itself died (the error may be that): a fresh one records the
            # failure, or the run would stay `running` with no reason given.
            if connection.in_atomic_block:
                raise
            connection.close()
            run.fail(reason)
    except Exception:
        # The original error matters more; it is raised on whatever happens here.
        logger.exception("could not mark run %s failed", run.pk)


@contextmanager
def _phase(name: str, timings: dict[str, float], progress: Progress | None) -> Iterator[None]:
    started = time.perf_counter()
    if progress:
        progress(f"{name} …")
    yield
    timings[name] = round(time.perf_counter() - started, 4)
    if progress:
        progress(f"{name} done in {timings[name]:.2f}s")
