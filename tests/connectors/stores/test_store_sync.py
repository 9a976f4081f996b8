"""The store connectors through the sync service: a full sync and a delta each leave a complete
snapshot equal to what the store serves, and quarantined records are kept with their reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from connectors.models import Connection, QuarantinedRecord
from connectors.simulators import Simulator
from connectors.sync import run_sync
from reconciliation.frames import Bundle
from reconciliation.models import Snapshot
from reconciliation.store import load_bundle
from tests.connectors.stores import assert_same_frames

# A status no map knows (Magento would read a custom status by its state: that goes too).
LOST = {"status": "lost", "state": "lost"}
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "woocommerce": ("world", {}),
    "magento": ("store_world", {}),
    "centra": ("centra_world", {"order_prefix": "WEB-", "non_stock_skus": ["GIFTWRAP"]}),
}


def connection_for(sim: Simulator, options: dict[str, Any]) -> Connection:
    connection = Connection(
        name=f"{sim.app.kind} shop", kind=sim.app.kind, role="store", base_url=sim.url
    )
    connection.options = options
    connection.set_credentials(dict(sim.app.credentials))
    connection.save()
    return connection


def frames_of(snapshot: Snapshot) -> dict[str, pd.DataFrame]:
    return dict(load_bundle([snapshot], as_of=snapshot.taken_at, currency="").roles["store"].frames)


def with_cancelled(world: Bundle, ref: str, at: pd.Timestamp) -> Bundle:
    """The world after the store cancelled `ref` at `at`."""
    store = world.roles["store"]
    orders = store.frames["orders"].copy()
    changed = orders["order_ref"] == ref
    orders.loc[changed, "status"] = "cancelled"
    orders.loc[changed, "updated_at"] = at
    frames = {**store.frames, "orders": orders}
    return replace(world, roles={**world.roles, "store": replace(store, frames=frames)})


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_full_sync_and_a_delta_each_leave_the_store_as_served(
    kind: str, request: pytest.FixtureRequest, simulator: Callable[..., Simulator]
) -> None:
    fixture, options = CASES[kind]
    world: Bundle = request.getfixturevalue(fixture)
    sim = simulator(kind, world)
    connection = connection_for(sim, options)

    full = run_sync(connection.pk, "full")
    # Changed after the full pull began (deltas ask from then, whatever the world's as_of).
    now = pd.Timestamp.now(tz="UTC").floor("s") + pd.Timedelta(minutes=1)
    changed = with_cancelled(world, "WEB-104201", now)
    sim.load(changed)
    delta = run_sync(connection.pk, "delta")

    full.refresh_from_db()
    delta.refresh_from_db()
    assert (full.state, full.kind, full.quarantined) == ("complete", "full", 0)
    assert (delta.state, delta.kind, delta.quarantined) == ("complete", "delta", 0)
    assert_same_frames(frames_of(full.snapshot), world.roles["store"])
    assert_same_frames(frames_of(delta.snapshot), changed.roles["store"])
    orders = frames_of(delta.snapshot)["orders"]
    assert orders.loc[orders["order_ref"] == "WEB-104201", "status"].tolist() == ["cancelled"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(CASES))
def test_quarantined_records_are_saved_with_the_run(
    kind: str, request: pytest.FixtureRequest, simulator: Callable[..., Simulator]
) -> None:
    fixture, options = CASES[kind]
    world: Bundle = request.getfixturevalue(fixture)
    sim = simulator(kind, world, options={"corrupt": {"WEB-104210": LOST}})
    connection = connection_for(sim, options)

    run = run_sync(connection.pk, "full")

    run.refresh_from_db()
    # Magento's shipments are records of their own: those of the order go with it.
    shipments = world.roles["store"].frames.get("shipments")
    parcels = 0
    if kind == "magento" and shipments is not None:
        parcels = shipments.loc[shipments["order_ref"] == "WEB-104210", "shipment_ref"].nunique()
    assert (run.state, run.quarantined) == ("complete", 1 + parcels)
    record = QuarantinedRecord.objects.get(sync_run=run, file="orders")
    assert record.file == "orders"
    assert record.reason.lower().startswith("status 'lost'")
    assert record.payload["status"] == "lost"
    orders = frames_of(run.snapshot)["orders"]
    assert "WEB-104210" not in set(orders["order_ref"])
    assert len(orders) == 51
