"""The rule catalogue of rules.md, in its order. Each rule is a pure function of a Context."""

from reconciliation.rules import flow, health, lines, master, money, stock
from reconciliation.rules.base import Rule

RULES: tuple[Rule, ...] = (
    Rule("ORDER_NOT_IN_ERP", "order_flow", flow.order_not_in_erp),
    Rule("ORDER_NOT_AT_WMS", "order_flow", flow.order_not_at_wms),
    Rule("ORDER_HELD", "order_flow", flow.order_held),
    Rule("DISPATCH_NOT_POSTED", "order_flow", flow.dispatch_not_posted),
    Rule("STORE_NOT_UPDATED", "order_flow", flow.store_not_updated),
    Rule("CANCELLED_NOT_STOPPED", "order_flow", flow.cancelled_not_stopped),
    Rule("STUCK_PRE_DISPATCH", "order_flow", flow.stuck_pre_dispatch),
    Rule("TRACKING_MISSING", "order_flow", flow.tracking_missing),
    Rule("LINES_MISMATCH", "order_flow", lines.lines_mismatch),
    Rule("SHIPPED_QTY_MISMATCH", "order_flow", lines.shipped_qty_mismatch),
    Rule("DUPLICATE_ORDER", "order_flow", lines.duplicate_order),
    Rule("ORPHAN_ORDER", "order_flow", lines.orphan_order),
    Rule("SERVICE_MISMATCH", "order_flow", lines.service_mismatch),
    Rule("TAX_MISMATCH", "money", money.tax_mismatch),
    Rule("TOTAL_MISMATCH", "money", money.total_mismatch),
    Rule("SKU_UNKNOWN", "master_data", master.sku_unknown),
    Rule("SKU_INVALID_FORMAT", "master_data", master.sku_invalid_format),
    Rule("SHIPPING_UNMAPPED", "master_data", master.shipping_unmapped),
    Rule("ADDRESS_INVALID", "master_data", master.address_invalid),
    Rule("NON_STOCK_SENT", "master_data", master.non_stock_sent),
    Rule("STOCK_DRIFT", "stock", stock.stock_drift),
    Rule("ADJUSTMENT_NOT_POSTED", "stock", stock.adjustment_not_posted),
    Rule("OVERSELL_RISK", "stock", stock.oversell_risk),
    Rule("UNDERSELL", "stock", stock.undersell),
    Rule("NEGATIVE_STOCK", "stock", stock.negative_stock),
    Rule("SNAPSHOT_STALE", "sync_health", health.snapshot_stale),
    Rule("SYNC_FAILED", "sync_health", health.sync_failed),
)

RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
