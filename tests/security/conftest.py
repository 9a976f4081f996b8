"""Security fixtures: a small world with one object behind every URL parameter, the cast of users
(anonymous, a user in no group, one per role), a client per user, and a snapshot of every table.

`world` is the demo world reconciled at a fixed moment (tests/integration/conftest.py's), plus the
rows the pages need: a mapping row of each table, a release, a re-check, an alert route with a failed
delivery, a connection to a running WooCommerce simulator with a sync run. `world.args` fills the
`{placeholders}` of the URL table in docs/roles.md ("Every URL, every role").

`db_state()` is every table's row count and an md5 of its rows (sessions aside): two equal states
mean nothing was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from django.db import connection
from django.test import Client

from connectors.models import Connection, SyncRun
from connectors.simulators import Simulator, start_simulator
from exceptions.alert_models import AlertDelivery, AlertRoute
from exceptions.models import ExceptionRecord
from integration import held_orders, mappings, releases
from integration.models import (
    NonStockSku,
    OrderRelease,
    Recheck,
    ServiceCode,
    ShippingMethod,
    SkuAlias,
)
from reconciliation.demo import build_demo_bundle
from reconciliation.frames import Bundle
from reconciliation.runs import reconcile_bundle_object
from tests.integration.conftest import AS_OF, BAD_POSTCODE, DEMO_ORDERS, NO_PHONE

ROLES = ("anonymous", "nobody", "finance", "cx", "ops", "warehouse", "admin")
# Tables whose writes are not the application's doing: the session a sign-in makes.
UNWATCHED_TABLES = frozenset({"django_session"})


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The production hasher is deliberately slow; these tests sign in many times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def security_bundle() -> Bundle:
    return build_demo_bundle(orders=DEMO_ORDERS, as_of=AS_OF)


@pytest.fixture(scope="session")
def woocommerce(security_bundle: Bundle) -> Iterator[Simulator]:
    simulator = start_simulator("woocommerce", security_bundle)
    yield simulator
    simulator.stop()


@dataclass
class World:
    """The objects behind the URL parameters; `args` maps each placeholder to its value."""

    office: ExceptionRecord
    warehouse: ExceptionRecord
    held: str  # a held order's origin, still held
    released: str  # an order released (so no longer held); the release failed
    connection: Connection
    sync_run: SyncRun
    route: AlertRoute
    delivery: AlertDelivery  # a failed one: it may be tried again
    method: ShippingMethod
    service: ServiceCode  # used by no method: it may be deleted
    alias: SkuAlias
    non_stock: NonStockSku
    recheck: Recheck
    users: dict[str, AbstractUser | None] = field(default_factory=dict)
    month: str = "2026-11"

    @property
    def args(self) -> dict[str, str]:
        return {
            "office": str(self.office.pk),
            "warehouse": str(self.warehouse.pk),
            "held": self.held,
            "released": self.released,
            "release": str(releases_of(self.released)),
            "connection": str(self.connection.pk),
            "sync_run": str(self.sync_run.pk),
            "route": str(self.route.pk),
            "delivery": str(self.delivery.pk),
            "method": str(self.method.pk),
            "service": str(self.service.pk),
            "alias": str(self.alias.pk),
            "non_stock": str(self.non_stock.pk),
            "recheck": str(self.recheck.pk),
            "month": self.month,
        }


def releases_of(origin: str) -> int:
    return OrderRelease.objects.get(origin=origin).pk


@pytest.fixture
def nobody_user(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    """Signed in, in no role group: sees nothing."""
    return make_user("nemo", first_name="Nemo")


@pytest.fixture
def cast(
    nobody_user: AbstractUser,
    finance_user: AbstractUser,
    cx_user: AbstractUser,
    ops_user: AbstractUser,
    warehouse_user: AbstractUser,
    admin_user: AbstractUser,
) -> dict[str, AbstractUser | None]:
    """Role name (as in the URL table's header) -> its user; anonymous is None."""
    return {
        "anonymous": None,
        "nobody": nobody_user,
        "finance": finance_user,
        "cx": cx_user,
        "ops": ops_user,
        "warehouse": warehouse_user,
        "admin": admin_user,
    }


def client_for(user: AbstractUser | None, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(
    db: None,
    security_bundle: Bundle,
    woocommerce: Simulator,
    cast: dict[str, AbstractUser | None],
) -> World:
    ops = cast["ops"]
    reconcile_bundle_object(security_bundle, source="bundle", source_name="demo (security)")
    open_ = ExceptionRecord.objects.filter(status="open").order_by("id")
    office = open_.filter(owner="office").first()
    warehouse = open_.filter(owner="warehouse").first()
    assert office is not None
    assert warehouse is not None

    # One order released (it leaves the held list; its release may be sent again), one still held.
    details = held_orders.delivery_of(held_orders.held_order(NO_PHONE))
    release = releases.release_order(ops, NO_PHONE, {**details, "ship_phone": "07700 900123"})
    # Failed at the warehouse: "Send again" is offered and does something.
    OrderRelease.objects.filter(pk=release.pk).update(status="failed", last_error="timed out")
    assert held_orders.held_order(BAD_POSTCODE) is not None

    service = mappings.save_service(ops, "SPARE", express=False, description="unused")
    mappings.save_shipping_method(ops, "Courier Next Day", "NXT", express=True)
    mappings.save_alias(ops, "wms", "mug-1", "MUG1")
    mappings.save_non_stock(ops, "GIFTWRAP", "Gift wrap")

    conn = Connection(name="Shop", kind="woocommerce", role="store", base_url=woocommerce.url)
    conn.set_credentials(dict(woocommerce.app.credentials))
    conn.save()
    route = AlertRoute.objects.create(name="Ops desk", team="ops", emails="ops@example.com")
    return World(
        office=office,
        warehouse=warehouse,
        held=BAD_POSTCODE,
        released=NO_PHONE,
        connection=conn,
        sync_run=SyncRun.objects.create(connection=conn, state="complete", records_done=3),
        route=route,
        delivery=AlertDelivery.objects.create(
            route=route, kind="digest", channel="email", status="failed", last_error="refused"
        ),
        method=ShippingMethod.objects.get(name="Courier Next Day"),
        service=service
        if isinstance(service, ServiceCode)
        else ServiceCode.objects.get(code="SPARE"),
        alias=SkuAlias.objects.get(role="wms", sku="mug-1"),
        non_stock=NonStockSku.objects.get(sku="GIFTWRAP"),
        recheck=Recheck.objects.create(
            requested_by=ops, status="complete", finished_at=datetime(2026, 11, 30, tzinfo=UTC)
        ),
        users=cast,
    )


def watched_tables() -> list[str]:
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
    return sorted(set(names) - UNWATCHED_TABLES)


def db_state() -> dict[str, tuple[int, str]]:
    """table -> (row count, md5 of its rows in a fixed order), in one query."""
    parts = [
        f"SELECT '{name}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
        f' FROM "{name}" t'
        for name in watched_tables()
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {name: (count, digest) for name, count, digest in cursor.fetchall()}


def changed_tables(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
