"""Small realistic worlds for each pairing of systems: exactly the exceptions expected, no others.

rules.md runs on whatever roles are present; each world below mixes clean records with a few faults
and asserts the full set of (rule, key) produced.
"""

from __future__ import annotations

from .conftest import (
    adjustment,
    ago,
    exception,
    lines,
    order,
    pairs,
    product,
    run,
    shipments,
    stock,
    totals,
)


def test_woocommerce_to_prima(tmp_path):
    day, hours5 = ago(days=1), ago(hours=5)
    found = run(
        tmp_path,
        kinds={"store": "woocommerce", "erp": "prima"},
        store={
            "orders": [
                order("W100", placed_at=ago(hours=3), **totals("24.00", "4.00")),
                order("W101", "dispatched", placed_at=ago(days=2), **totals("60.00", "10.00")),
                order("W102", placed_at=ago(hours=2)),  # never reached the erp
                order("W103", placed_at=hours5, **totals("120.00", "20.00")),  # VAT penny
                order("W104", placed_at=day),  # erp dispatched, store not told
                order("W105", "pending", placed_at=ago(days=2)),  # unpaid: ignored
                order("W106", "cancelled", placed_at=ago(days=2)),  # still live in the erp
                order("W107", placed_at=ago(minutes=10)),  # inside the grace
            ],
            "order_lines": lines("W100", {"A1": 1})
            + lines("W101", {"B2": 2})
            + lines("W102", {"A1": 1})
            + lines("W103", {"A1": 1})
            + lines("W104", {"B2": 1})
            + lines("W105", {"Z9": 1})
            + lines("W106", {"A1": 1})
            + lines("W107", {"B2": 1}),
            "stock": [stock("A1", 9), stock("B2", 5)],
        },
        erp={
            "orders": [
                order("E100", source="W100", placed_at=ago(hours=3), **totals("24.00", "4.00")),
                order("E101", "dispatched", source="W101", placed_at=ago(days=2), updated_at=day, **totals("60.00", "10.00")),
                order("E103", source="W103", placed_at=hours5, **totals("120.01", "20.01")),
                order("E104", "dispatched", source="W104", placed_at=day, updated_at=hours5),
                order("E106", source="W106", placed_at=ago(days=2)),
            ],
            "order_lines": lines("E100", {"A1": 1})
            + lines("E101", {"B2": 2})
            + lines("E103", {"A1": 1})
            + lines("E104", {"B2": 1})
            + lines("E106", {"A1": 1}),
            "products": [product("A1"), product("B2")],
            "stock": [stock("A1", 12, available=10), stock("B2", 6)],
        },
    )  # fmt: skip
    assert pairs(found) == {
        ("ORDER_NOT_IN_ERP", "W102"),
        ("TAX_MISMATCH", "W103"),
        ("STORE_NOT_UPDATED", "W104"),
        ("CANCELLED_NOT_STOPPED", "W106"),
    }
    assert exception(found, "TAX_MISMATCH", "W103")["details"]["kind"] == "rounding"


def test_magento_to_prima(tmp_path):
    day = ago(days=1)
    found = run(
        tmp_path,
        kinds={"store": "magento", "erp": "prima"},
        store={
            "orders": [
                order("M1", "dispatched", placed_at=ago(days=2)),
                order("M2", placed_at=day),  # shipped by the erp untracked, store not told
                order("M3", "dispatched", placed_at=ago(days=2)),  # short-shipped
                order("M4", "held", placed_at=day, hold_reason="Address verification"),
            ],
            "order_lines": lines("M1", {"A1": 1})
            + lines("M2", {"A1": 2})
            + lines("M3", {"A1": 2})
            + lines("M4", {"A1": 1}),
            "stock": [stock("A1", 20), stock("B2", 3)],
        },
        erp={
            "orders": [
                order("E1", "dispatched", source="M1", placed_at=ago(days=2)),
                order("E2", "dispatched", source="M2", placed_at=day),
                order("E3", "dispatched", source="M3", placed_at=ago(days=2)),
            ],
            "order_lines": lines("E1", {"A1": 1}) + lines("E2", {"A1": 2}) + lines("E3", {"A1": 2}),
            "shipments": shipments("E1", {"A1": 1}, at=day)
            + shipments("E2", {"A1": 2}, at=ago(hours=3), tracking="")
            + shipments("E3", {"A1": 1}, at=day),
            "products": [product("A1"), product("B2")],
            "stock": [stock("A1", 10), stock("B2", 8)],
        },
    )
    assert pairs(found) == {
        ("TRACKING_MISSING", "M2"),
        ("STORE_NOT_UPDATED", "M2"),
        ("SHIPPED_QTY_MISMATCH", "M3"),
        ("ORDER_HELD", "M4"),
        ("ORDER_NOT_IN_ERP", "M4"),
        ("OVERSELL_RISK", "A1"),
        ("UNDERSELL", "B2"),
    }
    oversell = exception(found, "OVERSELL_RISK", "A1")["details"]
    assert (oversell["base"], oversell["committed"], oversell["expected"]) == (10, 1, 9)


