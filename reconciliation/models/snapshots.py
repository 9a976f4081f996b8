"""Snapshots: one system's records at one moment, immutable once complete.

The row tables mirror `frames.SCHEMAS` column for column so a snapshot loads back into exactly the
frames it was saved from; `store.py` writes and reads them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class InvalidTransition(Exception):
    """A status change the state machine does not allow (e.g. completing a failed run)."""


class Role(models.TextChoices):
    STORE = "store", "Store"
    ERP = "erp", "ERP"
    WMS = "wms", "Warehouse"


class Snapshot(models.Model):
    class Status(models.TextChoices):
        LOADING = "loading", "Loading"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        BUNDLE = "bundle", "Bundle"
        CONNECTOR = "connector", "Connector"

    TRANSITIONS: dict[str, set[str]] = {
        Status.LOADING: {Status.COMPLETE, Status.FAILED},
        Status.COMPLETE: set(),
        Status.FAILED: set(),
    }

    role = models.CharField(max_length=8, choices=Role.choices)
    kind = models.CharField(max_length=100, blank=True)
    taken_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    source_name = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LOADING)
    # file -> rows for every file present; a file missing from the snapshot is absent here.
    row_counts = models.JSONField(default=dict, blank=True)
    # file -> names of the non-canonical columns, in file order (jsonb does not keep key order).
    extra_columns = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["role", "status", "-taken_at"], name="snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.role} {self.kind} @ {self.taken_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_complete(self) -> bool:
        return self.status == self.Status.COMPLETE

    def _move(self, status: str) -> None:
        if status not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(f"snapshot {self.pk}: cannot go from {self.status} to {status}")
        self.status = status

    def mark_complete(self, row_counts: dict[str, int]) -> None:
        self._move(self.Status.COMPLETE)
        self.row_counts = row_counts
        self.save(update_fields=["status", "row_counts"])

    def mark_failed(self, error: str) -> None:
        self._move(self.Status.FAILED)
        self.error = error
        self.save(update_fields=["status", "error"])


class SnapshotRow(models.Model):
    """Columns every row table shares; `extra` holds the file's non-canonical columns."""

    extra = models.JSONField(null=True, blank=True)

    class Meta:
        abstract = True


def _snapshot_fk() -> models.ForeignKey:
    # No database constraint: PostgreSQL checks one per row at commit, which halves COPY speed.
    # Rows are only written by the store, inside the transaction that creates their snapshot,
    # and Django still cascades deletes. For the same reason the row tables carry few indexes:
    # this one (a snapshot is read whole) and one (snapshot, ref) per table, plus (snapshot, sku)
    # on order lines, for the evidence and held-order pages, which look single records up (they
    # make COPY somewhat slower; accepted).
    return models.ForeignKey(
        Snapshot, on_delete=models.CASCADE, related_name="+", db_index=True, db_constraint=False
    )


def _money() -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)


class SnapshotProduct(SnapshotRow):
    snapshot = _snapshot_fk()
    sku = models.TextField()
    name = models.TextField(null=True, blank=True)
    barcode = models.TextField(null=True, blank=True)
    unit_cost = _money()
    is_stock_item = models.BooleanField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "sku"], name="snap_product_sku"),
        ]

    def __str__(self) -> str:
        return self.sku


class SnapshotOrder(SnapshotRow):
    snapshot = _snapshot_fk()
    order_ref = models.TextField()
    source_ref = models.TextField(null=True, blank=True)
    status = models.TextField()
    hold_reason = models.TextField(null=True, blank=True)
    placed_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    net_total = _money()
    tax_total = _money()
    gross_total = _money()
    shipping_total = _money()
    discount_total = _money()
    shipping_method = models.TextField(null=True, blank=True)
    ship_name = models.TextField(null=True, blank=True)
    ship_line1 = models.TextField(null=True, blank=True)
    ship_line2 = models.TextField(null=True, blank=True)
    ship_city = models.TextField(null=True, blank=True)
    ship_postcode = models.TextField(null=True, blank=True)
    ship_country = models.TextField(null=True, blank=True)
    ship_phone = models.TextField(null=True, blank=True)
    email = models.TextField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "order_ref"], name="snap_order_ref"),
            models.Index(fields=["snapshot", "source_ref"], name="snap_order_source_ref"),
        ]

    def __str__(self) -> str:
        return self.order_ref


class SnapshotOrderLine(SnapshotRow):
    snapshot = _snapshot_fk()
    order_ref = models.TextField()
    line_no = models.TextField()
    sku = models.TextField()
    quantity = models.BigIntegerField()
    unit_price = _money()
    line_net = _money()
    line_tax = _money()
    tax_rate = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "order_ref"], name="snap_line_order_ref"),
            # A SKU's evidence: the orders holding its stock.
            models.Index(fields=["snapshot", "sku"], name="snap_line_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref}/{self.line_no}"


class SnapshotShipment(SnapshotRow):
    snapshot = _snapshot_fk()
    order_ref = models.TextField()
    shipment_ref = models.TextField(null=True, blank=True)
    sku = models.TextField()
    quantity = models.BigIntegerField()
    carrier = models.TextField(null=True, blank=True)
    service_code = models.TextField(null=True, blank=True)
    tracking_number = models.TextField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "order_ref"], name="snap_shipment_order_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref} {self.sku}"


class SnapshotStock(SnapshotRow):
    snapshot = _snapshot_fk()
    sku = models.TextField()
    location = models.TextField(null=True, blank=True)
    on_hand = models.BigIntegerField(null=True, blank=True)
    allocated = models.BigIntegerField(null=True, blank=True)
    available = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "sku"], name="snap_stock_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} @ {self.location or '-'}"


class SnapshotAdjustment(SnapshotRow):
    snapshot = _snapshot_fk()
    adjustment_ref = models.TextField()
    sku = models.TextField()
    delta = models.BigIntegerField()
    reason = models.TextField(null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["snapshot", "adjustment_ref"], name="snap_adjustment_ref"),
        ]

    def __str__(self) -> str:
        return self.adjustment_ref


# frames file name -> its row table; the store walks this.
ROW_MODELS: dict[str, type[SnapshotRow]] = {
    "products": SnapshotProduct,
    "orders": SnapshotOrder,
    "order_lines": SnapshotOrderLine,
    "shipments": SnapshotShipment,
    "stock": SnapshotStock,
    "adjustments": SnapshotAdjustment,
}
