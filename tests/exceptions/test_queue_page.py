"""The exceptions queue: /exceptions/ — filters, default view, paging, query count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exceptions.models import ExceptionRecord
from exceptions.tables import ExceptionTable
from tests.exceptions.conftest import T0

pytestmark = pytest.mark.django_db

URL = reverse("exceptions:queue")


def keys(response: Any) -> list[str]:
    """The keys listed on the page, in order."""
    return [row.record.key for row in response.context["table"].page.object_list]


@pytest.fixture
def queue(make_exception: Callable[..., ExceptionRecord]) -> None:
    """Eight exceptions across statuses, owners, teams, rules and priorities."""
    make_exception(key="SO-1001", score=90, priority="P1", team="ecommerce")
    make_exception(key="SO-1002", score=70, priority="P2", status="acknowledged", team="ops")
    make_exception(key="SO-2001", score=80, priority="P2", status="snoozed")
    make_exception(key="SO-2002", score=95, priority="P1", status="resolved")
    make_exception(
        rule="STOCK_DRIFT", key="MUG1", score=60, priority="P3", owner="warehouse", team="warehouse"
    )
    make_exception(rule="TAX_MISMATCH", key="so-3001", score=40, priority="P4", team="finance")
    make_exception(rule="TAX_MISMATCH", key="SO-3002", score=40, priority="P3", team="finance")
    make_exception(rule="ADDRESS_INVALID", key="SO-4001", score=10, priority="P4", team="cx")


@pytest.fixture
def signed_in(client: Client, cx_user: Any) -> Client:
    client.force_login(cx_user)
    return client


def test_it_requires_login(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={URL}"


def test_by_default_it_lists_open_and_acknowledged_by_score(signed_in: Client, queue: None) -> None:
    response = signed_in.get(URL)

    assert response.status_code == 200
    # Ties on score keep the order they were made in (id).
    assert keys(response) == ["SO-1001", "SO-1002", "MUG1", "so-3001", "SO-3002", "SO-4001"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=resolved", ["SO-2002"]),
        ("status=snoozed&status=resolved", ["SO-2002", "SO-2001"]),
        ("owner=warehouse", ["MUG1"]),
        ("team=finance", ["so-3001", "SO-3002"]),
        ("rule=tax_mismatch", ["so-3001", "SO-3002"]),
        ("priority=P1", ["SO-1001"]),
        ("priority=P1&status=open&status=resolved", ["SO-2002", "SO-1001"]),
        ("q=SO-100", ["SO-1001", "SO-1002"]),
        ("q=so-3", ["so-3001", "SO-3002"]),  # typed in lower case, stored either way
        ("q=MUG", ["MUG1"]),
        ("q=1001", []),  # a prefix, not a substring
        ("team=finance&priority=P3", ["SO-3002"]),
        ("priority=P9", []),  # not a priority: nothing, rather than everything
        ("status=bogus", []),
    ],
)
def test_filters_list_exactly_the_matching_rows(
    signed_in: Client, queue: None, query: str, expected: list[str]
) -> None:
    response = signed_in.get(f"{URL}?{query}")

    assert response.status_code == 200
    assert keys(response) == expected


def test_an_invalid_filter_says_why(signed_in: Client, queue: None) -> None:
    response = signed_in.get(f"{URL}?priority=P9")

    assert "Select a valid choice" in response.content.decode()


def test_rows_show_the_columns(signed_in: Client, make_exception: Any) -> None:
    exc = make_exception(
        key="SO-7",
        summary="Order SO-7 & co is not in the ERP",
        first_seen=T0 - timedelta(days=3, hours=2),
        times_seen=12,
        priority="P1",
    )

    html = signed_in.get(URL).content.decode()

    assert f'href="{exc.get_absolute_url()}">SO-7</a>' in html
    assert '<span class="badge priority-p1">P1</span>' in html
    assert '<span class="badge status-open">Open</span>' in html
    assert "Order SO-7 &amp; co is not in the ERP" in html
    assert "<td >Office</td>" in html
    assert "<td >E-commerce</td>" in html
    assert "<td >ORDER_NOT_IN_ERP</td>" in html
    assert '<td class="number">12</td>' in html


def test_age_is_humanised_from_first_seen(make_exception: Any) -> None:
    exc = make_exception(first_seen=T0 - timedelta(days=3, hours=2))
    table = ExceptionTable(ExceptionRecord.objects.all(), now=T0)

    assert ">3\xa0days</time>" in table.rows[0].get_cell("age")
    assert exc.first_seen.isoformat() in table.rows[0].get_cell("age")


def test_it_sorts_by_a_column_when_asked(signed_in: Client, queue: None) -> None:
    response = signed_in.get(f"{URL}?sort=priority")

    assert keys(response) == ["SO-1001", "SO-1002", "MUG1", "SO-3002", "so-3001", "SO-4001"]


def test_it_pages_without_counting(signed_in: Client, make_exception: Any) -> None:
    for number in range(51):
        make_exception(key=f"K{number:03d}", score=1000 - number)

    first = signed_in.get(URL)
    second = signed_in.get(f"{URL}?page=2")

    assert keys(first) == [f"K{number:03d}" for number in range(50)]
    assert keys(second) == ["K050"]
    assert 'rel="next" href="?page=2"' in first.content.decode()
    assert 'rel="prev"' in second.content.decode()


def test_the_query_count_does_not_grow_with_rows(
    signed_in: Client, make_exception: Any, django_assert_num_queries: Any
) -> None:
    for number in range(60):
        make_exception(key=f"K{number:03d}")

    # session, user, one page of rows (LazyPaginator: no COUNT(*)).
    with django_assert_num_queries(3):
        response = signed_in.get(f"{URL}?team=ecommerce&q=K")

    assert len(keys(response)) == 50
