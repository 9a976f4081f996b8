"""Customers' personal data in exports: CX, Ops and Admin see it as stored; Finance and Warehouse
get it masked (integration/privacy.py, docs/personal-data.md) in the queue CSV and the JSON API."""

from __future__ import annotations

import csv
import io
import json
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exceptions.export import HEADER, _python_rows, csv_rows, csv_writer
from exceptions.models import ExceptionEvent, ExceptionRecord
from integration import privacy
from tests.hostile.world import Text, reconcile_hostile

pytestmark = pytest.mark.django_db

SUMMARY = "Order W8 cannot be shipped: postcode 'NOT A POSTCODE' is not a valid UK postcode"
MASKED_SUMMARY = "Order W8 cannot be shipped: postcode '***' is not a valid UK postcode"
ADDRESS = {
    "email": "jane.smith@example.com",
    "ship_city": "London",
    "ship_name": "Jane Smith",
    "ship_line1": "1 High Street",
    "ship_line2": None,
    "ship_phone": "07700 900123",
    "ship_country": "GB",
    "ship_postcode": "NOT A POSTCODE",
}
MASKED_ADDRESS = {
    "email": "***@example.com",
    "ship_city": "***",
    "ship_name": "J*** S****",
    "ship_line1": "***",
    "ship_line2": None,
    "ship_phone": "***123",
    "ship_country": "GB",
    "ship_postcode": "NOT ***",
}
SEES = ("cx_user", "ops_user", "admin_user")
MASKED = ("finance_user", "warehouse_user")


@pytest.fixture
def address_invalid(tmp_path: Path) -> ExceptionRecord:
    reconcile_hostile(tmp_path, Text())
    return ExceptionRecord.objects.get(rule="ADDRESS_INVALID", key="W8")


def user(request: pytest.FixtureRequest, role: str) -> Any:
    return request.getfixturevalue(role)


def exported_summaries(client: Client) -> dict[tuple[str, str], str]:
    response = client.get("/exceptions/export.csv?team=")
    assert response.status_code == 200
    body = b"".join(
        piece if isinstance(piece, bytes) else piece.encode()
        for piece in response.streaming_content
    ).decode()
    return {(row["rule"], row["key"]): row["summary"] for row in csv.DictReader(io.StringIO(body))}


def api(person: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=person)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.parametrize(
    ("role", "summary"),
    [*((role, SUMMARY) for role in SEES), *((role, MASKED_SUMMARY) for role in MASKED)],
)
def test_the_queue_export_masks_the_postcode_for_roles_that_do_not_need_it(
    address_invalid: ExceptionRecord, request: pytest.FixtureRequest, role: str, summary: str
) -> None:
    client = Client()
    client.force_login(user(request, role))

    summaries = exported_summaries(client)

    assert summaries[("ADDRESS_INVALID", "W8")] == summary
    # Summaries without personal data are untouched.
    assert summaries[("ORDER_HELD", "W8")] == "Order W8 is held in Whistl: Address check"


@pytest.mark.parametrize("personal", [True, False])
def test_both_export_paths_write_the_same_masked_csv(
    address_invalid: ExceptionRecord, personal: bool
) -> None:
    """PostgreSQL's COPY and the Python writer (SQLite) must mask alike."""
    now = timezone.now()
    records = ExceptionRecord.objects.all()
    ordering = ("-score", "id")
    copied = b"".join(
        p if isinstance(p, bytes) else p.encode()
        for p in csv_rows(records, ordering, now=now, personal=personal)
    ).decode()
    python = csv_writer().writerow(HEADER) + "".join(
        _python_rows(records, ordering, now, csv_writer(), personal)
    )

    assert copied == python
    assert (MASKED_SUMMARY in copied) is not personal
    assert (SUMMARY in copied) is personal


@pytest.mark.parametrize(
    ("role", "summary", "address"),
    [
        *((role, SUMMARY, ADDRESS) for role in SEES),
        *((role, MASKED_SUMMARY, MASKED_ADDRESS) for role in MASKED),
    ],
)
def test_the_api_masks_details_and_summary(
    address_invalid: ExceptionRecord,
    request: pytest.FixtureRequest,
    role: str,
    summary: str,
    address: dict[str, Any],
) -> None:
    client = api(user(request, role))

    one = client.get(f"/api/v1/exceptions/{address_invalid.pk}/").json()
    listed = client.get("/api/v1/exceptions/?rule=ADDRESS_INVALID").json()["results"]

    assert one["summary"] == summary
    assert one["details"]["address"] == address
    # The problem quotes the postcode only for those who may see it; the order ref stays.
    assert one["details"]["problems"] == [
        {
            "field": "ship_postcode",
            "problem": "invalid",
            "message": summary.removeprefix("Order W8 cannot be shipped: "),
        }
    ]
    assert one["details"]["order_ref"] == "E-W8"
    assert [row["summary"] for row in listed] == [summary]