def test_prima_to_whistl(tmp_path):
    day = ago(days=1)
    found = run(
        tmp_path,
        kinds={"erp": "prima", "wms": "whistl"},
        erp={
            "orders": [
                order("E1", "released", placed_at=day),  # dispatched 30 min ago: in grace
                order("E2", "released", placed_at=ago(hours=3)),  # lost on the way
                order("E3", "released", placed_at=day),  # dispatched 5 h ago, not posted
                order("E4", "dispatched", placed_at=ago(days=2)),
                order("E5", "released", placed_at=ago(minutes=30)),
                order("E6", "released", placed_at=day),
            ],
            "order_lines": lines("E1", {"A1": 1})
            + lines("E2", {"A1": 2})
            + lines("E3", {"B2": 1})
            + lines("E4", {"A1": 1})
            + lines("E5", {"A1": 1})
            + lines("E6", {"A1": 1}),
            "products": [product("A1"), product("B2"), product("C3", unit_cost="5.00")],
            "stock": [stock("A1", 20), stock("B2", 10), stock("C3", 7)],
        },
        wms={
            "orders": [
                order("H1", "dispatched", source="E1", placed_at=day),
                order("H3", "dispatched", source="E3", placed_at=day),
                order("H4", "dispatched", source="E4", placed_at=ago(days=2)),
                order("H6", "in_progress", source="E6", placed_at=ago(hours=20)),
            ],
            "order_lines": lines("H1", {"A1": 1})
            + lines("H3", {"B2": 1})
            + lines("H4", {"A1": 1})
            + lines("H6", {"A1": 1}),
            "shipments": shipments("H1", {"A1": 1}, at=ago(minutes=30))
            + shipments("H3", {"B2": 1}, at=ago(hours=5))
            + shipments("H4", {"A1": 1}, at=day),
            "products": [product("A1"), product("B2"), product("C3")],
            "stock": [stock("A1", 19), stock("B2", 9), stock("C3", 5)],
        },
    )
    assert pairs(found) == {
        ("ORDER_NOT_AT_WMS", "E2"),
        ("DISPATCH_NOT_POSTED", "E3"),
        ("STOCK_DRIFT", "B2"),
        ("STOCK_DRIFT", "C3"),
    }
    assert exception(found, "ORDER_NOT_AT_WMS", "E2")["details"]["kind"] == "lost"
    assert exception(found, "STOCK_DRIFT", "B2")["team"] == "finance"
    assert exception(found, "STOCK_DRIFT", "C3")["team"] == "warehouse"


