"""Connector secrets never leak. A WooCommerce connection to the real simulator syncs with known
credentials, then fails on an auth error once the simulator stops accepting them, and Parity
reconciles (SYNC_FAILED). After that, no form of the key or secret (plain, URL-quoted, the Basic
auth header's base64) is in: a raw SQL read of the connections and runs tables or the task queue,
the SQL Parity sent, any log line (every logger at DEBUG, httpx and httpcore included), the
Connections pages (list, edit, test, runs, run, progress), the Django admin's, the exceptions
pages, every CSV/XLSX export, or the API."""

from __future__ import annotations

import base64
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth.models import AbstractUser
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from connectors.models import Connection, SyncRun
from connectors.simulators import Simulator, start_simulator
from connectors.sync import reconcile_latest, run_sync
from exceptions.models import ExceptionRecord
from reconciliation.demo import build_demo_bundle
from reconciliation.frames import Bundle
from reconciliation.models.metrics import Figure

KEY = "ck_h2_live_7Hq2x9LwQ4"
SECRET = "cs_h2_live_Zp4Vb8Rt3KqM"
# Every shape the credentials could take on their way out.
FORMS = {
    "key": KEY,
    "secret": SECRET,
    "quoted secret": quote(SECRET, safe=""),
    "basic auth": base64.b64encode(f"{KEY}:{SECRET}".encode()).decode(),
    "secret base64": base64.b64encode(SECRET.encode()).decode().rstrip("="),
}
FAST = {"sleep": lambda seconds: None}  # the failing sync's retries without the waiting