@pytest.mark.parametrize(
    ("role", "before", "after"),
    [
        ("cx_user", {"ship_name": "Jane Smith"}, {"ship_name": "Jane Smyth"}),
        ("finance_user", {"ship_name": "J*** S****"}, {"ship_name": "J*** S****"}),
        ("warehouse_user", {"ship_name": "J*** S****"}, {"ship_name": "J*** S****"}),
    ],
)
def test_a_held_orders_correction_in_the_api_timeline_is_masked(
    address_invalid: ExceptionRecord,
    request: pytest.FixtureRequest,
    role: str,
    before: dict[str, str],
    after: dict[str, str],
) -> None:
    # As integration/releases.py records a correction: the changed fields before and after.
    ExceptionEvent.objects.create(
        exception=address_invalid,
        kind="commented",
        from_value=json.dumps({"ship_name": "Jane Smith"}),
        to_value=json.dumps({"ship_name": "Jane Smyth"}),
        note="Corrected and released to Whistl",
    )
    ExceptionEvent.objects.create(exception=address_invalid, kind="commented", note="called her")

    events = api(user(request, role)).get(f"/api/v1/exceptions/{address_invalid.pk}/").json()
    commented = [e for e in events["events"] if e["kind"] == "commented"]

    assert [(json.loads(e["from_value"]), json.loads(e["to_value"])) for e in commented[:1]] == [
        (before, after)
    ]
    assert (commented[1]["from_value"], commented[1]["note"]) == ("", "called her")


def test_who_sees_personal_data(request: pytest.FixtureRequest, make_user: Any) -> None:
    for role in SEES:
        assert privacy.can_see_personal(user(request, role)), role
    for role in MASKED:
        assert not privacy.can_see_personal(user(request, role)), role
    assert not privacy.can_see_personal(make_user("nobody"))
    assert privacy.can_see_personal(make_user("root", is_superuser=True))


@pytest.mark.parametrize(
    ("field", "value", "masked"),
    [
        ("ship_name", "Jane Smith", "J*** S****"),
        ("ship_name", "  Ó  Brien ", "Ó B****"),
        ("email", "jane.smith@example.com", "***@example.com"),
        ("email", "no-at-sign", "***"),
        ("ship_phone", "+44 7700 900123", "***123"),
        ("ship_phone", "12", "***"),
        ("ship_postcode", "SW1A 1AA", "SW1A ***"),
        ("ship_postcode", "SW1A1AA", "***"),
        ("ship_line1", "1 High Street", "***"),
        ("ship_line2", "Flat 2", "***"),
        ("ship_city", "London", "***"),
        ("ship_country", "GB", "GB"),
        ("ship_name", "", ""),
        ("ship_name", None, None),
        ("order_ref", "W1", "W1"),
    ],
)
def test_mask_field(field: str, value: Any, masked: Any) -> None:
    assert privacy.mask_field(field, value) == masked


def test_mask_summary_leaves_other_text_alone() -> None:
    assert privacy.mask_summary("Order W1 is held in Whistl: postcode") == (
        "Order W1 is held in Whistl: postcode"
    )
    assert privacy.mask_summary(
        "Order W1 cannot be shipped: city is missing; postcode 'X\n1' is not a valid UK postcode"
    ) == ("Order W1 cannot be shipped: city is missing; postcode '***' is not a valid UK postcode")


# --- pages: the same people see the same masking on screen -------------------------------------

PERSONAL_TEXT = (
    "NOT A POSTCODE",
    "Jane Smith",
    "jane.smith@example.com",
    "07700 900123",
    "1 High Street",
    "London",
)


@pytest.mark.parametrize("role", [*SEES, *MASKED])
def test_the_detail_page_evidence_and_held_orders_mask_alike(
    address_invalid: ExceptionRecord, request: pytest.FixtureRequest, role: str
) -> None:
    ExceptionEvent.objects.create(
        exception=address_invalid,
        kind="commented",
        from_value=json.dumps({"ship_phone": "07700 900123"}),
        to_value=json.dumps({"ship_phone": "07700 900999"}),
    )
    client = Client()
    client.force_login(user(request, role))
    pages = {
        "detail": client.get(f"/exceptions/{address_invalid.pk}/"),
        "held list": client.get("/held/"),
        "held order": client.get("/held/order/W8"),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        html = unescape(response.content.decode())
        if role in SEES:
            assert "Jane Smith" in html, name
        else:
            assert [t for t in PERSONAL_TEXT if t in html] == [], name
            assert "J*** S****" in html, name
    detail = unescape(pages["detail"].content.decode())
    assert (MASKED_SUMMARY in detail) is (role in MASKED)
    assert ("***@example.com" in detail) is (role in MASKED)
    assert ("***999" in detail) is (role in MASKED)
    # What stops the order is the same finding for everyone.
    held = unescape(pages["held order"].content.decode())
    assert "is not a valid UK postcode" in held
