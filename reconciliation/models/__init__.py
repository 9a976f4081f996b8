"""The reconciliation app's models, one module per subject; import them from here."""

from reconciliation.models.metrics import Figure, MonthEndItem, RunMetrics
from reconciliation.models.month_end import (
    ChecklistItem,
    MonthEndCheck,
    MonthEndCheckEvent,
    MonthEndClose,
)
from reconciliation.models.runs import ReconciliationRun, RunAlreadyRunning
from reconciliation.models.snapshots import (
    ROW_MODELS,
    InvalidTransition,
    Role,
    Snapshot,
    SnapshotAdjustment,
    SnapshotOrder,
    SnapshotOrderLine,
    SnapshotProduct,
    SnapshotRow,
    SnapshotShipment,
    SnapshotStock,
)

__all__ = [
    "ROW_MODELS",
    "ChecklistItem",
    "Figure",
    "MonthEndCheck",
    "MonthEndCheckEvent",
    "MonthEndClose",
    "MonthEndItem",
    "RunMetrics",
    "InvalidTransition",
    "ReconciliationRun",
    "Role",
    "RunAlreadyRunning",
    "Snapshot",
    "SnapshotAdjustment",
    "SnapshotOrder",
    "SnapshotOrderLine",
    "SnapshotProduct",
    "SnapshotRow",
    "SnapshotShipment",
    "SnapshotStock",
]
