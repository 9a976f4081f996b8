"""The home dashboard: health per flow, unresolved exceptions, SLA breaches, charts from history."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integration.models import SettingsProfile
from reconciliation import charts
from reconciliation.dashboard import Point, history, overview, parse_range
from reconciliation.models import ReconciliationRun, RunMetrics, Snapshot
from reconciliation.runs import reconcile_path
from tests.reconciliation.month_end_bundle import write_world

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 31 min after the world's as_of


def reconciled(
    tmp_path: Path, as_of: str = "2026-11-30T23:59:00Z", **kwargs: str
) -> ReconciliationRun:
    run, _ = reconcile_path(write_world(tmp_path / as_of.replace(":", ""), as_of, **kwargs))
    assert run is not None
    return run


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_is_the_home_page_for_every_role(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    reconciled(tmp_path)
    for role in ("finance_user", "cx_user", "ops_user", "warehouse_user", "admin_user"):
        response = client_for(request.getfixturevalue(role)).get("/")
        assert response.status_code == 200, role
        assert "<h1>Overview</h1>" in response.text


def test_signing_in_is_required() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_with_no_runs_it_says_so(ops_user: Any) -> None:
    html = client_for(ops_user).get("/").text
    assert "No reconciliation run has completed yet." in html
    assert "No run history in the last 90 days" in html
    assert "plotly.min.js" not in html
    # No snapshot at all is as loud as an old one.
    assert "Store: no snapshot yet." in unescape(html)


def test_flows_systems_and_counts(tmp_path: Path) -> None:
    run = reconciled(tmp_path)

    view = overview(NOW)

    assert view.latest is not None
    assert view.latest.run_id == run.pk
    assert [(s.role, s.system, s.age, s.stale) for s in view.systems] == [
        ("store", "WooCommerce", timedelta(minutes=31), False),
        ("erp", "Prima", timedelta(minutes=31), False),
        ("wms", "Whistl", timedelta(minutes=31), False),
    ]
    flows = {f.flow.key: f for f in view.flows}
    assert {key: (f.unresolved, f.p1, f.state) for key, f in flows.items()} == {
        "store_to_erp": (3, 0, "open"),
        "erp_to_wms": (1, 0, "open"),
        "dispatch_back": (2, 0, "open"),
        "stock": (3, 0, "open"),
    }
    assert [(r.rule, r.count) for r in flows["stock"].rules] == [
        ("STOCK_DRIFT", 2),
        ("ADJUSTMENT_NOT_POSTED", 1),
    ]
    assert flows["stock"].rules[0].url == (
        "/exceptions/?status=open&status=acknowledged&status=snoozed&rule=STOCK_DRIFT"
    )
    grid = {row.priority: [count for count, _ in row.cells] for row in view.grid}
    assert grid == {"P1": [0, 0], "P2": [2, 4], "P3": [0, 2], "P4": [0, 1]}  # warehouse, office


def test_a_stale_system_is_shown_loudly(tmp_path: Path, ops_user: Any) -> None:
    reconciled(tmp_path)
    Snapshot.objects.filter(role="wms").update(taken_at=timezone.now() - timedelta(hours=7))
    SettingsProfile.objects.update_or_create(
        pk=1, defaults={"values": {"stale_after_minutes": 360}}
    )

    html = unescape(client_for(ops_user).get("/").text)

    banner = re.search(r'<div class="stale-banner" role="alert">(.*?)</div>', html, re.S)
    assert banner is not None
    text = " ".join(banner[1].split())
    assert "Warehouse (Whistl): last snapshot 7 hours" in text
    assert "a snapshot is stale after 6 h" in text
    assert "Store" not in text
    assert 'class="system is-stale" data-role="wms"' in html
    assert 'class="flow state-stale" data-flow="erp_to_wms"' in html


def test_sla_breaches_link_to_the_queue(tmp_path: Path, warehouse_user: Any) -> None:
    reconciled(tmp_path)
    html = client_for(warehouse_user).get("/").text
    assert re.search(
        r'<a href="/exceptions/\?rule=STUCK_PRE_DISPATCH&amp;status=open&amp;status=acknowledged'
        r'&amp;status=snoozed">1</a>',
        html,
    )


def test_charts_are_plotly_fragments_with_plotly_from_static(tmp_path: Path, ops_user: Any) -> None:
    reconciled(tmp_path)
    html = client_for(ops_user).get("/").text

    assert '<script src="/static/vendor/plotly.min.js"></script>' in html
    assert "cdn.plot.ly" not in html
    assert "cdn.jsdelivr" not in html
    for chart in ("chart-open-by-team", "chart-drift-value", "chart-flow-lag", "chart-top-skus"):
        assert f'id="{chart}"' in html
    assert html.count("Plotly.newPlot") == 4
    assert (
        Path("static/vendor/plotly.min.js")
        .read_text(encoding="utf-8")[:40]
        .startswith("/**\n* plotly.js v")
    )


def test_data_in_charts_is_escaped(tmp_path: Path, ops_user: Any) -> None:
    evil = "<img src=x onerror=alert(1)>"
    reconciled(tmp_path, tee_ref=evil)
    html = client_for(ops_user).get("/").text
    assert evil not in html
    # HTML-escaped before plotly sees it (plotly renders some tags in labels), so the JSON in
    # the page holds entities, which plotly shows as the text they stand for.
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_dashboard_takes_a_fixed_number_of_queries(
    tmp_path: Path, ops_user: Any, django_assert_num_queries: Any
) -> None:
    reconciled(tmp_path)
    reconciled(tmp_path, "2026-11-29T23:59:00Z")
    client = client_for(ops_user)
    client.get("/")
    # session, user, permissions (2), settings profile, latest metrics, 3 snapshots, history
    with django_assert_num_queries(10):
        assert client.get("/").status_code == 200


def test_history_keeps_each_days_last_run() -> None:
    def metrics(run_id: int, as_of: datetime, unresolved: int) -> None:
        run = ReconciliationRun.objects.create(status="complete", as_of=as_of)
        RunMetrics.objects.create(
            run=run,
            as_of=as_of,
            month=date(as_of.year, as_of.month, 1),
            system_set="store=woocommerce",
            unresolved=unresolved,
            by_team={"ops": unresolved},
            drift_value_explained=Decimal("1.50"),
        )

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    metrics(1, datetime(2026, 11, 28, 9, 0, tzinfo=UTC), 5)
    metrics(2, datetime(2026, 11, 28, 18, 0, tzinfo=UTC), 7)
    # 23:30 UTC on 29 November is still the 29th in London (GMT in winter).
    metrics(3, datetime(2026, 11, 29, 23, 30, tzinfo=UTC), 4)
    metrics(4, datetime(2026, 8, 1, 9, 0, tzinfo=UTC), 99)  # older than 90 days

    points = history(90, now)

    assert [(p.day, p.unresolved, p.by_team) for p in points] == [
        (date(2026, 11, 28), 7, {"ops": 7}),
        (date(2026, 11, 29), 4, {"ops": 4}),
    ]
    assert len(history(365, now)) == 3


@pytest.mark.parametrize(
    ("value", "days"), [("30", 30), ("365", 365), ("7", 90), ("x", 90), (None, 90)]
)
def test_the_chart_range(value: str | None, days: int) -> None:
    assert parse_range(value) == days


def test_a_single_day_gets_a_padded_date_axis() -> None:
    point = Point(date(2026, 11, 30), NOW, {"ops": 3}, 3, Decimal("1"), Decimal("2"), 0)
    html = charts.open_by_team([point], {"ops": "Ops"})
    assert '"range":["2026-11-27","2026-12-03"]' in html
    assert '"type":"date"' in html
