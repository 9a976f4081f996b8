"""Exception events are an audit trail: written once, never changed or deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from exceptions.models import AppendOnlyError, ExceptionEvent
from tests.exceptions.conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(make_exception: Any, ops_user: Any) -> ExceptionEvent:
    return ExceptionEvent.objects.create(
        exception=make_exception(), kind="commented", note="called the courier", actor=ops_user
    )


def snapshot() -> list[dict[str, Any]]:
    return list(ExceptionEvent.objects.values())


def test_saving_an_existing_event_is_refused(event: ExceptionEvent) -> None:
    before = snapshot()
    event.note = "rewritten"

    with pytest.raises(AppendOnlyError):
        event.save()

    assert snapshot() == before


def test_bulk_updates_and_deletes_are_refused(event: ExceptionEvent) -> None:
    before = snapshot()

    with pytest.raises(AppendOnlyError):
        ExceptionEvent.objects.update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        ExceptionEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        event.delete()
    # bulk_update's own atomic(savepoint=False) would poison the test's transaction: give it one.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        ExceptionEvent.objects.bulk_update([event], ["note"])

    assert snapshot() == before


def test_deleting_the_actor_keeps_the_event(event: ExceptionEvent, ops_user: Any) -> None:
    ops_user.delete()

    event = ExceptionEvent.objects.get()
    assert (event.actor, event.note, event.actor_label) == (None, "called the courier", "system")


def test_a_new_event_gets_its_time(make_exception: Any) -> None:
    event = ExceptionEvent.objects.create(exception=make_exception(), kind="commented", at=T0)

    assert ExceptionEvent.objects.get().at == T0 == event.at
