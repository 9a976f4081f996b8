"""The exceptions queue: /exceptions/ — My queue, tabs and filters, sorting, keyset paging,
the capped count, badges, and a query count that does not grow with the rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions import views
from exceptions.models import ExceptionRecord
from exceptions.tables import ExceptionTable
from tests.exceptions.conftest import T0

pytestmark = pytest.mark.django_db

URL = reverse("exceptions:queue")


def keys(response: Any) -> list[str]:
    """The keys listed on the page, in order."""
    return [record.key for record in response.context["table"].records]


@pytest.fixture
def queue(make_exception: Callable[..., ExceptionRecord]) -> None:
    """Eight exceptions across statuses, owners, teams, rules and priorities."""
    make_exception(key="SO-1001", score=90, priority="P1", team="ecommerce")
    make_exception(key="SO-1002", score=70, priority="P2", status="acknowledged", team="ops")
    make_exception(
        key="SO-2001",
        score=80,
        priority="P2",
        status="snoozed",
        snoozed_until=T0 + timedelta(days=30),
    )
    make_exception(key="SO-2002", score=95, priority="P1", status="resolved")
    make_exception(
        rule="STOCK_DRIFT",
        key="MUG1",
        score=60,
        priority="P3",
        owner="warehouse",
        team="warehouse",
        roles=["store", "wms"],
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


def test_someone_without_a_role_is_refused(client: Client, make_user: Any, queue: None) -> None:
    client.force_login(make_user("loner"))
    assert client.get(URL).status_code == 403


def test_by_default_it_is_my_teams_queue(client: Client, finance_user: Any, queue: None) -> None:
    client.force_login(finance_user)

    response = client.get(URL)

    assert response.status_code == 200
    assert keys(response) == ["so-3001", "SO-3002"]
    tabs = {tab["label"]: tab["current"] for tab in response.context["tabs"]}
    assert tabs["My queue"] is True
    assert tabs["All"] is False


def test_an_assigned_team_moves_the_exception_to_that_queue(
    client: Client, finance_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    make_exception(key="SO-9", team="ecommerce", assigned_team="finance")
    make_exception(key="SO-8", team="finance", assigned_team="cx")
    client.force_login(finance_user)

    assert keys(client.get(URL)) == ["SO-9"]


def test_all_lists_open_acknowledged_and_ended_snoozes_by_score(
    signed_in: Client, queue: None, make_exception: Callable[..., ExceptionRecord]
) -> None:
    make_exception(
        key="SO-5000",
        score=50,
        status="snoozed",
        snoozed_until=timezone.now() - timedelta(minutes=1),
    )
    response = signed_in.get(f"{URL}?team=")

    # Ties on score keep the order they were made in (id).
    assert keys(response) == [
        "SO-1001",
        "SO-1002",
        "MUG1",
        "SO-5000",
        "so-3001",
        "SO-3002",
        "SO-4001",
    ]
    assert "Snooze ended" in response.content.decode()


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
        ("system=wms", ["MUG1"]),
        ("system=erp&priority=P4", ["so-3001", "SO-4001"]),
        ("q=SO-100", ["SO-1001", "SO-1002"]),
        ("q=so-3", ["so-3001", "SO-3002"]),  # typed in lower case, stored either way
        ("q=MUG", ["MUG1"]),
        ("q=1001", []),  # a prefix, not a substring
        ("team=finance&priority=P3", ["SO-3002"]),
        ("priority=P9", []),  # not a priority: nothing, rather than everything
        ("status=bogus", []),
        ("rule=NO_SUCH_RULE", []),
        ("assignee=nobody", []),
    ],
)
def test_filters_list_exactly_the_matching_rows(
    signed_in: Client, queue: None, query: str, expected: list[str]
) -> None:
    response = signed_in.get(f"{URL}?{query}" + ("" if "team=" in query else "&team="))

    assert response.status_code == 200
    assert keys(response) == expected


def test_an_invalid_filter_says_why(signed_in: Client, queue: None) -> None:
    response = signed_in.get(f"{URL}?priority=P9")

    assert "Select a valid choice" in response.content.decode()


def test_assignee_filters_me_unassigned_and_a_person(
    client: Client,
    cx_user: Any,
    ops_user: Any,
    make_exception: Callable[..., ExceptionRecord],
) -> None:
    make_exception(key="A1", assignee=cx_user, assigned_team="cx")
    make_exception(key="A2", assignee=ops_user, assigned_team="ops")
    make_exception(key="A3")
    client.force_login(cx_user)

    assert keys(client.get(f"{URL}?team=&assignee=me")) == ["A1"]
    assert keys(client.get(f"{URL}?team=&assignee=none")) == ["A3"]
    assert keys(client.get(f"{URL}?team=&assignee={ops_user.pk}")) == ["A2"]


def test_age_filters_and_the_sla_badge(
    signed_in: Client, make_exception: Callable[..., ExceptionRecord]
) -> None:
    now = timezone.now()
    make_exception(key="NEW-P1", priority="P1", first_seen=now - timedelta(hours=3))
    make_exception(key="OLD-P1", priority="P1", first_seen=now - timedelta(hours=5))
    make_exception(key="DAYS-P4", priority="P4", first_seen=now - timedelta(days=3))
    make_exception(key="WEEKS-P4", priority="P4", first_seen=now - timedelta(days=8))
    make_exception(key="DONE", priority="P1", first_seen=now - timedelta(days=9), status="resolved")

    assert keys(signed_in.get(f"{URL}?team=&age=1d")) == ["DAYS-P4", "WEEKS-P4"]
    assert keys(signed_in.get(f"{URL}?team=&age=7d")) == ["WEEKS-P4"]
    sla = signed_in.get(f"{URL}?team=&age=sla")
    assert keys(sla) == ["OLD-P1", "WEEKS-P4"]
    assert sla.content.decode().count('<span class="badge sla-breached">SLA breached</span>') == 2


def test_rows_show_the_columns(signed_in: Client, make_exception: Any, ops_user: Any) -> None:
    exc = make_exception(
        key="SO-7",
        summary="Order SO-7 & co is not in the ERP",
        first_seen=T0 - timedelta(days=3, hours=2),
        times_seen=12,
        priority="P1",
        team="ecommerce",
        assigned_team="cx",
        assignee=ops_user,
    )

    html = signed_in.get(f"{URL}?team=").content.decode()

    assert f'href="{exc.get_absolute_url()}">SO-7</a>' in html
    assert '<span class="badge priority-p1">P1</span>' in html
    assert '<span class="badge status-open">Open</span>' in html
    assert "Order SO-7 &amp; co is not in the ERP" in html
    assert "<td>Office</td>" in html
    assert "<td>CX</td>" in html  # the queue's team: the assigned one
    assert "<td>Otto</td>" in html
    assert "<td>ORDER_NOT_IN_ERP</td>" in html
    assert '<td class="number">12</td>' in html
    assert f'<input type="checkbox" name="ids" value="{exc.pk}" form="bulk"' in html
    assert '<tr class="row-p1">' in html
    headers = re.findall(r"<th [^>]*>\s*([^<]*?)\s*</th>", html)
    assert headers == [
        "Priority",
        "Rule",
        "Key",
        "Owner",
        "Team",
        "Assignee",
        "Summary",
        "Age",
        "Status",
        "Seen",
    ]


def test_age_is_humanised_from_first_seen(make_exception: Any) -> None:
    exc = make_exception(first_seen=T0 - timedelta(days=3, hours=2))
    table = ExceptionTable(list(ExceptionRecord.objects.all()), now=T0)

    html = render_to_string("exceptions/_queue_table.html", {"table": table})

    assert (
        f'<time datetime="{exc.first_seen.isoformat()}" title="first seen 2026-11-27 07:00">3\xa0days</time>'
        in html
    )


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("priority", ["SO-1001", "SO-1002", "MUG1", "SO-3002", "so-3001", "SO-4001"]),
        ("oldest", ["SO-4001", "SO-3002", "so-3001", "MUG1", "SO-1002", "SO-1001"]),
        ("newest", ["SO-1001", "SO-1002", "MUG1", "so-3001", "SO-3002", "SO-4001"]),
        ("bogus", ["SO-1001", "SO-1002", "MUG1", "SO-3002", "so-3001", "SO-4001"]),  # score
    ],
)
def test_it_sorts_when_asked(
    signed_in: Client,
    make_exception: Callable[..., ExceptionRecord],
    sort: str,
    expected: list[str],
) -> None:
    for n, (key, score, priority) in enumerate(
        [
            ("SO-4001", 10, "P4"),
            ("SO-3002", 40, "P3"),
            ("so-3001", 40, "P4"),
            ("MUG1", 60, "P3"),
            ("SO-1002", 70, "P2"),
            ("SO-1001", 90, "P1"),
        ]
    ):
        make_exception(
            key=key,
            score=score,
            priority=priority,
            first_seen=T0 + timedelta(hours=n),
            times_seen=n,
        )
    assert keys(signed_in.get(f"{URL}?team=&sort={sort}")) == expected


def test_it_pages_by_keyset_both_ways(signed_in: Client, make_exception: Any) -> None:
    for number in range(120):
        # Pairs of equal scores: the id breaks ties, across page edges too.
        make_exception(key=f"K{number:03d}", score=1000 - number // 2)
    expected = [f"K{number:03d}" for number in range(120)]

    first = signed_in.get(f"{URL}?team=")
    page = first.context["page"]
    second = signed_in.get(f"{URL}?team=&after={page.next_cursor}")
    third = signed_in.get(f"{URL}?team=&after={second.context['page'].next_cursor}")
    back = signed_in.get(f"{URL}?team=&before={third.context['page'].prev_cursor}")
    back_again = signed_in.get(f"{URL}?team=&before={back.context['page'].prev_cursor}")

    assert keys(first) == expected[:50]
    assert keys(second) == expected[50:100]
    assert keys(third) == expected[100:]
    assert third.context["page"].next_cursor is None
    assert keys(back) == expected[50:100]
    assert keys(back_again) == expected[:50]
    assert back_again.context["page"].first is True
    assert back_again.context["page"].prev_cursor is None
    html = first.content.decode()
    assert f'rel="next" href="?team=&amp;after={page.next_cursor}"' in html
    assert 'rel="prev"' not in html


def test_a_bad_page_link_shows_the_first_page_and_says_so(
    signed_in: Client, make_exception: Any
) -> None:
    make_exception(key="K1")

    response = signed_in.get(f"{URL}?team=&after=bm90LWEtY3Vyc29y")

    assert keys(response) == ["K1"]
    assert "That page link is not valid any more" in response.content.decode()


def test_the_count_is_capped(
    signed_in: Client, make_exception: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(7):
        make_exception(key=f"K{number}")
    assert "7 exceptions match" in signed_in.get(f"{URL}?team=").content.decode()

    monkeypatch.setattr(views, "COUNT_CAP", 5)
    response = signed_in.get(f"{URL}?team=")
    assert (response.context["matching"], response.context["capped"]) == (5, True)
    assert "More than 5 exceptions match" in response.content.decode()


@pytest.mark.parametrize(("role", "queries"), [("cx", 8), ("ops", 9)])
def test_the_query_count_does_not_grow_with_rows(
    client: Client,
    cx_user: Any,
    ops_user: Any,
    make_exception: Any,
    django_assert_num_queries: Any,
    role: str,
    queries: int,
) -> None:
    for number in range(60):
        make_exception(key=f"K{number:03d}")
    client.force_login({"cx": cx_user, "ops": ops_user}[role])

    # session, user, the user's permissions (user, groups), their groups, the assignee choices,
    # one page of rows (+1), the capped count; for ops, the people to assign to.
    with django_assert_num_queries(queries):
        response = client.get(f"{URL}?team=ecommerce&q=K")
    assert len(keys(response)) == 50

    with django_assert_num_queries(queries):
        client.get(f"{URL}?team=ecommerce&q=K&after={response.context['page'].next_cursor}")


def test_the_bulk_form_does_not_make_the_browser_demand_every_option(
    client: Client, ops_user: Any, make_exception: Any
) -> None:
    # One form carries every action's options: a required snooze date would stop the browser
    # submitting "acknowledge" at all. The server checks what the chosen action needs.
    make_exception(team="ops")
    client.force_login(ops_user)

    html = client.get(URL).content.decode()

    bulk = html[
        html.index('<form id="bulk"') : html.index("</form>", html.index('<form id="bulk"'))
    ]
    assert 'id="bulk_until"' in bulk
    assert "required" not in bulk