def test_cin7_core_to_whistl(tmp_path):
    day, recent = ago(days=1), ago(minutes=30)
    found = run(
        tmp_path,
        kinds={"erp": "cin7_core", "wms": "whistl"},
        config={
            "shipping_methods": {"Standard": "STD", "Next Day": "NDAY"},
            "express_service_codes": ["NDAY"],
        },
        erp={
            "orders": [
                order("C1", "released", placed_at=recent, shipping_method="Standard", ship_phone=None),
                order("C2", "released", placed_at=recent, shipping_method="Courier X"),
                order("C3", "released", placed_at=recent, shipping_method="Standard"),
                order("C4", "released", placed_at=ago(hours=31), shipping_method="Next Day"),
                order("C5", "released", placed_at=ago(hours=31), shipping_method="Standard"),
                order("C6", "released", placed_at=day, shipping_method="Standard"),
                order("C7", "released", placed_at=day, shipping_method="Next Day"),
            ],
            "order_lines": lines("C1", {"A1": 1})
            + lines("C2", {"A1": 1})
            + lines("C3", {"Z9": 1})
            + lines("C4", {"A1": 1})
            + lines("C5", {"B2": 1})
            + lines("C6", {"A1": 1})
            + lines("C7", {"B2": 1}),
            "adjustments": [adjustment("ADJ0", "B2", 3, occurred_at=ago(days=3))],
        },
        wms={
            "orders": [
                order("H4", "in_progress", source="C4", placed_at=ago(hours=30), shipping_method="Next Day"),
                order("H5", "in_progress", source="C5", placed_at=ago(hours=30), shipping_method="Standard"),
                order("H6", "rejected", source="C6", placed_at=day, hold_reason="Unknown carrier service"),
                order("H7", "dispatched", source="C7", placed_at=day, shipping_method="Next Day"),
            ],
            "order_lines": lines("H4", {"A1": 1})
            + lines("H5", {"B2": 1})
            + lines("H6", {"A1": 1})
            + lines("H7", {"B2": 1}),
            "shipments": shipments("H7", {"B2": 1}, at=recent, service_code="STD"),
            "products": [product("A1"), product("B2")],
            "adjustments": [
                adjustment("ADJ0", "B2", 3, occurred_at=ago(days=3)),
                adjustment("ADJ1", "A1", -1, occurred_at=ago(hours=5)),
                adjustment("ADJ2", "B2", 2, occurred_at=recent),
            ],
        },
    )  # fmt: skip
    assert pairs(found) == {
        ("ADDRESS_INVALID", "C1"),
        ("SHIPPING_UNMAPPED", "C2"),
        ("SKU_UNKNOWN", "Z9"),
        ("STUCK_PRE_DISPATCH", "C4"),
        ("ORDER_HELD", "C6"),
        ("SERVICE_MISMATCH", "C7"),
        ("ADJUSTMENT_NOT_POSTED", "ADJ1"),
    }
    assert exception(found, "ORDER_HELD", "C6")["team"] == "ops"


def test_centra_to_whistl(tmp_path):
    day = ago(days=1)
    found = run(
        tmp_path,
        kinds={"store": "centra", "wms": "whistl"},
        store={
            "orders": [
                order("S1", placed_at=ago(hours=3)),  # never sent to the warehouse
                order("S2", "cancelled", placed_at=day),  # the warehouse is still picking it
                order("S3", placed_at=day),  # dispatched a day ago, store not told
                order("S4", "dispatched", placed_at=ago(days=2)),
                order("S5", placed_at=ago(minutes=20)),
                order("S6", placed_at=day),
            ],
            "order_lines": lines("S1", {"A1": 1})
            + lines("S2", {"A1": 1})
            + lines("S3", {"B2": 1})
            + lines("S4", {"A1": 1})
            + lines("S5", {"A1": 1})
            + lines("S6", {"B2": 1}),
            "stock": [stock("A1", 8), stock("B2", 12)],
        },
        wms={
            "orders": [
                order("H2", "in_progress", source="S2", placed_at=day),
                order("H3", "dispatched", source="S3", placed_at=day),
                order("H4", "dispatched", source="S4", placed_at=ago(days=2)),
                order("H6", "in_progress", source="S6", placed_at=day),
            ],
            "order_lines": lines("H2", {"A1": 1})
            + lines("H3", {"B2": 1})
            + lines("H4", {"A1": 1})
            + lines("H6", {"B2": 1}),
            "shipments": shipments("H3", {"B2": 1}, at=day) + shipments("H4", {"A1": 1}, at=day),
            "products": [product("A1"), product("B2")],
            "stock": [stock("A1", 10), stock("B2", 10)],
        },
    )
    assert pairs(found) == {
        ("ORDER_NOT_AT_WMS", "S1"),
        ("CANCELLED_NOT_STOPPED", "S2"),
        ("DISPATCH_NOT_POSTED", "S3"),
        ("OVERSELL_RISK", "B2"),
    }
    assert exception(found, "ORDER_NOT_AT_WMS", "S1")["details"]["kind"] == "not_sent"
    assert exception(found, "CANCELLED_NOT_STOPPED", "S2")["team"] == "warehouse"


