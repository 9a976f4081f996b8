"""Oversized input is refused with a message and nothing saved: an uploaded file over
PARITY_MAX_UPLOAD_BYTES by name, a request body over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413 page,
too many fields with a 400 page (integration/uploads.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from exceptions.models import ExceptionEvent, ExceptionRecord
from integration.models import MappingChange, SkuAlias
from integration.uploads import size_text

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ALIASES = b"role,sku,canonical_sku\nwms,WMUG1,MUG1\n"


def signed_in(person: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(person)
    return client


def import_aliases(client: Client, name: str, data: bytes) -> Any:
    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post("/mappings/csv/sku_aliases/import/", {"file": upload})


def said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def record(db: None) -> ExceptionRecord:
    return ExceptionRecord.objects.create(
        rule="ORDER_NOT_IN_ERP",
        key="W1",
        owner="office",
        team="ecommerce",
        priority="P2",
        score=50.0,
        summary="Order W1 is not in the ERP",
        details={},
        roles=["store", "erp"],
        first_seen=T0,
        last_seen=T0,
    )


def test_a_file_over_the_default_limit_is_refused_by_name(ops_user: Any) -> None:
    # The default limit (5 MB); the file is a valid alias map padded with rows to 6 MB.
    rows = b"wms,W%07d,MUG1\n"
    data = ALIASES + b"".join(rows % n for n in range(6 * 1024 * 1024 // 15 + 1))
    data = data[: 6 * 1024 * 1024]

    response = import_aliases(signed_in(ops_user), "aliases-from-erp.csv", data)

    assert response.status_code == 302
    assert response["Location"] == "/mappings/sku-aliases/"
    assert said(response) == [
        "Import of sku_aliases.csv refused, nothing saved: aliases-from-erp.csv is 6 MB, "
        "over the 5 MB limit for an uploaded file."
    ]
    assert SkuAlias.objects.count() == 0
    assert MappingChange.objects.count() == 0


def test_the_limit_is_a_setting_and_a_file_at_it_is_taken(ops_user: Any, settings: Any) -> None:
    settings.PARITY_MAX_UPLOAD_BYTES = len(ALIASES)
    client = signed_in(ops_user)

    over = import_aliases(client, "big.csv", ALIASES + b"wms,WCAP1,CAP1\n")
    assert said(over) == [
        "Import of sku_aliases.csv refused, nothing saved: big.csv is 53 bytes, "
        "over the 38 bytes limit for an uploaded file."
    ]
    assert SkuAlias.objects.count() == 0

    at = import_aliases(signed_in(ops_user), "aliases.csv", ALIASES)
    assert said(at)[0].startswith("Imported aliases.csv: 1 added")
    assert list(SkuAlias.objects.values_list("role", "sku", "canonical_sku")) == [
        ("wms", "WMUG1", "MUG1")
    ]


@pytest.mark.parametrize("enforce_csrf", [False, True])
def test_a_body_over_the_memory_limit_gets_a_413_page_and_changes_nothing(
    ops_user: Any, record: ExceptionRecord, enforce_csrf: bool
) -> None:
    """11 MB of comment against Django's 10 MB: refused while the body is read (by the CSRF
    middleware when it checks, else by the view), before anything runs."""
    client = signed_in(ops_user, enforce_csrf_checks=enforce_csrf)
    data = {"text": "x" * (11 * 1024 * 1024)}
    if enforce_csrf:  # a real browser's cookie and token, so the refusal is the size's
        assert client.get(f"/exceptions/{record.pk}/").status_code == 200
        data["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value

    response = client.post(f"/exceptions/{record.pk}/comment/", data)

    assert response.status_code == 413
    text = unescape(response.content.decode())
    assert "<h1>Request refused (413)</h1>" in text
    assert "What was sent is larger than the 10 MB a form may send. Nothing was saved." in text
    assert ExceptionEvent.objects.filter(exception=record).count() == 0


def test_a_multipart_body_with_oversized_fields_gets_the_413_page(
    ops_user: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    upload = SimpleUploadedFile("aliases.csv", ALIASES, content_type="text/csv")

    response = signed_in(ops_user).post(
        "/mappings/csv/sku_aliases/import/", {"file": upload, "note": "y" * 2048}
    )

    assert response.status_code == 413
    assert "larger than the 1 KB a form may send" in response.content.decode()
    assert SkuAlias.objects.count() == 0


def test_too_many_fields_get_a_400_page(
    ops_user: Any, record: ExceptionRecord, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"f{n}": "1" for n in range(20)}

    response = signed_in(ops_user).post(f"/exceptions/{record.pk}/comment/", fields)

    assert response.status_code == 400
    assert "The form sent more than 10 fields. Nothing was saved." in response.content.decode()
    assert ExceptionEvent.objects.filter(exception=record).count() == 0


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (5 * 1024 * 1024, "5 MB"),
        (6_500_000, "6.2 MB"),
    ],
)
def test_size_text(size: int, text: str) -> None:
    assert size_text(size) == text
