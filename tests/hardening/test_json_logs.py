"""Structured logs: with LOG_FORMAT=json every record is one JSON line (time, level, logger,
message), a sync's records name the sync run and connection, a request's its request id, and a
connector failing or working — keys in the query string included — never puts a credential in the
log."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from connectors.base import ConnectorError
from connectors.http import connector_for
from connectors.models import Connection, SyncRun
from connectors.simulators import Simulator, start_simulator
from connectors.sync import run_sync
from integration.logging import JsonFormatter, RequestIdMiddleware, current_log_context
from reconciliation.demo import build_demo_bundle
from reconciliation.runs import reconcile_path
from tests.bundles import write_bundle_dir

ROOT = Path(__file__).resolve().parents[2]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KEY, SECRET, WRONG = "ck_k3y_S7XQ", "cs_s3cr3t_V9PLM", "cs_wr0ng_Q4ZRT"


def _format(record: logging.LogRecord) -> dict:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert TIME.match(entry.pop("time"))
    return entry


def test_a_record_is_one_json_line() -> None:
    record = logging.LogRecord(
        "connectors.sync", logging.WARNING, __file__, 1, "sync %s: %s", (7, "a\nb"), None
    )
    record.run = 7  # as logger.warning(..., extra={"run": 7}) sets it
    assert _format(record) == {
        "level": "WARNING",
        "logger": "connectors.sync",
        "message": "sync 7: a\nb",
        "run": 7,
    }


def test_an_exception_goes_in_its_own_field() -> None:
    try:
        raise ConnectorError("GET http://127.0.0.1/x: HTTP 500", permanent=False)
    except ConnectorError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = _format(record)
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ConnectorError: GET http://127.0.0.1/x: HTTP 500")
    assert (entry["level"], entry["message"]) == ("ERROR", "failed")


def test_text_no_encoding_holds_is_escaped() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ref %s", ("W\ud800é",), None)
    line = JsonFormatter().format(record)
    assert line.isascii()
    assert json.loads(line)["message"] == "ref W\ud800é"


def test_log_format_json_switches_the_console() -> None:
    """The setting end to end: a fresh process with LOG_FORMAT=json logs JSON lines."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('connectors.sync').warning('sync %s failed', 3)"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "integration.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    # Apps may log at start-up (django-axes does): every line is JSON, ours among them.
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    for entry in entries:
        assert TIME.match(entry.pop("time"))
        assert set(entry) == {"level", "logger", "message"}
    ours = [entry for entry in entries if entry["logger"] == "connectors.sync"]
    assert ours == [{"level": "WARNING", "logger": "connectors.sync", "message": "sync 3 failed"}]


# -- no secrets ----------------------------------------------------------------------------------


@pytest.fixture
def shop() -> Iterator[Simulator]:
    world = build_demo_bundle(seed=7, orders=5, as_of="2026-11-01T12:00:00Z")
    sim = start_simulator(
        "woocommerce", world, credentials={"consumer_key": KEY, "consumer_secret": SECRET}
    )
    yield sim
    sim.stop()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged, from every logger and at every level, as the JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.django_db
@pytest.mark.parametrize("auth", ["basic", "query"])
def test_a_connector_error_logs_no_credentials(
    shop: Simulator, captured: io.StringIO, auth: str
) -> None:
    connection = Connection(
        name="Shop", kind="woocommerce", role="store", base_url=shop.url, options={"auth": auth}
    )
    connection.set_credentials({"consumer_key": KEY, "consumer_secret": WRONG})
    connection.save()
    logger = logging.getLogger("tests.hardening")

    failed = run_sync(connection.pk, "full")  # refused: 401
    assert failed is not None
    assert failed.state == SyncRun.State.FAILED
    connector = connector_for(connection.connection_settings())
    try:
        connector.check()
    except ConnectorError:
        logger.exception("check of %s failed", connection)  # with its traceback and causes
    finally:
        connector.client.close()
    connection.set_credentials({"consumer_key": KEY, "consumer_secret": SECRET})
    connection.save()
    worked = run_sync(connection.pk, "full")
    assert worked is not None
    assert worked.state == SyncRun.State.COMPLETE

    lines = captured.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    loggers = {entry["logger"] for entry in entries}
    assert {"httpx", "tests.hardening", "connectors.sync"} <= loggers
    failure = next(e for e in entries if e["logger"] == "tests.hardening")
    assert "HTTP 401, credentials refused" in failure["exception"]
    for secret in (KEY, SECRET, WRONG, connection.credentials_token):
        assert not [line for line in lines if secret in line], secret