def test_woocommerce_to_prima_to_whistl(tmp_path):
    day, days3 = ago(days=1), ago(days=3)
    found = run(
        tmp_path,
        taken_at={"store": ago(minutes=4), "erp": ago(minutes=9), "wms": ago(minutes=7)},
        store={
            "orders": [
                order("W1", placed_at=day),  # the wms dispatched it, the erp never heard
                order("W2", "dispatched", placed_at=ago(days=2)),
                order("W3", placed_at=ago(hours=3)),  # released by the erp, lost
                order("W4", placed_at=day),  # dispatched everywhere but the store
                order("W5", placed_at=days3),  # stuck at the warehouse
                order("W6", placed_at=day),  # on credit hold in the erp
                order("W7", placed_at=ago(minutes=20)),
                order("W8", placed_at=day, **totals("120.00", "20.00")),  # VAT penny
                order("W9", placed_at=day),  # the warehouse copy lost a unit
            ],
            "order_lines": lines("W1", {"B2": 1})
            + lines("W2", {"A1": 1})
            + lines("W3", {"A1": 1})
            + lines("W4", {"A1": 1})
            + lines("W5", {"A1": 1})
            + lines("W6", {"A1": 1})
            + lines("W7", {"A1": 1})
            + lines("W8", {"A1": 1})
            + lines("W9", {"A1": 2}),
            "stock": [stock("A1", 17), stock("B2", 4)],
        },
        erp={
            "orders": [
                order("E1", "released", source="W1", placed_at=day),
                order("E2", "dispatched", source="W2", placed_at=ago(days=2), updated_at=day),
                order("E3", "released", source="W3", placed_at=ago(hours=3)),
                order("E4", "dispatched", source="W4", placed_at=day, updated_at=day),
                order("E5", "released", source="W5", placed_at=days3),
                order("E6", "held", source="W6", placed_at=day, hold_reason="Credit limit exceeded"),
                order("E8", "released", source="W8", placed_at=day, **totals("120.01", "20.01")),
                order("E9", "released", source="W9", placed_at=day),
            ],
            "order_lines": lines("E1", {"B2": 1})
            + lines("E2", {"A1": 1})
            + lines("E3", {"A1": 1})
            + lines("E4", {"A1": 1})
            + lines("E5", {"A1": 1})
            + lines("E6", {"A1": 1})
            + lines("E8", {"A1": 1})
            + lines("E9", {"A1": 2}),
            "products": [product("A1"), product("B2")],
            "stock": [stock("A1", 20), stock("B2", 5)],
        },
        wms={
            "orders": [
                order("H1", "dispatched", source="E1", placed_at=day),
                order("H2", "dispatched", source="E2", placed_at=ago(days=2)),
                order("H4", "dispatched", source="E4", placed_at=day),
                order("H5", "in_progress", source="E5", placed_at=ago(hours=50)),
                order("H8", "in_progress", source="E8", placed_at=ago(hours=20)),
                order("H9", "in_progress", source="E9", placed_at=ago(hours=20)),
            ],
            "order_lines": lines("H1", {"B2": 1})
            + lines("H2", {"A1": 1})
            + lines("H4", {"A1": 1})
            + lines("H5", {"A1": 1})
            + lines("H8", {"A1": 1})
            + lines("H9", {"A1": 1}),
            "shipments": shipments("H1", {"B2": 1}, at=day)
            + shipments("H2", {"A1": 1}, at=ago(days=2))
            + shipments("H4", {"A1": 1}, at=day),
            "products": [product("A1"), product("B2")],
            "stock": [stock("A1", 20), stock("B2", 4)],
        },
    )  # fmt: skip
    assert pairs(found) == {
        ("DISPATCH_NOT_POSTED", "W1"),
        ("STOCK_DRIFT", "B2"),
        ("ORDER_NOT_AT_WMS", "W3"),
        ("STORE_NOT_UPDATED", "W4"),
        ("STUCK_PRE_DISPATCH", "W5"),
        ("ORDER_HELD", "W6"),
        ("TAX_MISMATCH", "W8"),
        ("LINES_MISMATCH", "W9"),
    }
    assert exception(found, "ORDER_NOT_AT_WMS", "W3")["details"]["kind"] == "lost"
    assert exception(found, "ORDER_HELD", "W6")["team"] == "finance"
    assert exception(found, "STOCK_DRIFT", "B2")["team"] == "finance"
    oversell_free = found[found["rule"].isin(["OVERSELL_RISK", "UNDERSELL"])]
    assert oversell_free.empty
