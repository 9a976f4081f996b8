"""Simulator fixtures: a small world and a running simulator per test, stopped afterwards.

`simulator("kind", **faults)` starts one over the `world` bundle (loopback, any free port); the
`shop` fixture is the framework's own test simulator (tests/connectors/simapp.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tests.connectors.simapp  # noqa: F401 - registers the "testshop" simulator
from connectors.models import Connection
from connectors.simulators import Simulator, start_simulator
from reconciliation.demo import build_demo_bundle
from reconciliation.frames import Bundle
from tests.connectors.simapp import KEY, SECRET

AS_OF = "2026-11-01T12:00:00Z"  # in the past: deltas since "now" see only changes


@pytest.fixture(scope="session")
def world() -> Bundle:
    """The demo world with 50 store orders (52 with its scenarios), the same on every run."""
    return build_demo_bundle(seed=7, orders=50, as_of=AS_OF)


@pytest.fixture
def simulator(world: Bundle) -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def start(kind: str, bundle: Bundle | None = None, **kwargs: Any) -> Simulator:
        handle = start_simulator(kind, bundle if bundle is not None else world, **kwargs)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def shop(simulator: Callable[..., Simulator]) -> Simulator:
    return simulator("testshop")


@pytest.fixture
def sleeps() -> list[float]:
    """Pass `sleep=sleeps.append` to a client: it records the waits instead of waiting."""
    return []


SHOP_AUTH = (KEY, SECRET)


@pytest.fixture
def shop_connection(db: None, shop: Simulator) -> Connection:
    connection = Connection(name="Test shop", kind="testshop", role="store", base_url=shop.url)
    connection.set_credentials({"key": KEY, "secret": SECRET})
    connection.save()
    return connection
