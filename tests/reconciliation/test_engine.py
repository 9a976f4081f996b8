"""The engine as a whole: output shape, ordering, one exception per (rule, key), skipping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciliation.engine import JSON_FIELDS, reconcile, result_json
from reconciliation.rules import RULE_NAMES
from reconciliation.settings import ReconSettings
from tests.bundles import make_bundle

AS_OF = "2026-11-30T23:59:00Z"


ADDRESS = {
    "ship_line1": "1 High Street",
    "ship_city": "London",
    "ship_postcode": "SW1A 1AA",
    "ship_country": "GB",
    "ship_phone": "02079460000",
}


def order(ref: str, status: str = "open", placed_at: str = "2026-11-30T10:00:00Z", **fields):
    return {"order_ref": ref, "status": status, "placed_at": placed_at, **ADDRESS, **fields}


def line(ref: str, sku: str, quantity: int = 1, line_no: str = "1") -> dict:
    return {"order_ref": ref, "line_no": line_no, "sku": sku, "quantity": quantity}


@pytest.fixture
def three_role_bundle(tmp_path: Path):
    return make_bundle(
        tmp_path,
        systems={
            "store": "woocommerce",
            "erp": "prima",
            "wms": {"kind": "whistl", "taken_at": "2026-11-30T10:00:00Z"},
        },
        files={
            "store/orders.csv": [
                order("W1", "dispatched"),
                order("W2"),
                order("W3", "cancelled"),
            ],
            "store/order_lines.csv": [line("W1", "A1"), line("W2", "A1"), line("W3", "B1")],
            "erp/orders.csv": [
                order("E1", "dispatched", source_ref="W1"),
                order("E2", "released", source_ref="W2"),
                order("E3", "released", source_ref="W3"),
            ],
            "erp/order_lines.csv": [line("E1", "A1"), line("E2", "A1"), line("E3", "B1")],
            "wms/orders.csv": [order("H1", "dispatched", source_ref="E1")],
            "wms/order_lines.csv": [line("H1", "A1", 2)],
        },
    )


def test_it_finds_each_disagreement_once_keyed_by_origin(three_role_bundle):
    result = reconcile(three_role_bundle)

    found = sorted(zip(result.exceptions["rule"], result.exceptions["key"], strict=True))
    assert found == [
        ("CANCELLED_NOT_STOPPED", "W3"),
        ("LINES_MISMATCH", "W1"),
        ("ORDER_NOT_AT_WMS", "W2"),
        ("ORDER_NOT_AT_WMS", "W3"),
        ("SNAPSHOT_STALE", "wms"),
    ]
    assert sorted(result.exceptions.set_index("key").loc["W3", "team"]) == ["finance", "ops"]


def test_exceptions_are_sorted_by_score_highest_first(three_role_bundle):
    scores = reconcile(three_role_bundle).exceptions["score"].tolist()

    assert scores == sorted(scores, reverse=True)


def test_owner_is_warehouse_exactly_when_team_is_warehouse(three_role_bundle):
    exceptions = reconcile(three_role_bundle).exceptions

    for owner, team in zip(exceptions["owner"], exceptions["team"], strict=True):
        assert (owner == "warehouse") == (team == "warehouse")


def test_json_output_has_the_fields_of_the_bundle_spec(three_role_bundle):
    document = result_json(reconcile(three_role_bundle))

    assert document["as_of"] == AS_OF
    assert [list(e) for e in document["exceptions"]] == [JSON_FIELDS] * 5
    lost = next(e for e in document["exceptions"] if e["key"] == "W2")
    assert lost["rule"] == "ORDER_NOT_AT_WMS"
    assert lost["owner"] == "office"
    assert lost["team"] == "ops"
    assert lost["details"]["kind"] == "lost"
    assert lost["summary"] == "Order W2 was released by Prima 13 h ago but Whistl never received it"
    json.dumps(document)  # every value is JSON-ready


def test_rules_whose_roles_are_missing_are_skipped_with_a_reason(tmp_path):
    bundle = make_bundle(
        tmp_path,
        systems={"store": "woocommerce"},
        files={"store/orders.csv": [order("W1", "held", hold_reason="fraud check")]},
    )

    result = reconcile(bundle)

    assert list(zip(result.exceptions["rule"], result.exceptions["key"], strict=True)) == [
        ("ORDER_HELD", "W1")
    ]
    assert result.exceptions["team"].tolist() == ["finance"]
    assert result.rules_skipped["ORDER_NOT_IN_ERP"] == "no erp role"
    assert result.rules_skipped["STOCK_DRIFT"] == "no erp role"
    assert set(result.rules_run) | set(result.rules_skipped) == set(RULE_NAMES)
    assert result.counts == {name: int(name == "ORDER_HELD") for name in result.rules_run}


def test_config_json_overrides_the_defaults_and_explicit_settings_override_both(tmp_path):
    files = {
        "erp/orders.csv": [order("E1", "released", placed_at="2026-11-30T23:00:00Z")],
        "wms/orders.csv": [],
    }
    systems = {"erp": "prima", "wms": "whistl"}
    relaxed = make_bundle(
        tmp_path / "a", systems=systems, files=files, config={"grace_to_wms_minutes": 90}
    )
    assert reconcile(relaxed).exceptions.empty

    strict = ReconSettings.from_mapping({"grace_to_wms_minutes": 30})
    assert reconcile(relaxed, strict).exceptions["key"].tolist() == ["E1"]


def test_an_empty_bundle_of_present_roles_finds_nothing(tmp_path):
    bundle = make_bundle(tmp_path, systems={"store": "magento", "erp": "prima"}, files={})

    result = reconcile(bundle)

    assert result.exceptions.empty
    assert result_json(result) == {"as_of": AS_OF, "exceptions": []}
