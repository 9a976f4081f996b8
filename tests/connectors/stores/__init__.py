"""Storefront connectors (WooCommerce, Magento, Centra) against their simulators, and their maps.

Helpers shared by these tests: a store world with shipments, connection settings for a running
simulator, and a frame comparison that ignores row order.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from connectors.base import ConnectionSettings, Connector
from connectors.http import connector_for
from connectors.simulators import Simulator
from reconciliation.frames import PANDAS_DTYPES, SCHEMAS, Bundle, RoleSnapshot

KEYS: dict[str, list[str]] = {
    "orders": ["order_ref"],
    "order_lines": ["order_ref", "line_no"],
    "shipments": ["order_ref", "shipment_ref", "sku"],
    "products": ["sku"],
    "stock": ["sku", "location"],
}
CARRIERS = (("Royal Mail", "TPN24"), ("DPD", "NEXTDAY"))


def with_stock_locations(world: Bundle, location: str) -> Bundle:
    """The world with every store stock row at `location`."""
    store = world.roles["store"]
    stock = store.frames["stock"].copy()
    stock["location"] = stock["location"].fillna(location)
    roles = {**world.roles, "store": replace(store, frames={**store.frames, "stock": stock})}
    return replace(world, roles=roles)


def without(frame: pd.DataFrame, column: str, values: set[str]) -> pd.DataFrame:
    return frame[~frame[column].isin(sorted(values))].reset_index(drop=True)


def with_store_shipments(world: Bundle) -> Bundle:
    """The world with store shipments: every dispatched order shipped whole (the first in two
    parcels), every partly dispatched order its first line."""
    store = world.roles["store"]
    orders, lines = store.frames["orders"], store.frames["order_lines"]
    rows: list[dict[str, Any]] = []
    shipped = orders[orders["status"].isin(["dispatched", "partially_dispatched"])]
    for n, order in enumerate(shipped.itertuples(index=False)):
        own = lines[lines["order_ref"] == order.order_ref].sort_values("line_no")
        if order.status == "partially_dispatched":
            own = own.head(1)
        carrier, service = CARRIERS[n % 2]
        for k, line in enumerate(own.itertuples(index=False)):
            parcel = 2 if n == 0 and k > 0 else 1
            rows.append(
                {
                    "order_ref": order.order_ref,
                    "shipment_ref": f"{order.order_ref}-{parcel}",
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "carrier": carrier,
                    "service_code": service,
                    "tracking_number": f"TN{n:06d}{parcel}GB",
                    "dispatched_at": order.updated_at,
                }
            )
    shipments = pd.DataFrame(rows, columns=list(SCHEMAS["shipments"]))
    for column, kind in SCHEMAS["shipments"].items():
        shipments[column] = shipments[column].astype(PANDAS_DTYPES[kind])
    frames = {**store.frames, "shipments": shipments}
    roles = {**world.roles, "store": replace(store, frames=frames)}
    return replace(world, roles=roles)


def settings_for(
    sim: Simulator, credentials: dict[str, str] | None = None, **options: Any
) -> ConnectionSettings:
    app = sim.app
    return ConnectionSettings(
        name=f"{app.kind} test",
        kind=app.kind,
        role="store",
        base_url=sim.url,
        credentials=credentials if credentials is not None else dict(app.credentials),
        options=options,
    )


def connect(
    sim: Simulator,
    *,
    sleeps: list[float] | None = None,
    client: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
    **options: Any,
) -> Connector:
    """A connector for the simulator; its waits recorded in `sleeps` instead of slept, `client`
    overriding HttpClient arguments (timeouts, retries)."""
    overrides: dict[str, Any] = dict(client or {})
    if sleeps is not None:
        overrides["sleep"] = sleeps.append
    return connector_for(settings_for(sim, credentials, **options), **overrides)


def paths(sim: Simulator) -> list[str]:
    """The paths the simulator was asked for, in order."""
    return [entry[2] for entry in sim.log]


def sorted_frame(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    return frame.sort_values(KEYS[file]).reset_index(drop=True)


def assert_same_frames(pulled: dict[str, pd.DataFrame], role: RoleSnapshot) -> None:
    """Every file pulled equals the world's file, row order aside."""
    for file, frame in pulled.items():
        expected = role.frames[file]
        pd.testing.assert_frame_equal(sorted_frame(frame, file), sorted_frame(expected, file))
