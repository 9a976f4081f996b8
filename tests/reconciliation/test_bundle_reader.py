"""read_bundle on good input: layouts, CSV dialect, types and defaults."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from reconciliation.bundle import BundleError, read_bundle
from reconciliation.frames import PANDAS_DTYPES, SCHEMAS
from tests.bundles import make_bundle, write_bundle_dir, write_raw

AS_OF = "2026-11-30T23:59:00Z"
ORDER = {"order_ref": "W1", "status": "open", "placed_at": "2026-11-30T10:00:00Z"}


def zip_dir(source: Path, target: Path, *, folder: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, folder + path.relative_to(source).as_posix())
    return target


def test_it_reads_the_manifest(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path,
        as_of="2026-11-30T23:59:00",
        currency="gbp",
        systems={
            "store": "woocommerce",
            "wms": {"kind": "whistl", "taken_at": "2026-11-30T23:52:00+01:00"},
        },
    )

    assert bundle.as_of == pd.Timestamp("2026-11-30T23:59:00", tz="UTC")
    assert bundle.currency == "GBP"
    assert bundle.pipeline == ["store", "wms"]
    assert bundle.roles["store"].kind == "woocommerce"
    assert bundle.roles["store"].taken_at == bundle.as_of
    assert bundle.roles["wms"].kind == "whistl"
    assert bundle.roles["wms"].taken_at == pd.Timestamp("2026-11-30T22:52:00", tz="UTC")
    assert bundle.roles["store"].frames == {}
    assert bundle.sku_map is None
    assert bundle.config == {}
    assert bundle.source == str(tmp_path / "bundle")


def test_a_system_object_without_taken_at_is_taken_at_as_of(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, systems={"erp": {"kind": "prima"}})

    assert bundle.roles["erp"].taken_at == pd.Timestamp(AS_OF)


def test_it_keeps_the_raw_config(tmp_path: Path) -> None:
    config = {"dispatch_sla_hours": 24, "money_tolerance": "0.01", "my_tool_flag": True}

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, config=config)

    assert bundle.config == config


def test_missing_optional_files_are_fine(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path,
        systems={"store": "woo", "erp": "prima"},
        files={"erp/stock.csv": [{"sku": "A1", "on_hand": "3"}]},
    )

    assert list(bundle.roles["erp"].frames) == ["stock"]
    assert bundle.frame("erp", "orders") is None
    assert not bundle.roles["erp"].has("orders")
    assert bundle.roles["store"].frames == {}


@pytest.mark.parametrize("file", list(SCHEMAS))
def test_every_file_gets_its_canonical_columns_and_dtypes(tmp_path: Path, file: str) -> None:
    files = {"store/orders.csv": [], f"store/{file}.csv": []}

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files=files)

    frame = bundle.frame("store", file)
    assert list(frame.columns) == list(SCHEMAS[file])
    assert {column: str(dtype) for column, dtype in frame.dtypes.items()} == {
        column: str(PANDAS_DTYPES[kind]) for column, kind in SCHEMAS[file].items()
    }
    assert len(frame) == 0


def test_missing_optional_columns_are_all_na(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files={"store/orders.csv": [ORDER]})

    orders = bundle.frame("store", "orders")
    assert orders["net_total"].isna().all()
    assert str(orders["net_total"].dtype) == "Int64"
    assert orders["updated_at"].isna().all()
    assert str(orders["updated_at"].dtype) == "datetime64[ns, UTC]"
    assert orders["email"].isna().all()
    assert orders["email"].dtype == PANDAS_DTYPES["text"]


def test_column_order_is_free_and_extra_columns_are_kept_as_text(tmp_path: Path) -> None:
    rows = [
        {
            "channel": "web",
            "placed_at": "2026-11-30T10:00:00Z",
            "status": "open",
            "order_ref": "W1",
        },
        {"channel": "", "placed_at": "2026-11-30T11:00:00Z", "status": "open", "order_ref": "W2"},
    ]

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files={"store/orders.csv": rows})

    orders = bundle.frame("store", "orders")
    assert list(orders.columns) == [*SCHEMAS["orders"], "channel"]
    assert orders["channel"].dtype == PANDAS_DTYPES["text"]
    assert orders["channel"].tolist() == ["web", pd.NA]
    assert orders["order_ref"].tolist() == ["W1", "W2"]


def test_it_reads_a_zip_with_the_bundle_at_its_root(tmp_path: Path) -> None:
    folder = write_bundle_dir(
        tmp_path / "bundle", systems={"store": "woo"}, files={"store/orders.csv": [ORDER]}
    )

    bundle = read_bundle(zip_dir(folder, tmp_path / "bundle.zip"))

    assert bundle.frame("store", "orders")["order_ref"].tolist() == ["W1"]
    assert bundle.source == str(tmp_path / "bundle.zip")


def test_it_reads_a_zip_with_the_bundle_one_level_down(tmp_path: Path) -> None:
    folder = write_bundle_dir(
        tmp_path / "bundle", systems={"store": "woo"}, files={"store/orders.csv": [ORDER]}
    )
    archive = zip_dir(folder, tmp_path / "bundle.zip", folder="export-2026-11-30/")
    with zipfile.ZipFile(archive, "a") as handle:
        handle.writestr("__MACOSX/export-2026-11-30/._bundle.json", b"\x00\x05")

    bundle = read_bundle(archive)

    assert bundle.frame("store", "orders")["order_ref"].tolist() == ["W1"]


def test_it_reads_a_utf8_bom_and_crlf_line_ends(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "bundle", systems={"store": "woo"})
    text = "order_ref,status,placed_at\r\nW1,open,2026-11-30T10:00:00Z\r\nW2,open,2026-11-30\r\n"
    write_raw(root, "store/orders.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))

    orders = read_bundle(root).frame("store", "orders")

    assert orders["order_ref"].tolist() == ["W1", "W2"]
    assert orders["placed_at"].tolist() == [
        pd.Timestamp("2026-11-30T10:00:00", tz="UTC"),
        pd.Timestamp("2026-11-30T00:00:00", tz="UTC"),
    ]


def test_quoted_commas_quotes_and_newlines_stay_inside_their_cell(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "bundle", systems={"store": "woo"})
    write_raw(
        root,
        "store/orders.csv",
        "order_ref,status,placed_at,ship_line1,ship_name\n"
        'W1,open,2026-11-30T10:00:00Z,"Flat 2, 5 High St","Ann ""Nan"" Lee"\n'
        'W2,open,2026-11-30T10:00:00Z,"Unit 4\nMill Lane",Bo\n',
    )

    orders = read_bundle(root).frame("store", "orders")

    assert orders["ship_line1"].tolist() == ["Flat 2, 5 High St", "Unit 4\nMill Lane"]
    assert orders["ship_name"].tolist() == ['Ann "Nan" Lee', "Bo"]


def test_text_is_trimmed_and_empty_or_blank_cells_are_na(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "bundle", systems={"store": "woo"})
    write_raw(
        root,
        "store/orders.csv",
        "order_ref, status ,placed_at,ship_city,email\n"
        ' W1 ,open,2026-11-30T10:00:00Z,"  Leeds ",""\n'
        "W2,open,2026-11-30T10:00:00Z,\u00a0York\t,   \n",
    )

    orders = read_bundle(root).frame("store", "orders")

    assert orders["order_ref"].tolist() == ["W1", "W2"]
    assert orders["ship_city"].tolist() == ["Leeds", "York"]
    assert orders["email"].tolist() == [pd.NA, pd.NA]


def test_words_like_na_and_null_are_text_not_missing(tmp_path: Path) -> None:
    rows = [{**ORDER, "order_ref": ref} for ref in ("NA", "null", "NaN", "N/A")]

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files={"store/orders.csv": rows})

    assert bundle.frame("store", "orders")["order_ref"].tolist() == ["NA", "null", "NaN", "N/A"]


def test_blank_records_are_skipped_and_later_lines_keep_their_numbers(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "bundle", systems={"store": "woo"})
    write_raw(
        root,
        "store/orders.csv",
        "order_ref,status,placed_at\n"
        "W1,open,2026-11-30T10:00:00Z\n"
        ",,\n"
        "\n"
        "W2,shiped,2026-11-30T10:00:00Z\n"
        ",,\n",
    )

    with pytest.raises(BundleError) as caught:
        read_bundle(root)

    assert [str(p) for p in caught.value.problems] == [
        "store/orders.csv line 5: status 'shiped' is not a canonical status"
    ]


def test_statuses_are_accepted_in_any_case_and_stored_lower_case(tmp_path: Path) -> None:
    rows = [
        {**ORDER, "order_ref": "W1", "status": "Dispatched"},
        {**ORDER, "order_ref": "W2", "status": " IN_PROGRESS "},
        {**ORDER, "order_ref": "W3", "status": "partially_dispatched"},
    ]

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files={"store/orders.csv": rows})

    statuses = bundle.frame("store", "orders")["status"].tolist()
    assert statuses == ["dispatched", "in_progress", "partially_dispatched"]


def test_money_is_exact_ten_thousandths(tmp_path: Path) -> None:
    amounts = [
        "0.1",
        "0.2",
        "0.3",
        "-1.2345",
        "12",
        "12.50",
        "-0.0001",
        "0",
        "-0",
        "99999999999999",
    ]
    rows = [
        {**ORDER, "order_ref": f"W{i}", "net_total": amount} for i, amount in enumerate(amounts)
    ]

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files={"store/orders.csv": rows})

    net = bundle.frame("store", "orders")["net_total"]
    assert net.tolist() == [
        1_000,
        2_000,
        3_000,
        -12_345,
        120_000,
        125_000,
        -1,
        0,
        0,
        999_999_999_999_990_000,
    ]
    assert net[0] + net[1] == net[2]


def test_timestamps_are_utc_naive_ones_taken_as_utc(tmp_path: Path) -> None:
    stamps = [
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:00:00",
        "2026-11-30T10:00:00+01:00",
        "2026-11-30T10:00:00.250-05:30",
        "2026-11-30 10:00",
    ]
    rows = [{**ORDER, "order_ref": f"W{i}", "updated_at": s} for i, s in enumerate(stamps)]

    bundle = make_bundle(tmp_path, systems={"store": "woo"}, files={"store/orders.csv": rows})

    assert bundle.frame("store", "orders")["updated_at"].tolist() == [
        pd.Timestamp("2026-11-30T10:00:00", tz="UTC"),
        pd.Timestamp("2026-11-30T10:00:00", tz="UTC"),
        pd.Timestamp("2026-11-30T09:00:00", tz="UTC"),
        pd.Timestamp("2026-11-30T15:30:00.250", tz="UTC"),
        pd.Timestamp("2026-11-30T10:00:00", tz="UTC"),
    ]


def test_integers_floats_and_booleans(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path,
        systems={"store": "woo"},
        files={
            "store/orders.csv": [ORDER],
            "store/order_lines.csv": [
                {"order_ref": "W1", "line_no": "1", "sku": "A", "quantity": "3", "tax_rate": "0.2"},
                {"order_ref": "W1", "line_no": "2", "sku": "B", "quantity": "0", "tax_rate": ""},
            ],
            "store/products.csv": [
                {"sku": sku, "is_stock_item": flag}
                for sku, flag in [
                    ("A", "TRUE"),
                    ("B", "no"),
                    ("C", "Yes"),
                    ("D", "0"),
                    ("E", "1"),
                    ("F", "False"),
                    ("G", ""),
                ]
            ],
        },
    )

    lines = bundle.frame("store", "order_lines")
    assert lines["quantity"].tolist() == [3, 0]
    assert lines["tax_rate"].tolist() == [0.2, pd.NA]
    assert lines["line_no"].tolist() == ["1", "2"]
    flags = bundle.frame("store", "products")["is_stock_item"].tolist()
    assert flags == [True, False, True, False, True, False, True]


def test_is_stock_item_defaults_to_true_when_the_column_is_missing(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path, systems={"erp": "prima"}, files={"erp/products.csv": [{"sku": "A"}]}
    )

    assert bundle.frame("erp", "products")["is_stock_item"].tolist() == [True]


def test_available_defaults_to_on_hand_minus_allocated_cell_by_cell(tmp_path: Path) -> None:
    rows = [
        {"sku": "A", "location": "L1", "on_hand": "10", "allocated": "3", "available": ""},
        {"sku": "A", "location": "L2", "on_hand": "-2", "allocated": "1", "available": "5"},
        {"sku": "B", "location": "L1", "on_hand": "4", "allocated": "", "available": ""},
    ]

    bundle = make_bundle(tmp_path, systems={"wms": "whistl"}, files={"wms/stock.csv": rows})

    assert bundle.frame("wms", "stock")["available"].tolist() == [7, 5, pd.NA]


def test_available_is_derived_when_the_column_is_missing(tmp_path: Path) -> None:
    rows = [{"sku": "A", "on_hand": "10", "allocated": "4"}, {"sku": "B", "on_hand": "-1"}]

    bundle = make_bundle(tmp_path, systems={"wms": "whistl"}, files={"wms/stock.csv": rows})

    stock = bundle.frame("wms", "stock")
    assert stock["available"].tolist() == [6, pd.NA]
    assert str(stock["available"].dtype) == "Int64"


def test_negative_on_hand_available_and_delta_are_allowed(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path,
        systems={"wms": "whistl"},
        files={
            "wms/stock.csv": [{"sku": "A", "on_hand": "-3", "allocated": "0", "available": "-5"}],
            "wms/adjustments.csv": [
                {
                    "adjustment_ref": "ADJ1",
                    "sku": "A",
                    "delta": "-4",
                    "occurred_at": "2026-11-30T08:00:00Z",
                }
            ],
        },
    )

    assert bundle.frame("wms", "stock")["on_hand"].tolist() == [-3]
    assert bundle.frame("wms", "adjustments")["delta"].tolist() == [-4]


def test_it_reads_the_sku_map(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path,
        systems={"store": "woo", "wms": "whistl"},
        sku_map=[
            {"role": "wms", "sku": "mug-1", "canonical_sku": "MUG1"},
            {"role": "Store", "sku": "mug-1", "canonical_sku": "MUG1"},
        ],
    )

    assert bundle.sku_map.to_dict("list") == {
        "role": ["wms", "store"],
        "sku": ["mug-1", "mug-1"],
        "canonical_sku": ["MUG1", "MUG1"],
    }


def test_lines_and_shipments_reference_their_roles_orders(tmp_path: Path) -> None:
    bundle = make_bundle(
        tmp_path,
        systems={"wms": "whistl"},
        files={
            "wms/orders.csv": [ORDER],
            "wms/order_lines.csv": [{"order_ref": "W1", "line_no": "1", "sku": "A", "quantity": 1}],
            "wms/shipments.csv": [
                {"order_ref": "W1", "shipment_ref": "P1", "sku": "A", "quantity": 1},
                {"order_ref": "W1", "shipment_ref": "P1", "sku": "A", "quantity": 1},
            ],
        },
    )

    assert bundle.frame("wms", "shipments")["quantity"].tolist() == [1, 1]


def test_hidden_files_and_other_files_are_ignored(tmp_path: Path) -> None:
    root = write_bundle_dir(
        tmp_path / "bundle", systems={"store": "woo"}, files={"store/orders.csv": [ORDER]}
    )
    write_raw(root, "README.txt", "exported by hand")
    write_raw(root, "store/.orders.csv.swp", "x")
    write_raw(root, ".git/config", "x")
    write_raw(root, "notes/readme.md", "x")

    assert read_bundle(root).frame("store", "orders")["order_ref"].tolist() == ["W1"]


def test_a_string_path_works_and_reading_twice_gives_equal_frames(tmp_path: Path) -> None:
    root = write_bundle_dir(
        tmp_path / "bundle", systems={"store": "woo"}, files={"store/orders.csv": [ORDER]}
    )
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)

    first = read_bundle(str(root)).frame("store", "orders")
    second = read_bundle(copy).frame("store", "orders")

    pd.testing.assert_frame_equal(first, second)
    assert json.loads((root / "bundle.json").read_text())["as_of"] == AS_OF
