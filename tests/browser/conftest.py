"""Real-browser fixtures: Debian's chromium driven by Playwright against pytest-django's live server.

Use them in any journey under tests/browser/ (mark it `@pytest.mark.browser`):

    def test_ops_sees_the_queue(page, demo_world, ops_user, login_as, screenshot):
        login_as(page, ops_user)
        page.goto("/exceptions/")  # relative to the live server
        screenshot(page, "queue")

`page` is a fresh browser context per test (own cookies) whose base URL is the live server's,
`url(path)` gives a full address, `demo_world` is the demo bundle reconciled into the test
database, and screenshots land in artifacts/screenshots/ (gitignored; CI keeps them as
artefacts). Every test in this directory is marked `browser` (`-m "not browser"` skips them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in this thread, so Django's async guard would refuse the
# ORM calls the tests make between page actions; nothing here is actually concurrent.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
# No background traffic: the journeys must not depend on (or leak to) the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test in this directory drives the browser, marked or not.
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the test so `page` can tell whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session; skipped (with the reason) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context (no cookies shared between tests), pointed at the live server.
    A failing test leaves a screenshot of where it stopped: FAILED-<test>.png.

    live_server needs the database through transactional_db: the server thread must see rows the
    test writes, so they are committed (and flushed after the test)."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _save(tab, f"FAILED-{request.node.name}")
    context.close()


@pytest.fixture
def url(live_server: Any) -> Callable[[str], str]:
    return lambda path: live_server.url + path


@pytest.fixture
def login_as(live_server: Any) -> Callable[..., None]:
    """login_as(page, user, password=PASSWORD): sign in through the real login form."""

    def login(page: Any, user: AbstractUser, password: str = PASSWORD) -> None:
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit], input[type=submit]")
        if "/login/" in page.url:
            raise AssertionError(f"login as {user.get_username()} failed: still on {page.url}")

    return login


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """screenshot(page, "queue") -> artifacts/screenshots/queue.png (full page)."""

    return _save


def _save(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def demo_world(transactional_db: None) -> Any:
    """The demo bundle (300 store orders: every rule fires) reconciled into the database; returns
    the ReconciliationRun. The exceptions it opens are then in the queue with their events."""
    from integration.roles import ensure_role_groups
    from reconciliation.demo import build_demo_bundle
    from reconciliation.runs import reconcile_bundle_object

    ensure_role_groups()
    run, _ = reconcile_bundle_object(
        build_demo_bundle(orders=300), source="bundle", source_name="demo (browser tests)"
    )
    return run
