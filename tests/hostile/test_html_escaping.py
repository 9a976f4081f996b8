"""HTML and script in any text that comes from outside — order refs, SKUs, product and customer
names, addresses, hold and adjustment reasons, carriers, comments, notes, people's names, mapping
values, connection names and URLs, sync errors, quarantined records, alert routes and deliveries —
is shown escaped on every page, the dashboard's plotly charts included (their JSON sits inside a
<script>, where only escaping `<`, `>` and `/` keeps a value from closing it)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exceptions.models import ExceptionRecord
from reconciliation.models import Figure
from tests.hostile.world import Furnished, Text, add_outside_text, reconcile_hostile

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
BREAK_OUT = "</script><script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
PAYLOAD = f"{IMG}{BREAK_OUT}"  # for the free-text fields: every trick at once
HOSTILE = Text(
    order_ref="W8" + IMG,
    dispatched_ref="W2" + SCRIPT,
    sku="TEE" + BREAK_OUT,
    product_name=SCRIPT,
    ship_name=IMG,
    ship_line1=SCRIPT,
    ship_city=JS_URL,
    ship_postcode="<img src=x onerror=alert(1)>",
    ship_phone=SCRIPT,
    email=IMG + "@example.com",
    hold_reason=BREAK_OUT,
    adjustment_reason=SCRIPT,
    carrier=IMG,
)


class Markup(HTMLParser):
    """What a browser would build from the page: the elements, their attributes, script bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def runnable(html: str) -> list[str]:
    """The payloads that became markup: an element they made, a handler, a javascript: link, a
    script of their own (also one that broke out of the charts' JSON)."""
    markup = Markup()
    markup.feed(html)
    markup.close()
    found = [f"<{tag} src={a['src']}>" for tag, a in markup.tags if a.get("src") == "x"]
    for tag, attrs in markup.tags:
        for name, value in attrs.items():
            if name.startswith("on") and "alert(1)" in value:
                found.append(f"<{tag} {name}={value}>")
            if name in {"href", "src", "action", "formaction"} and value.strip().lower().startswith(
                "javascript:"
            ):
                found.append(f"<{tag} {name}={value}>")
    found += [f"<script>{body}" for body in markup.scripts if body.strip().startswith("alert(1)")]
    if re.search(r"<script>alert\(1\)", html, re.I):
        found.append("<script>alert(1) in the source")
    return found


# The payloads as an escaped page shows them (autoescape; plotly's JSON in a script).
SHOWN = [
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
    "&lt;img src=x onerror=alert(1)&gt;",
]


@pytest.fixture
def world(tmp_path: Path, admin_user: Any) -> Furnished:
    reconcile_hostile(tmp_path, HOSTILE)
    return add_outside_text(admin_user, PAYLOAD)


