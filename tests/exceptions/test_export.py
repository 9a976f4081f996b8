"""CSV export: streamed, exactly the filtered rows in the queue's order, formulas neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions import export
from exceptions.models import ExceptionRecord

pytestmark = pytest.mark.django_db

URL = reverse("exceptions:export")


def read(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def signed_in(client: Client, ops_user: Any) -> Client:
    client.force_login(ops_user)
    return client


def test_it_streams_exactly_the_filtered_rows_in_queue_order(
    signed_in: Client, make_exception: Callable[..., ExceptionRecord], ops_user: Any
) -> None:
    make_exception(key="W1", owner="warehouse", team="warehouse", score=10)
    make_exception(key="W2", owner="warehouse", team="warehouse", score=90, assignee=ops_user)
    make_exception(key="W3", owner="warehouse", team="warehouse", status="resolved")
    make_exception(key="O1", owner="office", score=99)

    response = signed_in.get(f"{URL}?team=&owner=warehouse")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="exceptions-')
    rows = read(response)
    assert [(row["key"], row["assignee"], row["status"]) for row in rows] == [
        ("W2", "otto", "open"),
        ("W1", "", "open"),
    ]
    assert list(rows[0]) == list(export.HEADER)


def test_the_default_is_my_queue_like_the_page(
    signed_in: Client, make_exception: Callable[..., ExceptionRecord]
) -> None:
    make_exception(key="OPS", team="ops")
    make_exception(key="CX", team="cx")
    assert [row["key"] for row in read(signed_in.get(URL))] == ["OPS"]


def test_it_exports_every_row_in_several_pieces(
    signed_in: Client,
    make_exception: Callable[..., ExceptionRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export, "CHUNK", 7)  # several fetches from the cursor (Python path)
    monkeypatch.setattr(export, "BATCH", 5)  # several pieces of the body (Python path)
    monkeypatch.setattr(export, "PIECE_BYTES", 500)  # several pieces of the body (COPY path)
    for n in range(60):
        make_exception(key=f"K{n:02d}", score=100 - n)

    response = signed_in.get(f"{URL}?team=&sort=score")
    pieces = list(response.streaming_content)

    assert len(pieces) > 6
    rows = list(csv.DictReader(io.StringIO(b"".join(pieces).decode())))
    assert [row["key"] for row in rows] == [f"K{n:02d}" for n in range(60)]


def test_both_implementations_write_the_same_text(
    make_exception: Callable[..., ExceptionRecord], ops_user: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the COPY implementation needs PostgreSQL")
    now = timezone.now()
    make_exception(key="=1+1", summary="", score=57.25, assignee=ops_user, first_seen=now)
    make_exception(key="K2", summary='fine, "quoted"\r\nline 2', score=100.0, resolution="-1")
    make_exception(
        key="K3", status="snoozed", snoozed_until=now + timedelta(days=1), first_seen=now
    )
    records = ExceptionRecord.objects.all()
    ordering = ("-score", "id")

    def text(pieces: Any) -> str:
        return "".join(p.decode() if isinstance(p, bytes) else p for p in pieces)

    copied = text(export.csv_rows(records, ordering, now=now))
    writer = export.csv_writer()
    python = writer.writerow(export.HEADER) + text(
        export._python_rows(records, ordering, now, writer)
    )
    assert copied == python
    assert len(list(csv.reader(io.StringIO(copied)))) == 4


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("plain = fine", "plain = fine"),
    ],
)
def test_formula_cells_are_neutralised(
    signed_in: Client, make_exception: Callable[..., ExceptionRecord], text: str, cell: str
) -> None:
    make_exception(key=text, summary=text, team="ops")

    row = read(signed_in.get(f"{URL}?team="))[0]

    assert (row["key"], row["summary"]) == (cell, cell)


def test_sla_breached_and_times_are_in_the_row(
    signed_in: Client, make_exception: Callable[..., ExceptionRecord]
) -> None:
    now = timezone.now()
    make_exception(key="LATE", priority="P1", first_seen=now - timedelta(hours=5), team="ops")
    make_exception(key="FRESH", priority="P1", first_seen=now - timedelta(hours=1), team="ops")

    rows = {row["key"]: row for row in read(signed_in.get(URL))}

    assert (rows["LATE"]["sla_breached"], rows["FRESH"]["sla_breached"]) == ("yes", "no")
    assert rows["LATE"]["first_seen"] == timezone.localtime(
        ExceptionRecord.objects.get(key="LATE").first_seen
    ).isoformat(timespec="seconds")


def test_an_invalid_filter_exports_nothing(
    signed_in: Client, make_exception: Callable[..., ExceptionRecord]
) -> None:
    make_exception(team="ops")
    assert read(signed_in.get(f"{URL}?priority=P9")) == []


def test_it_runs_a_fixed_number_of_queries(
    signed_in: Client,
    make_exception: Callable[..., ExceptionRecord],
    django_assert_num_queries: Any,
) -> None:
    for n in range(30):
        make_exception(key=f"K{n}", team="ops")
    # session, user, permissions (user, groups), groups, then the rows: a COPY on PostgreSQL,
    # which Django does not count, or one server-side cursor elsewhere.
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 6):
        rows = read(signed_in.get(URL))
    assert len(rows) == 30
