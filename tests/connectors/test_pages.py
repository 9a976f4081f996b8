"""The Connections pages: Admin only, credentials write-only, test / sync now, runs with progress."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ

from connectors.models import Connection, QuarantinedRecord, SyncRun
from connectors.simulators import Simulator
from tests.connectors.simapp import KEY, SECRET

pytestmark = pytest.mark.urls("tests.connectors.urls")


@pytest.fixture
def admin(client: Client, admin_user: AbstractUser) -> Client:
    client.force_login(admin_user)  # client.login() has no request, which django-axes refuses
    return client


def test_the_pages_are_for_the_admin_role(
    client: Client, ops_user: AbstractUser, shop_connection: Connection
) -> None:
    assert client.get("/connections/").status_code == 302  # to the login page
    client.force_login(ops_user)
    for url in ("/connections/", "/connections/new/", f"/connections/{shop_connection.pk}/edit/"):
        assert client.get(url).status_code == 403
    assert client.post(f"/connections/{shop_connection.pk}/sync/").status_code == 403
    assert SyncRun.objects.count() == 0


def test_the_list_shows_connections_and_never_their_secrets(
    admin: Client,
    shop_connection: Connection,
    django_assert_num_queries,  # noqa: ANN001
) -> None:
    SyncRun.objects.create(connection=shop_connection, state="complete", records_done=52)

    with django_assert_num_queries(4):  # session, user, connections, their runs
        page = admin.get("/connections/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Test shop" in html
    assert shop_connection.base_url in html
    assert SECRET not in html
    assert KEY not in html
    assert shop_connection.credentials_token not in html


def test_a_connection_is_added_with_write_only_credentials(admin: Client, shop: Simulator) -> None:
    form = admin.get("/connections/new/?kind=testshop").content.decode()
    assert 'name="credential_secret"' in form

    page = admin.post(
        "/connections/new/?kind=testshop",
        {
            "name": "Web shop",
            "role": "store",
            "base_url": shop.url + "/",
            "enabled": "on",
            "schedule_minutes": "15",
            "options": "{}",
            "credential_key": KEY,
            "credential_secret": SECRET,
        },
    )

    assert page.status_code == 302
    connection = Connection.objects.get()
    assert (connection.name, connection.kind, connection.base_url) == (
        "Web shop",
        "testshop",
        shop.url,
    )
    assert connection.credentials() == {"key": KEY, "secret": SECRET}
    edit = admin.get(f"/connections/{connection.pk}/edit/").content.decode()
    assert SECRET not in edit
    assert KEY not in edit
    assert edit.count("Set; leave blank to keep it.") == 2


def test_a_form_error_does_not_send_the_secret_back(admin: Client) -> None:
    page = admin.post(
        "/connections/new/?kind=testshop",
        {
            "name": "Internal",
            "role": "store",
            "base_url": "http://10.0.0.7:8080",
            "schedule_minutes": "15",
            "options": "{}",
            "credential_key": KEY,
            "credential_secret": SECRET,
        },
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "host &#x27;10.0.0.7&#x27; is not in PARITY_CONNECTOR_ALLOWED_HOSTS" in html
    assert SECRET not in html
    assert Connection.objects.count() == 0


def test_editing_with_blank_credentials_keeps_them(
    admin: Client, shop_connection: Connection
) -> None:
    page = admin.post(
        f"/connections/{shop_connection.pk}/edit/",
        {
            "name": "Renamed shop",
            "role": "store",
            "base_url": shop_connection.base_url,
            "enabled": "on",
            "schedule_minutes": "5",
            "options": '{"per_page": 10}',
            "credential_key": "",
            "credential_secret": "",
        },
    )

    assert page.status_code == 302
    shop_connection.refresh_from_db()
    assert (shop_connection.name, shop_connection.schedule_minutes) == ("Renamed shop", 5)
    assert shop_connection.options == {"per_page": 10}
    assert shop_connection.credentials() == {"key": KEY, "secret": SECRET}


def test_test_connection_says_what_answered(
    admin: Client, shop_connection: Connection, shop: Simulator
) -> None:
    page = admin.post(f"/connections/{shop_connection.pk}/test/", follow=True)
    assert "Test shop: connected — 52 orders" in page.content.decode()

    shop.set_faults(expired_credentials=True)
    page = admin.post(f"/connections/{shop_connection.pk}/test/", follow=True)
    assert (
        "Test shop: test failed — GET " + shop.url + "/api/orders: HTTP 401, credentials refused"
    ) in page.content.decode()


def test_sync_now_queues_a_run_and_shows_it(
    admin: Client,
    shop_connection: Connection,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        page = admin.post(f"/connections/{shop_connection.pk}/sync/", {"kind": "full"})

    run = SyncRun.objects.get()
    assert page.status_code == 302
    assert page.url == f"/connections/runs/{run.pk}/"
    assert (run.kind, run.state, run.trigger) == ("full", "pending", "manual")
    assert [o.task["args"] for o in OrmQ.objects.all()] == [
        (shop_connection.pk, "full", run.pk, "manual")
    ]
    again = admin.post(f"/connections/{shop_connection.pk}/sync/", {"kind": "full"}, follow=True)
    assert f"Test shop: sync {run.pk} is already pending" in again.content.decode()
    assert SyncRun.objects.count() == 1


def test_the_progress_fragment_polls_only_while_active(
    admin: Client, shop_connection: Connection
) -> None:
    run = SyncRun.objects.create(
        connection=shop_connection,
        state="running",
        started_at=timezone.now(),
        pages_done=3,
        pages_total=12,
        records_done=300,
        records_total=1200,
        requests=4,
    )

    html = admin.get(f"/connections/runs/{run.pk}/progress/").content.decode()

    assert '<progress max="100" value="25"' in html
    assert "300 of 1200 records" in html
    assert "3 of 12 pages" in html
    assert f'data-poll="/connections/runs/{run.pk}/progress/"' in html
    run.complete(None)
    html = admin.get(f"/connections/runs/{run.pk}/progress/").content.decode()
    assert "data-poll" not in html
    assert 'value="100"' in html


def test_the_run_page_lists_quarantined_records(admin: Client, shop_connection: Connection) -> None:
    run = SyncRun.objects.create(connection=shop_connection, state="complete", quarantined=1)
    QuarantinedRecord.objects.create(
        sync_run=run,
        file="orders",
        ref="WEB-1",
        reason="status 'shiped' is not a canonical status",
        payload={"order_ref": "WEB-1", "status": "shiped"},
    )

    html = admin.get(f"/connections/runs/{run.pk}/").content.decode()

    assert "Quarantined records (1)" in html
    assert "status &#x27;shiped&#x27; is not a canonical status" in html
    assert re.search(r"WEB-1", html)


def test_the_runs_list_pages_with_fixed_queries(
    admin: Client,
    shop_connection: Connection,
    django_assert_num_queries,  # noqa: ANN001
) -> None:
    for _ in range(60):
        SyncRun.objects.create(connection=shop_connection, state="complete")

    with django_assert_num_queries(4):  # session, user, count, one page of runs
        page = admin.get("/connections/runs/")

    assert page.status_code == 200
    assert page.content.decode().count('href="/connections/runs/') == 50