def client_for(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def check(client: Client, url: str, *, must_show: str | None = None, shows: bool = True) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert runnable(html) == [], url
    # The page did show outside text (escaped), so the check above means something.
    if not shows:
        return html
    if must_show is not None:
        assert must_show in html, f"{url}: {must_show!r} not shown"
    else:
        assert any(shown in html for shown in SHOWN), f"{url}: no payload shown"
    return html


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", html, re.S | re.I)


def test_the_queue_and_every_exception_page(world: Furnished, admin_user: Any) -> None:
    client = client_for(admin_user)
    check(client, "/exceptions/?team=")
    check(client, "/exceptions/?team=&q=" + SCRIPT, must_show=SHOWN[0])
    for record in ExceptionRecord.objects.order_by("id"):
        # The comment (and for some the evidence, summary, key) carry the payloads.
        check(client, f"/exceptions/{record.pk}/", must_show=SHOWN[1])
    bulk = client.post(
        "/exceptions/bulk/",
        {"action": "acknowledge", "filter": f"q={IMG}", "ids": [], "select_all": "1"},
    )
    assert bulk.status_code in (200, 302)
    assert runnable(bulk.content.decode()) == []


def test_the_evidence_shows_the_customer_and_products_escaped(
    world: Furnished, admin_user: Any
) -> None:
    client = client_for(admin_user)
    held = ExceptionRecord.objects.get(rule="ADDRESS_INVALID")
    html = check(client, f"/exceptions/{held.pk}/", must_show=SHOWN[1])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # line 1, phone
    assert "javascript:alert(1)" in html  # the city, as text
    drift = ExceptionRecord.objects.get(rule="STOCK_DRIFT", key=HOSTILE.sku)
    check(client, f"/exceptions/{drift.pk}/", must_show="TEE&lt;/script&gt;&lt;script&gt;")


def test_held_orders(world: Furnished, ops_user: Any) -> None:
    client = client_for(ops_user)
    check(client, "/held/")
    check(client, reverse("held:detail", args=[HOSTILE.order_ref]), must_show=SHOWN[1])


def test_the_dashboard_and_its_charts(world: Furnished, ops_user: Any) -> None:
    html = check(client_for(ops_user), "/", must_show="chart-top-skus")
    scripts = inline_scripts(html)
    charts = [s for s in scripts if "Plotly.newPlot" in s]
    assert len(charts) == 4
    top = next(s for s in charts if "chart-top-skus" in s)
    # The SKU is HTML-escaped for plotly's labels, then JSON-escaped inside the script.
    assert r"TEE\u0026lt;\u002fscript\u0026gt;" in top or r"TEE&lt;\u002fscript&gt;" in top
    for script in scripts:
        assert "</script" not in script.lower()
        assert "<script" not in script.lower()


def test_mappings_and_their_history(world: Furnished, ops_user: Any) -> None:
    client = client_for(ops_user)
    for url in (
        "/mappings/shipping/",
        "/mappings/sku-aliases/",
        "/mappings/non-stock/",
        "/mappings/history/",
    ):
        check(client, url, must_show=SHOWN[1])
    check(client, "/mappings/settings/", shows=False)


def test_month_end_and_its_drill_down(world: Furnished, finance_user: Any) -> None:
    client = client_for(finance_user)
    assert client.get("/month-end/")["Location"] == "/month-end/2026-11/"
    check(client, "/month-end/2026-11/", shows=False)  # figures only
    shown = {
        Figure.DISPATCHED_NOT_POSTED: "W2&lt;script&gt;alert(1)&lt;/script&gt;",
        Figure.STOCK_DRIFT: "TEE&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        Figure.ADJUSTMENTS: "&lt;script&gt;alert(1)&lt;/script&gt;",
    }
    for figure, text in shown.items():
        check(client, f"/month-end/2026-11/{figure}/", must_show=text)


def test_connections_sync_runs_and_quarantine(world: Furnished, admin_user: Any) -> None:
    client = client_for(admin_user)
    check(client, "/connections/", must_show=SHOWN[1])
    check(client, "/connections/runs/", must_show=SHOWN[1])
    check(client, f"/connections/runs/{world.sync_run_id}/", must_show=SHOWN[1])
    check(client, f"/connections/{world.connection_id}/edit/", must_show=SHOWN[1])


def test_alert_routes_and_deliveries(world: Furnished, ops_user: Any) -> None:
    client = client_for(ops_user)
    check(client, "/alerts/", must_show=SHOWN[1])
    check(client, f"/alerts/{world.route_id}/", must_show=SHOWN[1])
    check(client, "/alerts/deliveries/", must_show=SHOWN[1])


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ('<p>"><img src=x onerror=alert(1)></p>', ["<img src=x>", "<img onerror=alert(1)>"]),
        ('<a href=" JavaScript:alert(1)">x</a>', ["<a href= JavaScript:alert(1)>"]),
        (
            '<script>Plotly.newPlot("c", [{"y": ["</script><script>alert(1)</script>"]}])</script>',
            ["<script>alert(1)", "<script>alert(1) in the source"],
        ),
        ('<p title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&lt;script&gt;</p>', []),
        (r'<script>Plotly.newPlot("c", [{"y": ["\u003c\u002fscript\u003e"]}])</script>', []),
    ],
)
def test_the_check_finds_markup_that_would_run(html: str, found: list[str]) -> None:
    assert runnable(html) == found
