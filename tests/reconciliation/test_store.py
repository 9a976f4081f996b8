import logging
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.db import IntegrityError, connection

from reconciliation import store
from reconciliation.frames import FILES, PANDAS_DTYPES, SCHEMAS
from reconciliation.models import (
    InvalidTransition,
    Snapshot,
    SnapshotOrder,
    SnapshotOrderLine,
    SnapshotProduct,
)
from reconciliation.store import (
    SnapshotImmutable,
    add_rows,
    latest_complete_snapshots,
    load_bundle,
    save_snapshots,
)
from tests.bundles import make_bundle
from tests.reconciliation.conftest import AS_OF, edge_bundle, frame, small_bundle_files

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="checks the PostgreSQL COPY path"
)


@pytest.fixture(params=["copy", "orm"])
def storage_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each round trip runs through COPY (PostgreSQL) and through the portable ORM path."""
    if request.param == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY needs PostgreSQL")
    if request.param == "orm":
        monkeypatch.setattr(store, "use_copy", lambda: False)
    return request.param


def reload(snapshots: list[Snapshot], bundle: object) -> object:
    return load_bundle(
        snapshots,
        as_of=bundle.as_of,
        currency=bundle.currency,
        config=bundle.config,
        sku_map=store.sku_map_records(bundle.sku_map),
    )


def assert_same_bundle(loaded: object, original: object) -> None:
    assert loaded.as_of == original.as_of
    assert loaded.currency == original.currency
    assert loaded.config == original.config
    assert list(loaded.roles) == list(original.roles)
    for role, snapshot in original.roles.items():
        assert loaded.roles[role].kind == snapshot.kind
        assert loaded.roles[role].taken_at == snapshot.taken_at
        present = {file: f for file, f in snapshot.frames.items() if f is not None}
        assert list(loaded.roles[role].frames) == list(present)
        for file, original_frame in present.items():
            pd.testing.assert_frame_equal(
                loaded.roles[role].frames[file], original_frame.reset_index(drop=True)
            )
    if original.sku_map is None:
        assert loaded.sku_map is None
    else:
        pd.testing.assert_frame_equal(loaded.sku_map, original.sku_map)


def test_edge_values_round_trip_exactly(storage_path: str) -> None:
    bundle = edge_bundle()

    snapshots = save_snapshots(bundle, source="bundle", source_name="edge")

    assert_same_bundle(reload(snapshots, bundle), bundle)


def test_a_bundle_read_from_csv_round_trips(storage_path: str, tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path, systems={"store": "woocommerce", "erp": "prima"}, files=small_bundle_files()
    )

    snapshots = save_snapshots(bundle, source="bundle", source_name=str(tmp_path))

    assert_same_bundle(reload(snapshots, bundle), bundle)


def test_money_is_stored_as_exact_decimals(storage_path: str) -> None:
    save_snapshots(edge_bundle(), source="bundle", source_name="edge")

    order = SnapshotOrder.objects.get(order_ref="W1")
    assert order.net_total == Decimal("12.5000")
    assert order.tax_total == Decimal("-0.0001")
    assert order.gross_total == Decimal("99999999999.9999")
    assert order.shipping_total == Decimal("0.0000")
    assert order.discount_total is None
    assert SnapshotProduct.objects.get(sku="MUG1").unit_cost == Decimal("4.1500")
    assert SnapshotOrderLine.objects.get(line_no="2").unit_price == Decimal("0.0001")


@postgresql_only
def test_postgresql_keeps_the_full_eighteen_digits() -> None:
    bundle = edge_bundle()
    orders = bundle.roles["store"].frames["orders"]
    orders.loc[0, "gross_total"] = 999_999_999_999_999_999  # the largest numeric(18, 4)
    orders.loc[1, "gross_total"] = -999_999_999_999_999_999

    (store_snapshot, *_) = save_snapshots(bundle, source="bundle", source_name="edge")

    assert list(SnapshotOrder.objects.order_by("id").values_list("gross_total", flat=True)) == [
        Decimal("99999999999999.9999"),
        Decimal("-99999999999999.9999"),
    ]
    pd.testing.assert_frame_equal(store.load_frame(store_snapshot, "orders"), orders)


def test_extra_columns_are_kept_as_json_in_file_order(storage_path: str) -> None:
    snapshots = save_snapshots(edge_bundle(), source="bundle", source_name="edge")

    store_snapshot = next(s for s in snapshots if s.role == "store")
    assert store_snapshot.extra_columns == {"orders": ["channel", "gift"]}
    extras = dict(SnapshotOrder.objects.values_list("order_ref", "extra"))
    assert extras == {"W1": {"channel": "web", "gift": None}, "W2": {"channel": None, "gift": None}}
    # No extra columns in the file: no JSON at all.
    assert set(SnapshotOrderLine.objects.values_list("extra", flat=True)) == {None}
    loaded = store.load_frame(store_snapshot, "orders")
    assert list(loaded.columns) == [*SCHEMAS["orders"], "channel", "gift"]
    assert loaded["channel"].tolist() == ["web", pd.NA]


def test_snapshots_record_what_was_saved(storage_path: str) -> None:
    snapshots = save_snapshots(edge_bundle(), source="bundle", source_name="edge.zip")

    assert [(s.role, s.kind, s.status, s.row_counts) for s in snapshots] == [
        ("store", "woocommerce", "complete", {"orders": 2, "order_lines": 2}),
        ("erp", "prima", "complete", {"products": 3, "stock": 1, "adjustments": 1}),
        ("wms", "whistl", "complete", {"shipments": 1}),
    ]
    assert {(s.source, s.source_name) for s in snapshots} == {("bundle", "edge.zip")}


def test_a_file_with_no_rows_is_present_and_empty(storage_path: str) -> None:
    bundle = edge_bundle()
    bundle.roles["wms"].frames["stock"] = frame("stock", [])

    (*_, wms) = save_snapshots(bundle, source="bundle", source_name="edge")

    assert wms.row_counts == {"shipments": 1, "stock": 0}
    loaded = store.load_frame(wms, "stock")
    assert len(loaded) == 0
    assert loaded.dtypes.to_dict() == {
        col: pd.Series(dtype=PANDAS_DTYPES[kind]).dtype for col, kind in SCHEMAS["stock"].items()
    }


@postgresql_only
def test_postgresql_saves_and_loads_through_copy(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciliation.store")

    save_snapshots(edge_bundle(), source="bundle", source_name="edge")

    copies = sorted(r.getMessage().split(" for ")[0] for r in caplog.records)
    assert copies == [
        "COPY 1 rows into adjustments",
        "COPY 1 rows into shipments",
        "COPY 1 rows into stock",
        "COPY 2 rows into order_lines",
        "COPY 2 rows into orders",
        "COPY 3 rows into products",
    ]


def test_a_failing_save_saves_nothing(storage_path: str) -> None:
    bundle = edge_bundle()
    # The wms file is written last; a missing required value makes the database refuse it.
    bundle.roles["wms"].frames["shipments"].loc[0, "order_ref"] = pd.NA

    with pytest.raises(IntegrityError):
        save_snapshots(bundle, source="bundle", source_name="edge")

    assert Snapshot.objects.count() == 0
    assert SnapshotOrder.objects.count() == 0
    assert SnapshotProduct.objects.count() == 0


def test_rows_of_a_complete_snapshot_cannot_change(storage_path: str) -> None:
    (store_snapshot, *_) = save_snapshots(edge_bundle(), source="bundle", source_name="edge")
    more = frame("orders", [{"order_ref": "W9", "status": "open", "placed_at": AS_OF}])

    with pytest.raises(SnapshotImmutable, match="is complete"):
        add_rows(store_snapshot, "orders", more)

    assert SnapshotOrder.objects.filter(snapshot=store_snapshot).count() == 2


def test_a_stale_instance_cannot_write_to_a_completed_snapshot() -> None:
    snapshot = Snapshot.objects.create(role="wms", taken_at=pd.Timestamp(AS_OF), source="bundle")
    Snapshot.objects.filter(pk=snapshot.pk).update(status=Snapshot.Status.COMPLETE)
    rows = frame("stock", [{"sku": "MUG1", "on_hand": 1}])

    with pytest.raises(SnapshotImmutable):
        add_rows(snapshot, "stock", rows)

    assert snapshot.status == Snapshot.Status.LOADING  # the stale copy still thinks so


def test_a_snapshot_completes_or_fails_once() -> None:
    snapshot = Snapshot.objects.create(role="wms", taken_at=pd.Timestamp(AS_OF), source="bundle")
    snapshot.mark_failed("connector timed out")

    with pytest.raises(InvalidTransition):
        snapshot.mark_complete({})

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.error) == ("failed", "connector timed out")


def test_latest_complete_snapshots_picks_the_newest_complete_per_role() -> None:
    older = edge_bundle()
    newer = edge_bundle()
    for role_snapshot in newer.roles.values():
        role_snapshot.taken_at = pd.Timestamp("2026-12-01T08:00:00Z")
    del newer.roles["wms"]
    old = {s.role: s for s in save_snapshots(older, source="bundle", source_name="old")}
    new = {s.role: s for s in save_snapshots(newer, source="bundle", source_name="new")}
    Snapshot.objects.create(
        role="erp", taken_at=pd.Timestamp("2026-12-02T00:00:00Z"), source="connector"
    )  # still loading

    assert latest_complete_snapshots() == {
        "store": new["store"],
        "erp": new["erp"],
        "wms": old["wms"],
    }


def test_load_bundle_orders_roles_and_accepts_stored_sku_maps() -> None:
    snapshots = save_snapshots(edge_bundle(), source="bundle", source_name="edge")

    loaded = load_bundle(
        list(reversed(snapshots)), as_of="2026-11-30T23:59:00", currency="EUR", sku_map=[]
    )

    assert loaded.pipeline == ["store", "erp", "wms"]
    assert loaded.as_of == pd.Timestamp(AS_OF)
    assert loaded.sku_map is None
    assert set(FILES) == {f for role in loaded.roles.values() for f in role.frames}


def test_rows_added_in_pages_load_back_in_order_with_every_extra_column(storage_path: str) -> None:
    snapshot = Snapshot.objects.create(
        role="store", taken_at=pd.Timestamp(AS_OF), source="connector"
    )
    first = frame("stock", [{"sku": "A", "on_hand": 1, "bin": "X1"}], extras=("bin",))
    second = frame("stock", [{"sku": "B", "on_hand": 2, "zone": "cold"}], extras=("zone",))

    assert add_rows(snapshot, "stock", first) == 1
    assert add_rows(snapshot, "stock", second) == 1
    snapshot.mark_complete({"stock": 2})

    loaded = store.load_frame(Snapshot.objects.get(pk=snapshot.pk), "stock")
    assert loaded["sku"].tolist() == ["A", "B"]
    assert loaded["bin"].tolist() == ["X1", pd.NA]
    assert loaded["zone"].tolist() == [pd.NA, "cold"]