# -- which sync, which request -------------------------------------------------------------------


@pytest.mark.django_db
def test_every_record_of_a_sync_names_it(shop: Simulator, captured: io.StringIO) -> None:
    connection = Connection(name="Shop", kind="woocommerce", role="store", base_url=shop.url)
    connection.set_credentials({"consumer_key": KEY, "consumer_secret": SECRET})
    connection.save()
    logging.getLogger("tests.hardening").info("before")

    run = run_sync(connection.pk, "full")

    assert run is not None
    assert run.state == SyncRun.State.COMPLETE
    entries = [json.loads(line) for line in captured.getvalue().splitlines()]
    before = next(e for e in entries if e["message"] == "before")
    assert set(before) == {"time", "level", "logger", "message"}
    requests = [e for e in entries if e["logger"] == "httpx"]
    assert len(requests) == run.requests > 0
    done = [e for e in entries if e["message"].startswith(f"sync {run.pk} of Shop complete")]
    assert len(done) == 1
    for entry in requests + done:
        assert (entry["sync_run"], entry["connection"]) == (run.pk, connection.pk), entry
    after = logging.LogRecord("x", logging.INFO, __file__, 1, "after", (), None)
    assert "sync_run" not in _format(after)  # the context ended with the sync


def _logs_one_line(request: HttpRequest) -> HttpResponse:
    logging.getLogger("tests.hardening").warning("serving %s", request.path)
    return HttpResponse("ok")


@pytest.mark.parametrize(
    ("given", "kept"),
    [("edge-7f3a.91", True), ("", False), ("bad id\r\nX-Evil: 1", False), ("x" * 65, False)],
)
def test_a_request_id_is_logged_and_returned(captured: io.StringIO, given: str, kept: bool) -> None:
    headers = {"HTTP_X_REQUEST_ID": given} if given else {}
    response = RequestIdMiddleware(_logs_one_line)(RequestFactory().get("/x/", **headers))

    request_id = response["X-Request-ID"]
    if kept:
        assert request_id == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (entry,) = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert TIME.match(entry.pop("time"))
    assert entry == {
        "level": "WARNING",
        "logger": "tests.hardening",
        "message": "serving /x/",
        "request_id": request_id,
    }
    assert current_log_context() == {}


@pytest.mark.django_db
def test_a_reconciliation_logs_its_run(tmp_path: Path, captured: io.StringIO) -> None:
    bundle = write_bundle_dir(
        tmp_path / "bundle",
        systems={"store": "woocommerce", "erp": "prima"},
        files={
            "store/orders.csv": [
                {"order_ref": "W1", "status": "open", "placed_at": "2026-11-29T10:00:00Z"}
            ],
            "erp/orders.csv": [],
        },
    )
    run, _ = reconcile_path(bundle)

    entries = [json.loads(line) for line in captured.getvalue().splitlines()]
    (done,) = [e for e in entries if e["logger"] == "reconciliation.runs"]
    assert TIME.match(done.pop("time"))
    totals = ", ".join(f"{name} {count}" for name, count in run.totals.items())
    assert done == {
        "level": "INFO",
        "logger": "reconciliation.runs",
        "message": f"reconciliation run {run.pk} complete: {totals}",
        "reconciliation_run": run.pk,
    }
    assert "found 1" in totals
    assert current_log_context() == {}
