"""The demo world: every rule fires a few times, the same seed is the same world, and
`manage.py demo` creates the logins and a saved run."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from exceptions.models import ExceptionRecord
from integration.roles import ROLE_GROUPS
from reconciliation.bundle import read_bundle
from reconciliation.demo import build_demo_bundle, write_demo_bundle
from reconciliation.demo.catalogue import BADLY_KEYED
from reconciliation.engine import Result, reconcile
from reconciliation.frames import MONEY_SCALE, Bundle
from reconciliation.models import ReconciliationRun
from reconciliation.rules import RULES
from reconciliation.settings import DEFAULT_SKU_PATTERN

AS_OF = pd.Timestamp("2026-11-30T23:59:00Z")

# What each scenario of reconciliation/demo/scenarios.py makes fire (see docs/demo.md).
EXPECTED = {
    "ORDER_NOT_IN_ERP": 3,
    "ORDER_NOT_AT_WMS": 4,
    "ORDER_HELD": 7,
    "DISPATCH_NOT_POSTED": 4,
    "STORE_NOT_UPDATED": 3,
    "CANCELLED_NOT_STOPPED": 4,
    "STUCK_PRE_DISPATCH": 4,
    "TRACKING_MISSING": 3,
    "LINES_MISMATCH": 3,
    "SHIPPED_QTY_MISMATCH": 3,
    "DUPLICATE_ORDER": 3,
    "ORPHAN_ORDER": 2,
    "SERVICE_MISMATCH": 3,
    "TAX_MISMATCH": 3,
    "TOTAL_MISMATCH": 2,
    "SKU_UNKNOWN": 2,
    "SKU_INVALID_FORMAT": 2,
    "SHIPPING_UNMAPPED": 2,
    "ADDRESS_INVALID": 3,
    "NON_STOCK_SENT": 2,
    "STOCK_DRIFT": 7,
    "ADJUSTMENT_NOT_POSTED": 2,
    "OVERSELL_RISK": 2,
    "UNDERSELL": 2,
    "NEGATIVE_STOCK": 2,
    "SNAPSHOT_STALE": 1,
}


@pytest.fixture(scope="module")
def demo() -> tuple[Bundle, Result]:
    bundle = build_demo_bundle(seed=7, orders=3000, as_of=AS_OF)
    return bundle, reconcile(bundle)


def found(result: Result) -> dict[str, int]:
    return {rule: count for rule, count in result.counts.items() if count}


def test_the_demo_covers_every_rule_but_sync_failed() -> None:
    assert set(EXPECTED) == {rule.name for rule in RULES} - {"SYNC_FAILED"}


def test_every_rule_fires_a_few_times(demo: tuple[Bundle, Result]) -> None:
    _, result = demo
    assert found(result) == EXPECTED
    assert result.rules_skipped == {}  # all three systems, every file: nothing is skipped


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_and_sizes_fire_the_same_rules(seed: int) -> None:
    bundle = build_demo_bundle(seed=seed, orders=400, as_of=AS_OF + pd.Timedelta(hours=seed))
    assert found(reconcile(bundle)) == EXPECTED


def test_the_anomalies_are_the_designed_ones(demo: tuple[Bundle, Result]) -> None:
    _, result = demo
    exceptions = result.exceptions
    teams = exceptions.groupby("rule")["team"].agg(lambda teams: sorted(teams))
    assert teams["ORDER_HELD"] == [
        "cx",
        "cx",
        "finance",
        "merchandising",
        "ops",
        "ops",
        "warehouse",
    ]
    assert teams["STOCK_DRIFT"] == ["finance"] * 5 + ["warehouse"] * 2
    assert teams["NEGATIVE_STOCK"] == ["ops", "warehouse"]
    assert teams["CANCELLED_NOT_STOPPED"] == ["finance", "finance", "warehouse", "warehouse"]
    kinds = exceptions.set_index("rule")["details"]
    assert sorted(d["kind"] for d in kinds[["ORDER_NOT_AT_WMS"]]) == ["lost"] * 2 + ["not_sent"] * 2
    assert sorted(d["kind"] for d in kinds[["TAX_MISMATCH"]]) == ["amount", "rounding", "rounding"]
    assert sorted(d["shipped"] for d in kinds[["CANCELLED_NOT_STOPPED"]]) == [False] * 3 + [True]
    assert sorted(exceptions.loc[exceptions["rule"] == "SKU_INVALID_FORMAT", "key"]) == sorted(
        BADLY_KEYED
    )
    assert exceptions.loc[exceptions["rule"] == "SNAPSHOT_STALE", "key"].tolist() == ["store"]
    oversell = exceptions[exceptions["rule"] == "OVERSELL_RISK"]
    assert sorted(oversell["priority"]) == ["P1", "P2"]


def test_the_same_seed_builds_the_same_world() -> None:
    first = build_demo_bundle(seed=11, orders=300, as_of=AS_OF)
    second = build_demo_bundle(seed=11, orders=300, as_of=AS_OF)
    other = build_demo_bundle(seed=12, orders=300, as_of=AS_OF)
    for role, snapshot in first.roles.items():
        assert snapshot.frames.keys() == second.roles[role].frames.keys()
        for file, frame in snapshot.frames.items():
            pd.testing.assert_frame_equal(frame, second.roles[role].frames[file])
    assert not first.roles["store"].frames["orders"].equals(other.roles["store"].frames["orders"])


def test_a_later_as_of_shifts_the_world_without_renumbering_it() -> None:
    now = build_demo_bundle(seed=5, orders=300, as_of=AS_OF)
    later = build_demo_bundle(seed=5, orders=300, as_of=AS_OF + pd.Timedelta(hours=5))
    before = now.roles["erp"].frames["orders"]
    after = later.roles["erp"].frames["orders"]
    assert after["order_ref"].tolist() == before["order_ref"].tolist()
    assert (after["placed_at"] - before["placed_at"]).unique().tolist() == [pd.Timedelta(hours=5)]


def test_as_of_defaults_to_now_to_the_minute() -> None:
    before = pd.Timestamp.now(tz="UTC").floor("min")
    bundle = build_demo_bundle(orders=100)
    after = pd.Timestamp.now(tz="UTC").floor("min")
    assert before <= bundle.as_of <= after
    assert bundle.as_of.second == 0


def test_orders_add_up_to_the_penny(demo: tuple[Bundle, Result]) -> None:
    bundle, _ = demo
    for role in ("store", "erp"):
        orders = bundle.roles[role].frames["orders"]
        assert (orders["gross_total"] == orders["net_total"] + orders["tax_total"]).all()
        assert (orders["net_total"] % (MONEY_SCALE // 100) == 0).all()  # whole pence
    store = bundle.roles["store"].frames
    lines = store["order_lines"].groupby("order_ref")[["line_net", "line_tax"]].sum()
    orders = store["orders"].set_index("order_ref")
    assert (lines["line_net"] + orders["shipping_total"] == orders["net_total"]).all()
    # VAT at 20 %: each line's VAT is within half a penny of a fifth of its net.
    line_rows = store["order_lines"]
    assert ((line_rows["line_tax"] * 5 - line_rows["line_net"]).abs() <= 5 * 50).all()

    # The ERP copies the website's totals except where a money anomaly says otherwise.
    erp = bundle.roles["erp"].frames["orders"].dropna(subset=["source_ref"])
    pairs = erp.merge(
        store["orders"], left_on="source_ref", right_on="order_ref", suffixes=("_erp", "")
    )
    differ = (pairs["net_total_erp"] != pairs["net_total"]) | (
        pairs["tax_total_erp"] != pairs["tax_total"]
    )
    assert int(differ.sum()) == EXPECTED["TAX_MISMATCH"] + EXPECTED["TOTAL_MISMATCH"]


def test_skus_match_the_pattern_except_the_badly_keyed_ones(demo: tuple[Bundle, Result]) -> None:
    bundle, _ = demo
    pattern = re.compile(DEFAULT_SKU_PATTERN)
    bad = set()
    for snapshot in bundle.roles.values():
        for file in ("products", "order_lines", "shipments", "stock"):
            if file in snapshot.frames:
                bad |= {s for s in snapshot.frames[file]["sku"] if not pattern.fullmatch(s)}
    assert bad == set(BADLY_KEYED)


def test_the_written_bundle_reads_back_and_reconciles_the_same(
    tmp_path: Path, demo: tuple[Bundle, Result]
) -> None:
    _, expected = demo
    write_demo_bundle(tmp_path / "demo", seed=7, orders=3000, as_of=AS_OF)
    result = reconcile(read_bundle(tmp_path / "demo"))
    assert sorted(zip(result.exceptions["rule"], result.exceptions["key"], strict=True)) == sorted(
        zip(expected.exceptions["rule"], expected.exceptions["key"], strict=True)
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_command_creates_logins_and_a_run(tmp_path: Path, settings: object) -> None:
    settings.BASE_DIR = tmp_path  # type: ignore[attr-defined]
    out = StringIO()
    call_command("demo", orders=300, seed=7, stdout=out)

    text = out.getvalue()
    for username in ("finance", "cx", "ops", "warehouse", "admin"):
        assert re.search(rf"^\s+{username}\s+/ parity-{username}\s", text, re.MULTILINE)
    assert re.search(r"^\s+ORDER_HELD\s+7$", text, re.MULTILINE)
    users = get_user_model().objects.order_by("username")
    assert [u.username for u in users] == ["admin", "cx", "finance", "ops", "warehouse"]
    assert all(u.check_password(f"parity-{u.username}") for u in users)
    assert [u.username for u in users if u.is_superuser or u.is_staff] == ["admin"]
    assert {u.username: u.groups.get().name for u in users} == {
        "admin": "Admin",
        "cx": "CX",
        "finance": "Finance",
        "ops": "Ops",
        "warehouse": "Warehouse",
    }
    assert (tmp_path / "var" / "demo-bundle" / "bundle.json").exists()
    run = ReconciliationRun.objects.get()
    assert run.status == ReconciliationRun.Status.COMPLETE
    assert {rule: count for rule, count in run.counts.items() if count} == EXPECTED
    stored = ExceptionRecord.objects.count()
    assert stored == sum(EXPECTED.values())

    # Again: users are kept (a changed password survives), a second run sees the same exceptions.
    admin = users.get(username="admin")
    admin.set_password("changed-by-the-admin")
    admin.save()
    call_command("demo", orders=300, seed=7, stdout=StringIO())
    assert get_user_model().objects.count() == len(ROLE_GROUPS)
    assert get_user_model().objects.get(username="admin").check_password("changed-by-the-admin")
    assert ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE).count() == 2
    assert ExceptionRecord.objects.count() == stored
    assert set(ExceptionRecord.objects.values_list("times_seen", flat=True)) == {2}


@pytest.mark.django_db
def test_no_reconcile_writes_the_bundle_only(tmp_path: Path, settings: object) -> None:
    settings.BASE_DIR = tmp_path  # type: ignore[attr-defined]
    call_command("demo", orders=100, no_reconcile=True, stdout=StringIO())
    assert read_bundle(tmp_path / "var" / "demo-bundle").pipeline == ["store", "erp", "wms"]
    assert not ReconciliationRun.objects.exists()
    assert get_user_model().objects.count() == 5
