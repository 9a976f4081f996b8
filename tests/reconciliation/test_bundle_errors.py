"""read_bundle on bad input: every problem, with its exact message, and nothing returned."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from reconciliation.bundle import BundleError, Problem, read_bundle
from tests.bundles import write_bundle_dir, write_raw

PLACED = "2026-11-30T10:00:00Z"
ORDER = {"order_ref": "W1", "status": "open", "placed_at": PLACED}
LINE = {"order_ref": "W1", "line_no": "1", "sku": "A", "quantity": "1"}
STORE = {"store": "woocommerce"}


def problems_in(root: Path, *, max_problems: int = 200) -> list[str]:
    with pytest.raises(BundleError) as caught:
        read_bundle(root, max_problems=max_problems)
    return [str(problem) for problem in caught.value.problems]


def bundle_problems(tmp_path: Path, **kwargs: Any) -> list[str]:
    kwargs.setdefault("systems", STORE)
    return problems_in(write_bundle_dir(tmp_path / "bundle", **kwargs))


def raw_bundle_problems(tmp_path: Path, name: str, data: str | bytes) -> list[str]:
    root = write_bundle_dir(tmp_path / "bundle", systems=STORE)
    write_raw(root, name, data)
    return problems_in(root)


# Problem and BundleError


def test_a_problem_reads_like_the_spec_example() -> None:
    problem = Problem("wms/orders.csv", 118, "status", "status 'shiped' is not a canonical status")

    assert str(problem) == "wms/orders.csv line 118: status 'shiped' is not a canonical status"
    assert str(Problem("wms/orders.csv", None, "status", "missing required column 'status'")) == (
        "wms/orders.csv: missing required column 'status'"
    )


def test_the_error_lists_every_problem(tmp_path: Path) -> None:
    root = write_bundle_dir(
        tmp_path / "bundle",
        systems=STORE,
        files={"store/orders.csv": [{**ORDER, "status": "shiped"}, {**ORDER, "placed_at": "x"}]},
    )

    with pytest.raises(BundleError) as caught:
        read_bundle(root)

    assert str(caught.value) == (
        f"3 problems in bundle {root}:\n"
        "store/orders.csv line 2: status 'shiped' is not a canonical status\n"
        "store/orders.csv line 3: duplicate order_ref 'W1' (first on line 2)\n"
        "store/orders.csv line 3: placed_at 'x' is not an ISO 8601 timestamp"
    )
    assert caught.value.problems[0] == Problem(
        "store/orders.csv", 2, "status", "status 'shiped' is not a canonical status"
    )
    assert caught.value.omitted == 0


def test_problems_are_capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    rows = [{**ORDER, "order_ref": f"W{i}", "status": "shiped"} for i in range(250)]
    root = write_bundle_dir(tmp_path / "bundle", systems=STORE, files={"store/orders.csv": rows})

    with pytest.raises(BundleError) as caught:
        read_bundle(root, max_problems=3)

    assert str(caught.value) == (
        f"250 problems in bundle {root}:\n"
        "store/orders.csv line 2: status 'shiped' is not a canonical status\n"
        "store/orders.csv line 3: status 'shiped' is not a canonical status\n"
        "store/orders.csv line 4: status 'shiped' is not a canonical status\n"
        "… and 247 more problems"
    )
    assert len(caught.value.problems) == 3
    assert caught.value.omitted == 247


def test_the_default_cap_is_200(tmp_path: Path) -> None:
    rows = [{**ORDER, "order_ref": f"W{i}", "status": "shiped"} for i in range(250)]

    problems = bundle_problems(tmp_path, files={"store/orders.csv": rows})

    assert len(problems) == 200


def test_problems_from_many_files_and_roles_are_reported_together(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        systems={"store": "woo", "wms": "whistl"},
        currency="",
        config={"dispatch_sla_hours": -1},
        files={
            "store/orders.csv": [{**ORDER, "status": "shiped"}],
            "wms/orders.csv": [{**ORDER, "placed_at": ""}],
            "wms/order_lines.csv": [{**LINE, "quantity": "-1"}],
        },
    )

    assert problems == [
        "bundle.json: currency is required (an ISO 4217 code such as GBP)",
        "config.json: dispatch_sla_hours: expected a whole number of 0 or more, got -1",
        "store/orders.csv line 2: status 'shiped' is not a canonical status",
        "wms/orders.csv line 2: placed_at is required but empty",
        "wms/order_lines.csv line 2: quantity -1 is negative",
    ]


# Cells


@pytest.mark.parametrize(
    ("file", "row", "message"),
    [
        ("orders", {**ORDER, "order_ref": ""}, "line 2: order_ref is required but empty"),
        ("orders", {**ORDER, "status": " "}, "line 2: status is required but empty"),
        ("orders", {**ORDER, "status": "shiped"}, "line 2: status 'shiped' is not a canonical status"),
        ("orders", {**ORDER, "placed_at": "30/11/2026"}, "line 2: placed_at '30/11/2026' is not an ISO 8601 timestamp"),
        ("orders", {**ORDER, "updated_at": "2026-11-31T10:00:00Z"}, "line 2: updated_at '2026-11-31T10:00:00Z' is not an ISO 8601 timestamp"),
        ("orders", {**ORDER, "updated_at": "2400-01-01T00:00:00Z"}, "line 2: updated_at '2400-01-01T00:00:00Z' is outside the supported years 1900 to 2100"),
        ("orders", {**ORDER, "gross_total": "12,50"}, "line 2: gross_total '12,50' is not a money amount (a decimal with up to 4 places)"),
        ("orders", {**ORDER, "net_total": "1.23456"}, "line 2: net_total '1.23456' is not a money amount (a decimal with up to 4 places)"),
        ("orders", {**ORDER, "tax_total": "£2.00"}, "line 2: tax_total '£2.00' is not a money amount (a decimal with up to 4 places)"),
        ("orders", {**ORDER, "tax_total": "1e3"}, "line 2: tax_total '1e3' is not a money amount (a decimal with up to 4 places)"),
        ("orders", {**ORDER, "tax_total": "+2.00"}, "line 2: tax_total '+2.00' is not a money amount (a decimal with up to 4 places)"),
        ("products", {"sku": "A", "is_stock_item": "maybe"}, "line 2: is_stock_item 'maybe' is not a boolean (true/false, yes/no, 1/0)"),
        ("products", {"sku": "A", "unit_cost": "1.2.3"}, "line 2: unit_cost '1.2.3' is not a money amount (a decimal with up to 4 places)"),
        ("stock", {"sku": "A", "on_hand": "2.5"}, "line 2: on_hand '2.5' is not a whole number"),
        ("stock", {"sku": "A", "on_hand": "1", "allocated": "-1"}, "line 2: allocated -1 is negative"),
        ("stock", {"sku": "A", "available": "lots"}, "line 2: available 'lots' is not a whole number"),
        ("adjustments", {"adjustment_ref": "J1", "sku": "A", "delta": "", "occurred_at": PLACED}, "line 2: delta is required but empty"),
        ("adjustments", {"adjustment_ref": "J1", "sku": "A", "delta": "+3", "occurred_at": PLACED}, "line 2: delta '+3' is not a whole number"),
    ],
)  # fmt: skip
def test_a_bad_cell_is_reported_with_its_line(
    tmp_path: Path, file: str, row: dict[str, str], message: str
) -> None:
    problems = bundle_problems(tmp_path, files={f"store/{file}.csv": [row]})

    assert problems == [f"store/{file}.csv {message}"]


@pytest.mark.parametrize(
    ("file", "row", "message"),
    [
        ("order_lines", {**LINE, "quantity": "two"}, "line 2: quantity 'two' is not a whole number"),
        ("order_lines", {**LINE, "quantity": "-2"}, "line 2: quantity -2 is negative"),
        ("order_lines", {**LINE, "unit_price": "1.5.0"}, "line 2: unit_price '1.5.0' is not a money amount (a decimal with up to 4 places)"),
        ("order_lines", {**LINE, "tax_rate": "20%"}, "line 2: tax_rate '20%' is not a number"),
        ("order_lines", {**LINE, "sku": ""}, "line 2: sku is required but empty"),
        ("shipments", {"order_ref": "W1", "sku": "A", "quantity": "-1"}, "line 2: quantity -1 is negative"),
        ("shipments", {"order_ref": "W1", "sku": "A", "quantity": "1", "dispatched_at": "today"}, "line 2: dispatched_at 'today' is not an ISO 8601 timestamp"),
        ("shipments", {"order_ref": "W1", "sku": "A", "quantity": "1", "dispatched_at": "20261130"}, "line 2: dispatched_at '20261130' is not an ISO 8601 timestamp"),
        ("shipments", {"order_ref": "W1", "sku": "A", "quantity": "1", "dispatched_at": "Nov 30 2026"}, "line 2: dispatched_at 'Nov 30 2026' is not an ISO 8601 timestamp"),
        ("shipments", {"order_ref": "W9", "sku": "A", "quantity": "1"}, "line 2: order_ref 'W9' is not in store/orders.csv"),
        ("order_lines", {**LINE, "order_ref": "W9"}, "line 2: order_ref 'W9' is not in store/orders.csv"),
    ],
)  # fmt: skip
def test_a_bad_line_or_shipment_is_reported_with_its_line(
    tmp_path: Path, file: str, row: dict[str, str], message: str
) -> None:
    files = {"store/orders.csv": [ORDER], f"store/{file}.csv": [row]}

    problems = bundle_problems(tmp_path, files=files)

    assert problems == [f"store/{file}.csv {message}"]


def test_a_duplicate_key_names_the_first_line(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        files={
            "store/orders.csv": [ORDER, {**ORDER, "order_ref": "W2"}, ORDER, ORDER],
            "store/order_lines.csv": [LINE, {**LINE, "line_no": "2"}, LINE],
            "store/products.csv": [{"sku": "A"}, {"sku": "B"}, {"sku": "A"}],
            "store/adjustments.csv": [
                {"adjustment_ref": "J1", "sku": "A", "delta": "1", "occurred_at": PLACED},
                {"adjustment_ref": "J1", "sku": "B", "delta": "2", "occurred_at": PLACED},
            ],
            "store/shipments.csv": [
                {"order_ref": "W1", "shipment_ref": "P1", "sku": "A", "quantity": "1"},
                {"order_ref": "W1", "shipment_ref": "P1", "sku": "A", "quantity": "1"},
            ],
            "store/stock.csv": [{"sku": "A", "location": "L1"}, {"sku": "A", "location": "L1"}],
        },
    )

    assert problems == [
        "store/products.csv line 4: duplicate sku 'A' (first on line 2)",
        "store/orders.csv line 4: duplicate order_ref 'W1' (first on line 2)",
        "store/orders.csv line 5: duplicate order_ref 'W1' (first on line 2)",
        "store/order_lines.csv line 4: duplicate order_ref 'W1', line_no '1' (first on line 2)",
        "store/adjustments.csv line 3: duplicate adjustment_ref 'J1' (first on line 2)",
    ]


def test_rows_with_an_empty_key_are_not_also_duplicates(tmp_path: Path) -> None:
    rows = [{**ORDER, "order_ref": ""}, {**ORDER, "order_ref": ""}]

    problems = bundle_problems(tmp_path, files={"store/orders.csv": rows})

    assert problems == [
        "store/orders.csv line 2: order_ref is required but empty",
        "store/orders.csv line 3: order_ref is required but empty",
    ]


def test_problems_within_a_file_are_in_line_then_column_order(tmp_path: Path) -> None:
    rows = [
        {**ORDER, "net_total": "x", "status": "nope"},
        {**ORDER, "order_ref": "W2", "placed_at": "never"},
    ]

    problems = bundle_problems(tmp_path, files={"store/orders.csv": rows})

    assert problems == [
        "store/orders.csv line 2: status 'nope' is not a canonical status",
        "store/orders.csv line 2: net_total 'x' is not a money amount (a decimal with up to 4 places)",
        "store/orders.csv line 3: placed_at 'never' is not an ISO 8601 timestamp",
    ]


# Files


def test_a_missing_required_column_is_one_problem_for_the_file(tmp_path: Path) -> None:
    rows = [{"order_ref": "W1", "placed_at": PLACED}, {"order_ref": "W2", "placed_at": PLACED}]

    problems = bundle_problems(tmp_path, files={"store/orders.csv": rows})

    assert problems == ["store/orders.csv: missing required column 'status'"]


def test_lines_without_their_roles_orders_file_are_one_problem(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        files={
            "store/order_lines.csv": [LINE, {**LINE, "line_no": "2"}],
            "store/shipments.csv": [{"order_ref": "W1", "sku": "A", "quantity": "1"}],
        },
    )

    assert problems == [
        "store/order_lines.csv: there is no store/orders.csv to check order_ref against",
        "store/shipments.csv: there is no store/orders.csv to check order_ref against",
    ]


def test_order_refs_are_checked_against_the_same_role_only(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        systems={"store": "woo", "erp": "prima"},
        files={
            "store/orders.csv": [ORDER],
            "erp/orders.csv": [{**ORDER, "order_ref": "SO1"}],
            "erp/order_lines.csv": [LINE],
        },
    )

    assert problems == ["erp/order_lines.csv line 2: order_ref 'W1' is not in erp/orders.csv"]


def test_a_row_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    problems = raw_bundle_problems(
        tmp_path,
        "store/orders.csv",
        f"order_ref,status,placed_at\nW1,open,{PLACED}\nW2,open\nW3,open,{PLACED},extra\n",
    )

    assert problems == [
        "store/orders.csv line 3: expected 3 fields as in the header, found 2",
        "store/orders.csv line 4: expected 3 fields as in the header, found 4",
    ]


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    data = f"order_ref,status,placed_at\nW1,open,{PLACED}\nCAF\xc9,open,{PLACED}\n"

    problems = raw_bundle_problems(tmp_path, "store/orders.csv", data.encode("latin-1"))

    assert problems == ["store/orders.csv line 3: not valid UTF-8 text: save the file as UTF-8"]


def test_a_header_that_is_not_utf8(tmp_path: Path) -> None:
    data = f"order_ref,status,placed_at,r\xe9f\nW1,open,{PLACED},x\n".encode("latin-1")

    problems = raw_bundle_problems(tmp_path, "store/orders.csv", data)

    assert problems == ["store/orders.csv line 1: not valid UTF-8 text: save the file as UTF-8"]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_an_empty_file(tmp_path: Path, data: bytes) -> None:
    problems = raw_bundle_problems(tmp_path, "store/products.csv", data)

    assert problems == ["store/products.csv: the file is empty: a header row is required"]


def test_a_header_naming_a_column_twice(tmp_path: Path) -> None:
    data = f"order_ref,status,placed_at,status\nW1,open,{PLACED},open\n"

    problems = raw_bundle_problems(tmp_path, "store/orders.csv", data)

    assert problems == ["store/orders.csv: column 'status' appears more than once in the header"]


def test_a_nameless_column_is_dropped_when_empty_and_reported_otherwise(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "a", systems=STORE)
    write_raw(root, "store/products.csv", "sku,name,\nA,Mug,\nB,Cup,\n")
    assert list(read_bundle(root).frame("store", "products")["name"]) == ["Mug", "Cup"]

    problems = raw_bundle_problems(tmp_path / "b", "store/products.csv", "sku,,\nA,x,\n")

    assert problems == ["store/products.csv: column 2 has values but no name in the header"]


def test_a_folder_of_a_role_not_in_systems(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        files={"store/orders.csv": [ORDER], "wms/orders.csv": [{**ORDER, "status": "nope"}]},
    )

    assert problems == ["wms/: a folder for role 'wms', which bundle.json's systems does not name"]


def test_stray_csv_files_and_folders(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "bundle", systems=STORE)
    write_raw(root, "store/order-lines.csv", "order_ref\n")
    write_raw(root, "orders.csv", "order_ref\n")
    write_raw(root, "warehouse/stock.csv", "sku\n")

    assert problems_in(root) == [
        "orders.csv: not a bundle file: system files go in store/, erp/ or wms/",
        "store/order-lines.csv: not a bundle file (expected one of products.csv, orders.csv, "
        "order_lines.csv, shipments.csv, stock.csv, adjustments.csv)",
        "warehouse/: not a role folder: expected store/, erp/ or wms/",
    ]


# sku_map.csv


def test_sku_map_problems(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        sku_map=[
            {"role": "store", "sku": "a", "canonical_sku": "A"},
            {"role": "shop", "sku": "b", "canonical_sku": "B"},
            {"role": "STORE", "sku": "a", "canonical_sku": "A2"},
            {"role": "wms", "sku": "c", "canonical_sku": ""},
        ],
    )

    assert problems == [
        "sku_map.csv line 3: role 'shop' is not one of store, erp, wms",
        "sku_map.csv line 4: duplicate role 'store', sku 'a' (first on line 2)",
        "sku_map.csv line 5: canonical_sku is required but empty",
    ]


def test_sku_map_missing_a_column(tmp_path: Path) -> None:
    problems = bundle_problems(tmp_path, sku_map=[{"sku": "a", "canonical_sku": "A"}])

    assert problems == ["sku_map.csv: missing required column 'role'"]


# bundle.json and config.json


def manifest_problems(tmp_path: Path, manifest: Any) -> list[str]:
    root = write_bundle_dir(tmp_path / "bundle", systems=STORE)
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    write_raw(root, "bundle.json", text)
    return problems_in(root)


SYSTEMS = {"store": {"kind": "woocommerce"}}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{", "bundle.json line 1: not valid JSON (Expecting property name enclosed in double quotes, column 2)"),
        ('{"as_of": "2026-11-30T23:59:00Z",\n "currency": GBP}', "bundle.json line 2: not valid JSON (Expecting value, column 14)"),
        ([], "bundle.json: expected a JSON object with as_of, currency and systems"),
        ({"currency": "GBP", "systems": SYSTEMS}, "bundle.json: as_of is required (an ISO 8601 timestamp)"),
        ({"as_of": "yesterday", "currency": "GBP", "systems": SYSTEMS}, "bundle.json: as_of 'yesterday' is not an ISO 8601 timestamp"),
        ({"as_of": 20261130, "currency": "GBP", "systems": SYSTEMS}, "bundle.json: as_of 20261130 is not an ISO 8601 timestamp"),
        ({"as_of": "2026-11-30T23:59:00Z", "systems": SYSTEMS}, "bundle.json: currency is required (an ISO 4217 code such as GBP)"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "pounds", "systems": SYSTEMS}, "bundle.json: currency 'pounds' is not an ISO 4217 code"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP"}, "bundle.json: systems is required: name each system present"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": {}}, "bundle.json: systems must be an object naming at least one of store, erp, wms"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": ["store"]}, "bundle.json: systems must be an object naming at least one of store, erp, wms"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": {**SYSTEMS, "shop": "x"}}, "bundle.json: systems: unknown role 'shop' (expected store, erp or wms)"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": {"store": 3}}, "bundle.json: systems.store must be a kind string or an object with kind and taken_at"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": {"store": {"kind": 3}}}, "bundle.json: systems.store.kind must be a string"),
        ({"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": {"store": {"kind": "w", "taken_at": "soon"}}}, "bundle.json: systems.store.taken_at 'soon' is not an ISO 8601 timestamp"),
    ],
)  # fmt: skip
def test_manifest_problems(tmp_path: Path, manifest: Any, message: str) -> None:
    assert manifest_problems(tmp_path, manifest) == [message]


def test_a_bundle_without_a_manifest(tmp_path: Path) -> None:
    root = write_bundle_dir(tmp_path / "bundle", systems=STORE)
    (root / "bundle.json").unlink()

    assert problems_in(root) == ["bundle.json: not found: every bundle needs a manifest"]


def test_a_bad_manifest_does_not_hide_the_files_problems(tmp_path: Path) -> None:
    problems = bundle_problems(
        tmp_path,
        as_of="soon",
        systems={"store": {"kind": "woocommerce"}},
        files={"store/orders.csv": [{**ORDER, "status": "nope"}]},
    )

    assert problems == [
        "bundle.json: as_of 'soon' is not an ISO 8601 timestamp",
        "store/orders.csv line 2: status 'nope' is not a canonical status",
    ]


def test_config_problems_name_every_bad_key(tmp_path: Path) -> None:
    config = {
        "grace_to_wms_minutes": "soon",
        "require_phone": "perhaps",
        "money_tolerance": "0.01",
        "unknown_tool_key": [1, 2],
    }

    problems = bundle_problems(tmp_path, config=config)

    assert problems == [
        "config.json: grace_to_wms_minutes: expected a whole number, got 'soon'",
        "config.json: require_phone: expected true or false, got 'perhaps'",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "config.json: expected a JSON object of settings"),
        ("{'a': 1}", "config.json line 1: not valid JSON (Expecting property name enclosed in double quotes, column 2)"),
    ],
)  # fmt: skip
def test_a_config_that_is_not_an_object(tmp_path: Path, text: str, message: str) -> None:
    assert raw_bundle_problems(tmp_path, "config.json", text) == [message]


# Paths and zips


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    assert problems_in(tmp_path / "nope") == [f"{tmp_path / 'nope'}: no such file or directory"]


def test_a_file_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "bundle.zip").write_text("hello")
    (tmp_path / "bundle.tar").write_text("hello")

    assert problems_in(tmp_path / "bundle.zip") == [
        f"{tmp_path / 'bundle.zip'}: not a valid zip file"
    ]
    assert problems_in(tmp_path / "bundle.tar") == [
        f"{tmp_path / 'bundle.tar'}: not a bundle: expected a directory or a .zip file"
    ]


def test_a_zip_without_a_manifest(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        archive.writestr("a/b/bundle.json", "{}")
        archive.writestr("store/orders.csv", "order_ref\n")

    assert problems_in(tmp_path / "b.zip") == [
        "bundle.json: not found at the zip's root or in a folder one level down: "
        "every bundle needs a manifest"
    ]


def test_a_zip_of_two_bundles(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        archive.writestr("monday/bundle.json", "{}")
        archive.writestr("tuesday/bundle.json", "{}")

    assert problems_in(tmp_path / "b.zip") == [
        "bundle.json: the zip holds several bundles (monday/, tuesday/): zip one at a time"
    ]


def test_a_bad_file_inside_a_zip_is_reported_like_in_a_folder(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        manifest = {"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": STORE}
        archive.writestr("export/bundle.json", json.dumps(manifest))
        archive.writestr("export/store/orders.csv", f"order_ref,status,placed_at\nW1,x,{PLACED}\n")

    assert problems_in(tmp_path / "b.zip") == [
        "store/orders.csv line 2: status 'x' is not a canonical status"
    ]


def test_a_manifest_that_is_not_utf8(tmp_path: Path) -> None:
    manifest = (
        '{"as_of": "2026-11-30T23:59:00Z", "currency": "GBP", "systems": {"store": "caf\xe9"}}'
    )

    problems = raw_bundle_problems(tmp_path, "bundle.json", manifest.encode("latin-1"))

    assert problems == ["bundle.json: not valid UTF-8 text: save the file as UTF-8"]


def test_the_cap_keeps_problems_in_role_order_across_roles(tmp_path: Path) -> None:
    bad = [{**ORDER, "order_ref": f"W{i}", "status": "nope"} for i in range(3)]
    root = write_bundle_dir(
        tmp_path / "bundle",
        systems={"store": "woo", "erp": "prima", "wms": "whistl"},
        files={"store/orders.csv": bad, "erp/orders.csv": bad, "wms/orders.csv": bad},
    )

    with pytest.raises(BundleError) as caught:
        read_bundle(root, max_problems=4)

    assert [str(problem) for problem in caught.value.problems] == [
        "store/orders.csv line 2: status 'nope' is not a canonical status",
        "store/orders.csv line 3: status 'nope' is not a canonical status",
        "store/orders.csv line 4: status 'nope' is not a canonical status",
        "erp/orders.csv line 2: status 'nope' is not a canonical status",
    ]
    assert caught.value.omitted == 5
