""" "Re-check now": the rules re-run on the latest snapshots with the current mappings, as a
django-q2 task, refusing to start while a reconciliation runs; the counts it reports."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils import timezone

from exceptions.models import ExceptionRecord
from integration import mappings, recheck
from integration.models import Recheck
from reconciliation.models import ReconciliationRun
from tests.integration.conftest import SATURDAY

pytestmark = pytest.mark.django_db


def open_keys(rule: str) -> list[str]:
    return sorted(
        ExceptionRecord.objects.filter(rule=rule)
        .exclude(status="resolved")
        .values_list("key", flat=True)
    )


def test_ops_maps_saturday_delivery_and_the_recheck_clears_its_exceptions(
    client: Client, ops_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    client.force_login(ops_user)
    assert open_keys("SHIPPING_UNMAPPED") == list(SATURDAY)
    open_before = ExceptionRecord.objects.exclude(status="resolved").count()
    mappings.save_shipping_method(ops_user, "Saturday Delivery", "WHSAT", express=True)

    with tasks_inline():
        started = client.post("/mappings/recheck/", {"next": "shipping"})

    done = Recheck.objects.get()
    assert started.status_code == 302
    assert started["Location"] == f"/mappings/recheck/{done.pk}/"
    assert (done.status, done.error, done.requested_by) == ("complete", "", ops_user)
    assert (done.cleared, done.created) == (2, 0)
    assert done.per_rule == {"SHIPPING_UNMAPPED": {"cleared": 2, "created": 0}}
    assert (done.open_before, done.open_after) == (open_before, open_before - 2)
    assert open_keys("SHIPPING_UNMAPPED") == []
    # Same snapshots as the last run: its as_of is kept, so only the mapping made a difference.
    assert done.run.as_of == demo_run.as_of
    assert set(done.run.snapshots.values_list("id", flat=True)) == set(
        demo_run.snapshots.values_list("id", flat=True)
    )
    assert done.run.source == f"re-check {done.pk} by otto"
    page = client.get(f"/mappings/recheck/{done.pk}/").content.decode()
    assert "<strong>2</strong> open exceptions cleared, <strong>0</strong> created" in page
    assert '<td>SHIPPING_UNMAPPED</td><td class="number">2</td>' in page


def test_a_stricter_setting_creates_exceptions(
    ops_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    stuck = len(open_keys("STUCK_PRE_DISPATCH"))
    mappings.save_settings(ops_user, {"dispatch_sla_hours": 1, "express_sla_hours": 1})

    with tasks_inline():
        started = recheck.start(ops_user)

    started.refresh_from_db()
    assert started.status == "complete"
    created = started.per_rule["STUCK_PRE_DISPATCH"]["created"]
    assert created > 0
    assert len(open_keys("STUCK_PRE_DISPATCH")) == stuck + created
    assert started.created == sum(n["created"] for n in started.per_rule.values())


def test_it_refuses_to_start_while_a_reconciliation_is_running(
    client: Client, ops_user: AbstractUser, demo_run: ReconciliationRun, tasks_inline: Any
) -> None:
    running = ReconciliationRun.begin(source="someone else's run")
    client.force_login(ops_user)
    state = list(ExceptionRecord.objects.order_by("id").values_list("id", "status"))

    with tasks_inline():
        answer = client.post("/mappings/recheck/", {"next": "settings"}, follow=True)

    assert answer.redirect_chain == [("/mappings/settings/", 302)]
    assert (
        f"Re-check not started: Reconciliation run {running.pk} is running"
        in answer.content.decode()
    )
    assert Recheck.objects.count() == 0
    assert list(ExceptionRecord.objects.order_by("id").values_list("id", "status")) == state


def test_a_run_that_starts_meanwhile_fails_the_recheck_and_changes_nothing(
    ops_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    queued = recheck.start(ops_user)  # the task is not run: on_commit never fires here
    ReconciliationRun.begin(source="a connector run")
    state = list(ExceptionRecord.objects.order_by("id").values_list("id", "status"))

    done = recheck.run(queued.pk)

    assert done.status == "failed"
    assert done.error.startswith("Refused: reconciliation run")
    assert list(ExceptionRecord.objects.order_by("id").values_list("id", "status")) == state


def test_one_recheck_at_a_time_and_a_redelivered_task_does_nothing(
    ops_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    first = recheck.start(ops_user)
    with pytest.raises(recheck.RecheckRefused, match=f"re-check {first.pk} is already queued"):
        recheck.start(ops_user)

    recheck.run(first.pk)
    runs = ReconciliationRun.objects.count()
    again = recheck.run(first.pk)

    assert again.status == "complete"
    assert ReconciliationRun.objects.count() == runs
    assert recheck.start(ops_user).pk != first.pk  # the slot is free again


def test_an_abandoned_recheck_frees_the_slot(
    ops_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    stale = recheck.start(ops_user)
    Recheck.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - recheck.ABANDONED_AFTER * 2
    )

    fresh = recheck.start(ops_user)

    stale.refresh_from_db()
    assert stale.status == "failed"
    assert "is a qcluster running?" in stale.error
    assert fresh.status == "queued"


def test_without_snapshots_there_is_nothing_to_recheck(ops_user: AbstractUser) -> None:
    with pytest.raises(recheck.RecheckRefused, match="no complete snapshots yet"):
        recheck.start(ops_user)


def test_only_ops_and_admin_may_recheck(
    client: Client, cx_user: AbstractUser, finance_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    for user in (cx_user, finance_user):
        client.force_login(user)
        assert client.post("/mappings/recheck/").status_code == 403
    assert Recheck.objects.count() == 0


def test_the_status_fragment_polls_while_active(
    client: Client, ops_user: AbstractUser, demo_run: ReconciliationRun
) -> None:
    queued = recheck.start(ops_user)
    client.force_login(ops_user)

    while_queued = client.get(f"/mappings/recheck/{queued.pk}/status/").content.decode()
    recheck.run(queued.pk)
    when_done = client.get(f"/mappings/recheck/{queued.pk}/status/").content.decode()

    assert f'data-poll="/mappings/recheck/{queued.pk}/status/"' in while_queued
    assert "Waiting for a worker" in while_queued
    assert "data-poll" not in when_done
    assert client.get("/mappings/recheck/999999/status/").status_code == 404
