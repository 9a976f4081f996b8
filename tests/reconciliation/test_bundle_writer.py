"""write_bundle: the canonical on-disk form, and reading it back gives the same bundle."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from reconciliation.bundle import read_bundle, write_bundle
from reconciliation.bundle.writer import frame_csv
from reconciliation.frames import Bundle, empty_frame, money_str
from tests.bundles import make_bundle

PLACED = "2026-11-30T10:00:00Z"


def full_bundle(tmp_path: Path) -> Bundle:
    return make_bundle(
        tmp_path,
        systems={
            "store": "woocommerce",
            "erp": {"kind": "prima", "taken_at": "2026-11-30T23:50:00+00:00"},
            "wms": {"kind": "whistl", "taken_at": "2026-11-30T23:52:00.5Z"},
        },
        config={"dispatch_sla_hours": 24, "shipping_methods": {"Next day": "NDA"}},
        sku_map=[{"role": "wms", "sku": "mug-1", "canonical_sku": "MUG1"}],
        files={
            "store/orders.csv": [
                {
                    "order_ref": "W1",
                    "status": "open",
                    "placed_at": "2026-11-30T10:00:00",
                    "updated_at": "2026-11-30T10:00:00.123456789+01:00",
                    "net_total": "10",
                    "tax_total": "2.0050",
                    "gross_total": "-0.5",
                    "ship_line1": 'Flat 2, "The Mill"',
                    "ship_line2": "Line\nbreak",
                    "channel": "web",
                },
                {"order_ref": "W2", "status": "held", "placed_at": PLACED, "channel": ""},
            ],
            "store/order_lines.csv": [
                {
                    "order_ref": "W1",
                    "line_no": "1",
                    "sku": "MUG1",
                    "quantity": "2",
                    "tax_rate": "0.2",
                },
                {"order_ref": "W2", "line_no": "1", "sku": "MUG1", "quantity": "1", "tax_rate": ""},
            ],
            "store/products.csv": [
                {"sku": "MUG1", "unit_cost": "1.2345", "is_stock_item": "yes"},
                {"sku": "WRAP", "unit_cost": "0", "is_stock_item": "no"},
            ],
            "wms/stock.csv": [
                {"sku": "mug-1", "on_hand": "-3", "allocated": "1"},
                {"sku": "cup", "on_hand": "4", "allocated": "1", "available": "2"},
            ],
            "wms/adjustments.csv": [
                {"adjustment_ref": "J1", "sku": "mug-1", "delta": "-2", "occurred_at": PLACED}
            ],
            "erp/orders.csv": [],
            "erp/shipments.csv": [],
        },
    )


def assert_same_bundle(read_back: Bundle, original: Bundle) -> None:
    assert read_back.as_of == original.as_of
    assert read_back.currency == original.currency
    assert read_back.config == original.config
    pd.testing.assert_frame_equal(read_back.sku_map, original.sku_map)
    assert list(read_back.roles) == list(original.roles)
    for role, snapshot in original.roles.items():
        again = read_back.roles[role]
        assert (again.kind, again.taken_at) == (snapshot.kind, snapshot.taken_at)
        assert list(again.frames) == list(snapshot.frames)
        for file, frame in snapshot.frames.items():
            pd.testing.assert_frame_equal(again.frames[file], frame)


def test_writing_then_reading_gives_the_same_bundle(tmp_path: Path) -> None:
    original = full_bundle(tmp_path)

    written = write_bundle(original, tmp_path / "out")

    assert written == tmp_path / "out"
    assert_same_bundle(read_bundle(written), original)


def test_a_zip_path_writes_a_zip_with_the_bundle_at_its_root(tmp_path: Path) -> None:
    original = full_bundle(tmp_path)

    written = write_bundle(original, tmp_path / "out.zip")

    with zipfile.ZipFile(written) as archive:
        assert sorted(archive.namelist()) == [
            "bundle.json",
            "config.json",
            "erp/orders.csv",
            "erp/shipments.csv",
            "sku_map.csv",
            "store/order_lines.csv",
            "store/orders.csv",
            "store/products.csv",
            "wms/adjustments.csv",
            "wms/stock.csv",
        ]
    assert_same_bundle(read_bundle(written), original)


def test_the_manifest_has_utc_timestamps_with_z(tmp_path: Path) -> None:
    written = write_bundle(full_bundle(tmp_path), tmp_path / "out")

    assert json.loads((written / "bundle.json").read_text()) == {
        "as_of": "2026-11-30T23:59:00Z",
        "currency": "GBP",
        "systems": {
            "store": {"kind": "woocommerce", "taken_at": "2026-11-30T23:59:00Z"},
            "erp": {"kind": "prima", "taken_at": "2026-11-30T23:50:00Z"},
            "wms": {"kind": "whistl", "taken_at": "2026-11-30T23:52:00.5Z"},
        },
    }
    assert json.loads((written / "config.json").read_text()) == {
        "dispatch_sla_hours": 24,
        "shipping_methods": {"Next day": "NDA"},
    }


def test_csv_cells_are_canonical_text(tmp_path: Path) -> None:
    written = write_bundle(full_bundle(tmp_path), tmp_path / "out")

    orders = (written / "store/orders.csv").read_text()
    assert orders.splitlines()[0] == (
        "order_ref,source_ref,status,hold_reason,placed_at,updated_at,net_total,tax_total,"
        "gross_total,shipping_total,discount_total,shipping_method,ship_name,ship_line1,ship_line2,"
        "ship_city,ship_postcode,ship_country,ship_phone,email,channel"
    )
    assert '"W1",,"open",,"2026-11-30T10:00:00Z","2026-11-30T09:00:00.123456789Z",' in orders
    assert ',"10.00","2.005","-0.50",' in orders
    assert '"Flat 2, ""The Mill""","Line\nbreak"' in orders
    assert (written / "store/products.csv").read_text() == (
        "sku,name,barcode,unit_cost,is_stock_item\nMUG1,,,1.2345,true\nWRAP,,,0.00,false\n"
    )
    assert (written / "wms/stock.csv").read_text() == (
        "sku,location,on_hand,allocated,available\nmug-1,,-3,1,-4\ncup,,4,1,2\n"
    )
    assert (written / "sku_map.csv").read_text() == "role,sku,canonical_sku\nwms,mug-1,MUG1\n"
    assert (written / "erp/orders.csv").read_text().count("\n") == 1