def leaks(text: str | bytes) -> list[str]:
    """The names of the credential forms found in `text` (none, always)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [name for name, form in FORMS.items() if form in text]


def raw_table(table: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        return "\n".join(" ".join(str(value) for value in row) for row in cursor.fetchall())


def xlsx_text(body: bytes) -> str:
    """Every part of the workbook (cells, shared strings, sheet names) as text."""
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())


@pytest.fixture(scope="module")
def secrets_world() -> Bundle:
    return build_demo_bundle(seed=7, orders=30, as_of="2026-11-01T12:00:00Z")


@pytest.fixture
def woo(secrets_world: Bundle) -> Iterator[Simulator]:
    simulator = start_simulator(
        "woocommerce",
        secrets_world,
        credentials={"consumer_key": KEY, "consumer_secret": SECRET},
    )
    yield simulator
    simulator.stop()


@dataclass
class Story:
    connection: Connection
    good: SyncRun
    failed: SyncRun
    exception: ExceptionRecord
    logs: str
    sql: str


def story(woo: Simulator, caplog: pytest.LogCaptureFixture, auth: str) -> Story:
    """Connect, sync, lose the credentials' acceptance, fail, reconcile: every log captured."""
    for name in (None, "httpx", "httpcore", "connectors", "django", "django.db.backends"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection = Connection(
        name="Woo live", kind="woocommerce", role="store", base_url=woo.url, options={"auth": auth}
    )
    connection.set_credentials({"consumer_key": KEY, "consumer_secret": SECRET})
    connection.save()

    with CaptureQueriesContext(db) as queries:
        good = run_sync(connection.pk, "full")
        # The shop's keys were rotated there: Parity's are now refused (401).
        woo.app.credentials = {"consumer_key": KEY, "consumer_secret": "cs_rotated_elsewhere"}
        failed = run_sync(connection.pk, "delta", client_options=FAST)
        run = reconcile_latest()

    assert good is not None
    assert failed is not None
    assert run is not None
    assert (good.state, failed.state, run.status) == ("complete", "failed", "complete")
    assert good.records_done > 0
    return Story(
        connection=connection,
        good=good,
        failed=failed,
        exception=ExceptionRecord.objects.get(rule="SYNC_FAILED"),
        logs=caplog.text,
        sql="\n".join(q["sql"] for q in queries.captured_queries),
    )


@pytest.fixture
def told(woo: Simulator, caplog: pytest.LogCaptureFixture, db: None) -> Story:
    return story(woo, caplog, auth="query")


@pytest.fixture
def admin(client: Client, admin_user: AbstractUser) -> Client:
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("auth", ["basic", "query"])
def test_logs_and_the_sql_sent_never_hold_a_credential(
    woo: Simulator, caplog: pytest.LogCaptureFixture, auth: str
) -> None:
    told = story(woo, caplog, auth=auth)

    assert f"GET {woo.url}/wp-json/wc/v3/" in told.logs  # httpx's request lines were captured
    assert "401" in told.logs
    assert leaks(told.logs) == []
    for record in caplog.records:  # the raw arguments too, not just the formatted lines
        assert leaks(repr(record.args) + repr(record.__dict__.get("exc_text"))) == []
    assert "connectors_connection" in told.sql
    assert leaks(told.sql) == []


def test_a_raw_read_of_the_tables_shows_no_credential(told: Story) -> None:
    connections = raw_table(Connection._meta.db_table)
    assert "Woo live" in connections
    assert told.connection.credentials_token in connections  # the Fernet token is what is stored
    assert leaks(connections) == []
    assert leaks(raw_table(SyncRun._meta.db_table)) == []
    assert leaks(raw_table(ExceptionRecord._meta.db_table)) == []
    assert leaks(raw_table("exceptions_exceptionevent")) == []
    assert Connection.objects.get().credentials() == {
        "consumer_key": KEY,
        "consumer_secret": SECRET,
    }


def test_the_failed_sync_says_why_without_the_secret(told: Story, admin: Client) -> None:
    assert "HTTP 401, credentials refused" in told.failed.error
    assert leaks(told.failed.error) == []
    assert told.exception.summary == f"Sync from Woo live failed: {told.failed.error}"

    page = admin.get(f"/connections/runs/{told.failed.pk}/")
    assert page.status_code == 200
    assert told.failed.error in page.content.decode()  # said in full, and that is safe
    assert leaks(page.content) == []

    # "Test" against the refusing shop: the message says it failed, and nothing more secret.
    tested = admin.post(f"/connections/{told.connection.pk}/test/", follow=True)
    assert tested.status_code == 200
    assert "Woo live: test failed" in tested.content.decode()
    assert leaks(tested.content) == []


def test_the_connection_pages_never_show_a_credential(told: Story, admin: Client) -> None:
    pk, run = told.connection.pk, told.good.pk
    for url in (
        "/connections/",
        f"/connections/{pk}/edit/",
        "/connections/new/?kind=woocommerce",
        "/connections/runs/",
        f"/connections/runs/?connection={pk}",
        f"/connections/runs/{run}/",
        f"/connections/runs/{run}/progress/",
        f"/connections/runs/{told.failed.pk}/progress/",
    ):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert leaks(page.content) == [], url
    edit = admin.get(f"/connections/{pk}/edit/").content.decode()
    assert 'name="credential_consumer_secret"' in edit  # the field is there, empty
    assert told.connection.credentials_token not in edit


def test_the_admin_pages_never_show_a_credential(told: Story, admin: Client) -> None:
    pk = told.connection.pk
    for url in (
        "/admin/connectors/connection/",
        f"/admin/connectors/connection/{pk}/change/",
        f"/admin/connectors/connection/{pk}/history/",
        "/admin/connectors/syncrun/",
        f"/admin/connectors/syncrun/{told.good.pk}/change/",
        f"/admin/connectors/syncrun/{told.failed.pk}/change/",
        "/admin/exceptions/exceptionrecord/",
        f"/admin/exceptions/exceptionrecord/{told.exception.pk}/change/",
    ):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert leaks(page.content) == [], url
    change = admin.get(f"/admin/connectors/connection/{pk}/change/").content.decode()
    assert "consumer_secret" in change  # the credential's name, read-only
    assert told.connection.credentials_token not in change


def test_the_exceptions_pages_and_every_export_never_show_a_credential(
    told: Story, admin: Client
) -> None:
    for url in ("/", "/exceptions/", f"/exceptions/{told.exception.pk}/"):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert leaks(page.content) == [], url

    queue = admin.get("/exceptions/export.csv")
    body = b"".join(queue.streaming_content)
    assert b"SYNC_FAILED" in body
    assert leaks(body) == []

    downloads = month_end_downloads(admin)
    assert {url.rsplit("/", 1)[1] for url in downloads} == {
        "month-end.xlsx",
        "summary.csv",
        *(f"{figure}.csv" for figure in Figure.values),
    }
    for url, body in downloads.items():
        text = xlsx_text(body) if url.endswith(".xlsx") else body.decode()
        assert leaks(text) == [], url

    for table in ("shipping", "sku_aliases", "non_stock"):
        mapping = admin.get(f"/mappings/csv/{table}.csv")
        assert mapping.status_code == 200
        assert leaks(mapping.content) == [], table


def month_end_downloads(admin: Client) -> dict[str, bytes]:
    """Every CSV and XLSX of the month-end pages: the month's, each figure page's, and each
    figure's records CSV (linked or not: a figure with no records has no page link)."""
    month = admin.get("/month-end/", follow=True)
    assert month.status_code == 200
    links = month_end_links(month.content.decode())
    for page_link in [link for link in links if not is_download(link)]:
        page = admin.get(page_link)
        assert page.status_code == 200, page_link
        links |= month_end_links(page.content.decode())
    (summary,) = (link for link in links if link.split("?")[0].endswith("/summary.csv"))
    links |= {summary.replace("/summary.csv", f"/{figure}.csv") for figure in Figure.values}

    downloads = {}
    for link in sorted(filter(is_download, links)):
        answer = admin.get(link)
        assert answer.status_code == 200, link
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        downloads[link.split("?")[0]] = body
    return downloads


def month_end_links(html: str) -> set[str]:
    return {
        u.replace("&amp;", "&") for u in re.findall(r'href="(/month-end/\d{4}-\d{2}/[^"]*)"', html)
    }


def is_download(link: str) -> bool:
    return link.split("?")[0].endswith((".csv", ".xlsx"))


def test_the_api_never_shows_a_credential(told: Story, admin_user: AbstractUser) -> None:
    api = APIClient()
    token = Token.objects.create(user=admin_user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    listing = api.get("/api/v1/exceptions/")
    detail = api.get(f"/api/v1/exceptions/{told.exception.pk}/")

    assert listing.status_code == detail.status_code == 200
    assert "SYNC_FAILED" in listing.content.decode()
    assert detail.json()["rule"] == "SYNC_FAILED"
    assert leaks(listing.content) == []
    assert leaks(detail.content) == []


def test_sync_now_queues_no_credential(
    told: Story, admin: Client, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin.post(f"/connections/{told.connection.pk}/sync/", {"kind": "delta"})

    assert answer.status_code == 302
    (queued,) = OrmQ.objects.all()
    task = queued.task  # the signed, pickled payload opened: what a worker would read
    assert task["args"][0] == told.connection.pk
    assert leaks(repr(task)) == []
    assert leaks(raw_table(OrmQ._meta.db_table)) == []
