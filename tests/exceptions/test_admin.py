"""The admin shows exceptions and their events but changes neither (no trace would be left)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exceptions.models import ExceptionEvent, ExceptionRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def exception(make_exception: Any) -> ExceptionRecord:
    exc = make_exception(key="W1")
    ExceptionEvent.objects.create(exception=exc, kind="detected", to_value="open")
    return exc


def test_it_lists_and_shows_exceptions(
    client: Client, admin_user: Any, exception: ExceptionRecord
) -> None:
    client.force_login(admin_user)

    listing = client.get(reverse("admin:exceptions_exceptionrecord_changelist") + "?q=W1")
    page = client.get(reverse("admin:exceptions_exceptionrecord_change", args=[exception.pk]))
    events = client.get(reverse("admin:exceptions_exceptionevent_changelist"))

    assert (listing.status_code, page.status_code, events.status_code) == (200, 200, 200)
    assert list(listing.context["cl"].result_list) == [exception]


def test_it_refuses_to_change_or_delete_an_exception(
    client: Client, admin_user: Any, exception: ExceptionRecord
) -> None:
    client.force_login(admin_user)
    before = list(ExceptionRecord.objects.values()), list(ExceptionEvent.objects.values())

    change = client.post(
        reverse("admin:exceptions_exceptionrecord_change", args=[exception.pk]),
        {"status": "resolved", "summary": "edited"},
    )
    delete = client.post(
        reverse("admin:exceptions_exceptionrecord_delete", args=[exception.pk]), {"post": "yes"}
    )

    assert (change.status_code, delete.status_code) == (403, 403)
    assert (list(ExceptionRecord.objects.values()), list(ExceptionEvent.objects.values())) == before