def test_money_is_written_like_money_str() -> None:
    amounts = [0, 1, 10, 100, 1_000, 5_000, 10_000, 125_000, 12_345, -1, -5_000, -12_345_678]
    frame = empty_frame("products").reindex(range(len(amounts)))
    frame["sku"] = pd.array([f"S{i}" for i in range(len(amounts))], dtype=frame["sku"].dtype)
    frame["unit_cost"] = pd.array(amounts, dtype="Int64")

    lines = frame_csv("products", frame).decode().splitlines()[1:]

    assert [line.split(",")[3] for line in lines] == [money_str(amount) for amount in amounts]
    assert [line.split(",")[3] for line in lines] == [
        "0.00",
        "0.0001",
        "0.001",
        "0.01",
        "0.10",
        "0.50",
        "1.00",
        "12.50",
        "1.2345",
        "-0.0001",
        "-0.50",
        "-1234.5678",
    ]


def test_an_empty_config_and_sku_map_are_not_written(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, systems={"store": "woo"})

    written = write_bundle(bundle, tmp_path / "out")

    assert sorted(p.relative_to(written).as_posix() for p in written.rglob("*")) == [
        "bundle.json",
        "store",
    ]
    assert read_bundle(written).roles["store"].frames == {}


def test_it_refuses_to_write_over_another_bundle(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, systems={"store": "woo"})
    write_bundle(bundle, tmp_path / "out")
    write_bundle(bundle, tmp_path / "out.zip")

    with pytest.raises(FileExistsError):
        write_bundle(bundle, tmp_path / "out")
    with pytest.raises(FileExistsError):
        write_bundle(bundle, tmp_path / "out.zip")
