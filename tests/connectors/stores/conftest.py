"""Worlds for the storefront connectors: the demo store with shipments, and for Centra (whose
stock always lives in a named warehouse) with its stock in the "Main" warehouse."""

from __future__ import annotations

import pytest

from reconciliation.frames import Bundle
from tests.connectors.stores import with_stock_locations, with_store_shipments


@pytest.fixture(scope="session")
def store_world(world: Bundle) -> Bundle:
    return with_store_shipments(world)


@pytest.fixture(scope="session")
def centra_world(store_world: Bundle) -> Bundle:
    return with_stock_locations(store_world, "Main")
