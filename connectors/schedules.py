"""The schedules, as data. `manage.py sync_schedules` writes them to django-q2's Schedule table
with update_or_create (and removes ones no longer listed); nothing creates them at start-up.

Each schedule fans out through `connectors.tasks.sync_due`, so per-connection settings (enabled,
schedule_minutes) take effect without touching the schedule rows. Q_CLUSTER's catch_up is off:
after downtime each schedule runs once, not once per missed slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django_q.models import Schedule

PREFIX = "connectors: "


@dataclass(frozen=True)
class Spec:
    name: str
    func: str
    args: tuple[Any, ...] = ()
    minutes: int | None = None  # every N minutes, or
    daily_at: time | None = None  # once a day at this local time

    @property
    def full_name(self) -> str:
        return PREFIX + self.name

    def first_run(self, now: datetime) -> datetime:
        if self.daily_at is None:
            return now
        local = timezone.localtime(now)
        at = local.replace(
            hour=self.daily_at.hour, minute=self.daily_at.minute, second=0, microsecond=0
        )
        return at if at > local else at + timedelta(days=1)


SCHEDULES: tuple[Spec, ...] = (
    # Each connection's own schedule_minutes decides when its delta is due; this only looks.
    Spec("delta pulls", "connectors.tasks.sync_due", ("delta",), minutes=1),
    Spec("dispatch polling", "connectors.tasks.sync_due", ("dispatch",), minutes=10),
    Spec("nightly full refresh", "connectors.tasks.sync_due", ("full",), daily_at=time(2, 30)),
    # A safety net: syncs queue a reconcile themselves; this is a no-op when nothing is new.
    Spec("reconcile latest", "connectors.tasks.reconcile_latest_task", minutes=15),
    # Alerts: retry due deliveries and catch runs whose planning task was lost; a daily digest.
    Spec("alert sweep", "exceptions.tasks.alert_sweep", minutes=1),
    Spec("alert digests", "exceptions.tasks.send_digests", daily_at=time(7, 30)),
    # Personal data retention: snapshots past PARITY_RETENTION_DAYS, after the nightly refresh.
    Spec(
        "purge old snapshots", "reconciliation.retention.purge_snapshots_task", daily_at=time(3, 30)
    ),
)


def sync_schedules(specs: tuple[Spec, ...] = SCHEDULES) -> dict[str, list[str]]:
    """Make the Schedule table match `specs`; what was created, updated and removed."""
    report: dict[str, list[str]] = {"created": [], "updated": [], "removed": []}
    now = timezone.now()
    for spec in specs:
        defaults = {
            "func": spec.func,
            "args": repr(spec.args) if spec.args else None,
            "kwargs": None,
            "schedule_type": Schedule.MINUTES if spec.minutes else Schedule.DAILY,
            "minutes": spec.minutes,
            "repeats": -1,
            "cron": None,
        }
        # next_run only on creation: re-syncing must not push a pending run further away.
        _, created = Schedule.objects.update_or_create(
            name=spec.full_name,
            defaults=defaults,
            create_defaults={**defaults, "next_run": spec.first_run(now)},
        )
        report["created" if created else "updated"].append(spec.full_name)
    listed = {spec.full_name for spec in specs}
    for schedule in Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=listed):
        report["removed"].append(schedule.name)
        schedule.delete()
    return report
