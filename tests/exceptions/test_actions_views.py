"""One exception's actions through the detail page's forms: what the person is told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions.models import ExceptionEvent, ExceptionRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def exception(make_exception: Callable[..., ExceptionRecord]) -> ExceptionRecord:
    return make_exception(rule="ORDER_NOT_IN_ERP", key="SO-1")


def post(client: Client, exception: ExceptionRecord, action: str, **data: Any) -> str:
    response = client.post(
        reverse("exceptions:act", args=[exception.pk, action]), data, follow=True
    )
    assert response.redirect_chain == [(exception.get_absolute_url(), 302)]
    return " ".join(str(m) for m in response.context["messages"])


def test_done_then_already_done(client: Client, cx_user: Any, exception: ExceptionRecord) -> None:
    client.force_login(cx_user)

    assert post(client, exception, "acknowledge") == "You acknowledged ORDER_NOT_IN_ERP SO-1."
    assert post(client, exception, "acknowledge") == (
        "ORDER_NOT_IN_ERP SO-1 was already acknowledged: nothing changed."
    )
    assert ExceptionEvent.objects.filter(kind="acknowledged").count() == 1


def test_a_double_submitted_comment_is_added_once(
    client: Client, cx_user: Any, exception: ExceptionRecord
) -> None:
    client.force_login(cx_user)

    assert post(client, exception, "comment", text="Chased") == (
        "Your comment on ORDER_NOT_IN_ERP SO-1 was added."
    )
    assert post(client, exception, "comment", text="Chased") == (
        "That comment is already on ORDER_NOT_IN_ERP SO-1: nothing added."
    )
    assert list(ExceptionEvent.objects.values_list("kind", "note")) == [("commented", "Chased")]


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("comment", {"text": ""}, "ORDER_NOT_IN_ERP SO-1: Comment: This field is required."),
        ("resolve", {"reason": "other"}, "Say why in the note when the reason is “Other”."),
        ("resolve", {"reason": "nope"}, "Select a valid choice. nope is not one of"),
        (
            "snooze",
            {"until": "2001-01-01"},
            "ORDER_NOT_IN_ERP SO-1: Snooze until: Choose a date after today.",
        ),
        ("snooze", {"until": "someday"}, "Enter a valid date."),
        ("assign", {"team": "mars"}, "Select a valid choice. mars is not one of"),
        ("assign", {"team": "", "person": "1"}, "Choose the team as well as the person."),
    ],
)
def test_bad_input_says_why_names_the_record_and_changes_nothing(
    client: Client,
    ops_user: Any,
    exception: ExceptionRecord,
    action: str,
    data: dict[str, str],
    message: str,
) -> None:
    client.force_login(ops_user)
    data = {**data, **({"person": str(ops_user.pk)} if "person" in data else {})}

    text = post(client, exception, action, **data)

    assert message in text
    assert text.startswith("ORDER_NOT_IN_ERP SO-1")
    assert text.endswith("Nothing was changed.")
    assert not ExceptionEvent.objects.exists()
    assert ExceptionRecord.objects.get().status == "open"


def test_an_action_that_does_not_apply_says_why(
    client: Client, cx_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    closed = make_exception(key="SO-9", status="resolved")
    client.force_login(cx_user)
    until = (timezone.localdate() + timedelta(days=2)).isoformat()

    assert post(client, closed, "snooze", until=until) == (
        "ORDER_NOT_IN_ERP SO-9 is resolved: reopen it before you snooze it. Nothing was changed."
    )


def test_snooze_then_end_it(client: Client, cx_user: Any, exception: ExceptionRecord) -> None:
    client.force_login(cx_user)
    until = timezone.localdate() + timedelta(days=2)

    assert post(client, exception, "snooze", until=until.isoformat()) == (
        "You snoozed ORDER_NOT_IN_ERP SO-1."
    )
    exception.refresh_from_db()
    assert timezone.localtime(exception.snoozed_until).date() == until
    assert timezone.localtime(exception.snoozed_until).time().isoformat() == "00:00:00"
    assert post(client, exception, "unsnooze") == "You ended the snooze of ORDER_NOT_IN_ERP SO-1."
    assert post(client, exception, "unsnooze") == (
        "ORDER_NOT_IN_ERP SO-1 is not snoozed: nothing changed."
    )


def test_resolve_then_reopen_from_the_page(
    client: Client, cx_user: Any, exception: ExceptionRecord
) -> None:
    client.force_login(cx_user)

    assert post(client, exception, "resolve", reason="not_an_issue", note="test order") == (
        "You closed ORDER_NOT_IN_ERP SO-1."
    )
    exception.refresh_from_db()
    assert (exception.status, exception.resolution) == ("dismissed", "Not an issue: test order")
    assert post(client, exception, "reopen", note="") == "You reopened ORDER_NOT_IN_ERP SO-1."
    assert post(client, exception, "reopen", note="") == (
        "ORDER_NOT_IN_ERP SO-1 is not closed: nothing changed."
    )
