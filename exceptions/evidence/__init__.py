"""The evidence behind one exception, read from the snapshots of the run that last saw it.

`evidence_for(exception)` gathers what a person needs to act without opening the store, the ERP or
the warehouse: for an order, the order as each system sees it side by side (status, totals, lines,
shipments with tracking, address) with the differing values flagged; for a SKU, on hand / allocated
/ available per system, the drift explanation from the exception's details and the orders
committing the stock; and, for both, the raw snapshot rows it was built from.

Every lookup is by (snapshot, ref) or (snapshot, sku), so the number of queries is bounded whatever
the snapshots' size: at most 7 for an order, 6 for a SKU (the tests pin them).
"""

from __future__ import annotations

from typing import Any

from exceptions.evidence.common import World, by_pipeline, empty
from exceptions.evidence.orders import order_evidence
from exceptions.evidence.skus import sku_evidence
from exceptions.models import ExceptionRecord

__all__ = ["SKU_RULES", "SNAPSHOT_RULES", "evidence_for"]

# Rules keyed by a canonical SKU (ADJUSTMENT_NOT_POSTED is keyed by the adjustment; its SKU is in
# the details). Every other rule but the snapshot ones is keyed by an order (rules.md).
SKU_RULES = frozenset(
    {
        "STOCK_DRIFT",
        "OVERSELL_RISK",
        "UNDERSELL",
        "NEGATIVE_STOCK",
        "SKU_UNKNOWN",
        "SKU_INVALID_FORMAT",
        "ADJUSTMENT_NOT_POSTED",
    }
)
SNAPSHOT_RULES = frozenset({"SNAPSHOT_STALE", "SYNC_FAILED"})


def evidence_for(exception: ExceptionRecord) -> dict[str, Any]:
    """Everything the detail page shows about the systems' records behind `exception`.

    Always has `kind` ("order", "sku", "snapshots" or "none"), `run`, `snapshots` (role, system,
    taken_at of each) and `raw` (the snapshot rows used, per file and role); `message` says why
    nothing was found. Load the exception with select_related("last_run") as the detail view does,
    or reading the run costs one more query."""
    run = exception.last_run
    if run is None:
        return empty("none", None, "No reconciliation run has recorded this exception yet.")
    snapshots = by_pipeline(run.snapshots.all())
    if not snapshots:
        return empty("none", None, f"The snapshots of run {run.pk} are no longer stored.", run=run)
    world = World(run, snapshots)
    if exception.rule in SNAPSHOT_RULES:
        return empty("snapshots", world, "")
    if exception.rule in SKU_RULES:
        return sku_evidence(exception, world)
    return order_evidence(exception, world)
