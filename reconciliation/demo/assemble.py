"""The demo world as canonical frames: each system's products, orders, lines, shipments, stock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from reconciliation.demo.catalogue import (
    NON_STOCK,
    VAT_RATE,
    Product,
)
from reconciliation.demo.stock import StockPlan, spread
from reconciliation.demo.world import Copy, Order, World
from reconciliation.frames import PANDAS_DTYPES, SCHEMAS, SKU_MAP_SCHEMA, TIME


def money(pence: int | None) -> int | None:
    """Pence (how the demo counts) to the frames' ten-thousandths."""
    return None if pence is None else pence * 100


def frame(file: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows (dicts keyed by canonical column) as a frame of the canonical columns and dtypes."""
    schema = SKU_MAP_SCHEMA if file == "sku_map" else SCHEMAS[file]
    columns: dict[str, Any] = {}
    for column, kind in schema.items():
        values = [row.get(column) for row in rows]
        if kind == TIME:
            # Whole seconds, as the source systems export them.
            stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True).dt.floor("s")
            columns[column] = stamps.astype(PANDAS_DTYPES[TIME])
        else:
            columns[column] = pd.array(values, dtype=PANDAS_DTYPES[kind])
    return pd.DataFrame(columns)


class Renderer:
    """Writes each system's rows, translating canonical SKUs into the warehouse's aliases."""

    def __init__(self, world: World, aliases: dict[str, str]) -> None:
        self.world = world
        self.aliases = aliases

    def sku(self, role: str, sku: str) -> str:
        return self.aliases.get(sku, sku) if role == "wms" else sku

    def orders(self, role: str, orders: Iterable[Order]) -> dict[str, pd.DataFrame]:
        copies = sorted(
            (c for o in orders for c in o.copies if c.role == role), key=lambda c: c.order_ref
        )
        order_rows = [self._order_row(copy) for copy in copies]
        line_rows = [row for copy in copies for row in self._line_rows(copy)]
        shipment_rows = [row for copy in copies for row in self._shipment_rows(copy)]
        frames = {
            "orders": frame("orders", order_rows),
            "order_lines": frame("order_lines", line_rows),
        }
        if role != "store":  # the website keeps no parcels: it only learns "completed"
            frames["shipments"] = frame("shipments", shipment_rows)
        return frames

    def _order_row(self, copy: Copy) -> dict[str, Any]:
        address = copy.address
        return {
            "order_ref": copy.order_ref,
            "source_ref": copy.link,
            "status": copy.status,
            "hold_reason": copy.hold_reason,
            "placed_at": copy.placed_at,
            "updated_at": copy.updated_at,
            "net_total": money(copy.net),
            "tax_total": money(copy.tax),
            "gross_total": money(copy.gross),
            "shipping_total": money(copy.shipping),
            "discount_total": money(copy.discount),
            "shipping_method": copy.shipping_method,
            "ship_name": address.name,
            "ship_line1": address.line1,
            "ship_line2": address.line2,
            "ship_city": address.city,
            "ship_postcode": address.postcode,
            "ship_country": address.country,
            "ship_phone": address.phone,
            "email": address.email,
        }

    def _line_rows(self, copy: Copy) -> list[dict[str, Any]]:
        step = 10 if copy.role == "erp" else 1  # Prima numbers its lines 10, 20, 30
        priced = copy.role != "wms"  # the 3PL holds no prices
        rows = []
        for number, line in enumerate(copy.lines, start=1):
            rows.append(
                {
                    "order_ref": copy.order_ref,
                    "line_no": str(number * step),
                    "sku": self.sku(copy.role, line.sku),
                    "quantity": line.quantity,
                    "unit_price": line.unit_price if priced else None,
                    "line_net": money(line.net) if priced else None,
                    "line_tax": money(line.tax) if priced else None,
                    "tax_rate": VAT_RATE if priced else None,
                }
            )
        return rows

    def _shipment_rows(self, copy: Copy) -> list[dict[str, Any]]:
        return [
            {
                "order_ref": copy.order_ref,
                "shipment_ref": parcel.ref,
                "sku": self.sku(copy.role, sku),
                "quantity": quantity,
                "carrier": parcel.carrier,
                "service_code": parcel.service,
                "tracking_number": parcel.tracking,
                "dispatched_at": parcel.at,
            }
            for parcel in copy.parcels
            for sku, quantity in parcel.items
        ]

    def stock(self, role: str, plan: StockPlan) -> pd.DataFrame:
        rows = []
        for number, (sku, wms_on_hand) in enumerate(sorted(plan.wms_on_hand.items())):
            if role == "wms":
                allocated = plan.wms_allocated[sku]
                parts = spread(wms_on_hand, 2 if sku in plan.second_location else 1, self.world.rng)
                for index, on_hand in enumerate(parts):
                    held = allocated if index == 0 else 0
                    rows.append(
                        {
                            "sku": self.sku(role, sku),
                            "location": f"{'AB'[index]}-{number // 40 + 1:02d}-{number % 40:02d}",
                            "on_hand": on_hand,
                            "allocated": held,
                            "available": on_hand - held,
                        }
                    )
            elif role == "erp":
                on_hand, allocated = plan.erp_on_hand[sku], plan.erp_allocated[sku]
                rows.append(
                    {
                        "sku": sku,
                        "location": "MAIN",
                        "on_hand": on_hand,
                        "allocated": allocated,
                        "available": on_hand - allocated,
                    }
                )
            else:
                available = plan.store_available[sku]
                rows.append(
                    {"sku": sku, "on_hand": available, "allocated": 0, "available": available}
                )
        return frame("stock", rows)

    def adjustments(self, role: str, plan: StockPlan) -> pd.DataFrame:
        rows = [
            {
                "adjustment_ref": a.ref,
                "sku": self.sku(role, a.sku),
                "delta": a.delta,
                "reason": a.reason,
                "occurred_at": a.at,
            }
            for a in sorted(plan.adjustments, key=lambda a: a.ref)
            if role == "wms" or a.posted
        ]
        return frame("adjustments", rows)

    def products(
        self, role: str, products: list[Product], non_stock: tuple[str, ...]
    ) -> pd.DataFrame:
        rows = [
            {
                "sku": self.sku(role, product.sku),
                "name": product.name,
                "barcode": product.barcode,
                "unit_cost": money(product.unit_cost) if role == "erp" else None,
                "is_stock_item": True,
            }
            for product in products
        ]
        rows += [
            {"sku": sku, "name": NON_STOCK[sku][0], "is_stock_item": False} for sku in non_stock
        ]
        return frame("products", rows)
