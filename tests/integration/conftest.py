"""Fixtures of the mappings and held-orders tests: the demo world at a fixed moment, reconciled.

The demo (reconciliation/demo, docs/demo.md) is deterministic for a seed and as_of, so the held
orders and their references are known: see HELD below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django_q.conf import Conf

from reconciliation.demo import build_demo_bundle
from reconciliation.frames import Bundle
from reconciliation.models import ReconciliationRun

AS_OF = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
DEMO_ORDERS = 300

# origin -> the rules holding it in the demo world above.
HELD: dict[str, set[str]] = {
    "WEB-104422": {"NON_STOCK_SENT"},
    "WEB-104459": {"NON_STOCK_SENT"},
    "WEB-104467": {"ORDER_HELD"},  # warehouse: insufficient stock at the pick face
    "WEB-104478": {"ORDER_HELD"},  # ops: customer asked to change size (held in Prima)
    "WEB-104481": {"ADDRESS_INVALID", "ORDER_HELD"},  # no phone, held by Whistl
    "WEB-104483": {"ORDER_HELD"},  # finance: payment review
    "WEB-104485": {"SHIPPING_UNMAPPED", "ORDER_HELD"},  # Saturday Delivery, rejected
    "WEB-104488": {"SKU_UNKNOWN"},  # TS1001LIL not in Prima
    "WEB-104489": {"SKU_UNKNOWN", "ORDER_HELD"},  # KN6003ECRM not at Whistl, rejected
    "WEB-104491": {"ADDRESS_INVALID", "ORDER_HELD"},  # postcode NR2 8N, rejected
    "WEB-104496": {"ADDRESS_INVALID"},  # no first address line, not sent yet
    "WEB-104497": {"SHIPPING_UNMAPPED"},  # Saturday Delivery, not sent yet
}
NO_PHONE = "WEB-104481"
BAD_POSTCODE = "WEB-104491"
SATURDAY = ("WEB-104485", "WEB-104497")


@pytest.fixture(scope="session")
def demo_bundle() -> Bundle:
    return build_demo_bundle(orders=DEMO_ORDERS, as_of=AS_OF)


@pytest.fixture
def reconcile(db: None) -> Callable[..., ReconciliationRun]:
    """reconcile(bundle) -> the complete run (snapshots saved, exceptions recorded)."""
    from reconciliation.runs import reconcile_bundle_object

    def run(bundle: Bundle, source_name: str = "demo (tests)") -> ReconciliationRun:
        done, _ = reconcile_bundle_object(bundle, source="bundle", source_name=source_name)
        return done

    return run


@pytest.fixture
def demo_run(demo_bundle: Bundle, reconcile: Callable[..., ReconciliationRun]) -> ReconciliationRun:
    return reconcile(demo_bundle)


@pytest.fixture
def tasks_inline(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> Callable[[], Any]:
    """django-q2 runs tasks in the calling thread, and on_commit callbacks run (the test's
    transaction never commits): `with tasks_inline(): client.post(...)`."""
    monkeypatch.setattr(Conf, "SYNC", True)

    def capture() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return capture
