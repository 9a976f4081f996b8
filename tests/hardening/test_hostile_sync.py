"""A real sync over HTTP whose answers carry hostile values: each bad record is quarantined and
saved with its reason and payload, the others make the snapshot — the sync never fails for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection as db

from connectors.models import Connection, QuarantinedRecord, SyncRun
from connectors.simulators import Simulator, start_simulator
from connectors.sync import run_sync
from reconciliation.demo import build_demo_bundle
from reconciliation.models import ROW_MODELS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(db.vendor != "postgresql", reason="jsonb and COPY: PostgreSQL"),
]
WORLD = build_demo_bundle(seed=7, orders=20, as_of="2026-11-01T12:00:00Z")
REFS = list(WORLD.roles["store"].frames["orders"]["order_ref"])
SKU = str(WORLD.roles["store"].frames["stock"]["sku"].iloc[0])
CORRUPT = {
    REFS[0]: {"total": "1e999999"},  # int() of it took minutes
    REFS[1]: {"billing.email": "\ud800"},  # a lone surrogate, as JSON may carry
    REFS[2]: {"shipping.first_name": "Ann\x00"},  # PostgreSQL text cannot hold NUL
    REFS[3]: {"total": "12345678901234567890123456789.123456"},  # quantize raised
    REFS[4]: {"total_tax": float("nan")},  # JSON's NaN: jsonb refuses it
    SKU: {"stock_quantity": "-1e999999"},
}


@pytest.fixture
def shop() -> Iterator[Simulator]:
    sim = start_simulator("woocommerce", WORLD, options={"corrupt": CORRUPT})
    yield sim
    sim.stop()


def test_hostile_records_are_quarantined_and_saved(shop: Simulator) -> None:
    connection = Connection(name="Shop", kind="woocommerce", role="store", base_url=shop.url)
    connection.set_credentials(dict(shop.app.credentials))
    connection.save()

    run = run_sync(connection.pk, "full")

    assert run is not None
    assert (run.state, run.error) == (SyncRun.State.COMPLETE, "")
    saved = {q.ref: q for q in QuarantinedRecord.objects.filter(sync_run=run)}
    assert {ref: q.reason for ref, q in saved.items()} == {
        REFS[0]: "total '1e999999' is too large",
        REFS[1]: "text '\\ud800' is not valid Unicode",
        REFS[2]: "orders: ship_name contains a NUL character",
        REFS[3]: "total '12345678901234567890123456789.123456' is too large",
        REFS[4]: "total_tax nan is not a number",
        SKU: "stock_quantity '-1e999999' is too large",
    }
    # The payload as it came, but storable: a lone surrogate written out, NUL as \\u0000.
    assert saved[REFS[1]].payload["billing"]["email"] == "\\ud800"
    assert saved[REFS[2]].payload["shipping"]["first_name"] == "Ann\\u0000"
    assert saved[REFS[4]].payload["total_tax"] == "nan"
    orders = ROW_MODELS["orders"].objects.filter(snapshot=run.snapshot)
    assert orders.count() == len(REFS) - 5
    assert run.quarantined == 6
