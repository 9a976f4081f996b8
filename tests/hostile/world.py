"""The month-end world (tests/reconciliation/month_end_bundle.py) with outside text put where
outside text arrives: a held order W8 carrying a customer, an address and a hold reason, product
names, the drifting SKU, the unposted adjustment's reason, carriers.

    W2  (renamed `dispatched_ref`) dispatched, not posted: DISPATCH_NOT_POSTED, month-end records
    W8  store open, ERP released, warehouse held (`hold_reason`), address unusable
        -> ORDER_HELD and ADDRESS_INVALID (a held order), keyed by the store ref `order_ref`
    sku (the tee) drifts and its adjustment is not posted
        -> STOCK_DRIFT, ADJUSTMENT_NOT_POSTED, the top-SKUs chart, month-end records

Every field has a harmless default; a test passes the ones it aims at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reconciliation.models import ReconciliationRun
from reconciliation.runs import reconcile_path
from tests.bundles import write_bundle_dir
from tests.reconciliation.month_end_bundle import AS_OF, SYSTEMS, _at, world_files


@dataclass(frozen=True)
class Text:
    order_ref: str = "W8"
    dispatched_ref: str = "W2"  # the store ref of the order dispatched but not posted
    sku: str = "TEE"
    product_name: str = "Tee"
    ship_name: str = "Jane Smith"
    ship_line1: str = "1 High Street"
    ship_city: str = "London"
    ship_postcode: str = "NOT A POSTCODE"
    ship_phone: str = "07700 900123"
    email: str = "jane.smith@example.com"
    hold_reason: str = "Address check"
    adjustment_reason: str = "Found in returns"
    carrier: str = "Royal Mail"


def hostile_files(text: Text) -> dict[str, list[dict[str, Any]]]:
    files = world_files(AS_OF, tee_ref=text.sku)
    if text.dispatched_ref != "W2":
        renamed = {
            "W2": text.dispatched_ref,
            "E2": "E-" + text.dispatched_ref,
            "H2": "H-" + text.dispatched_ref,
        }
        for rows in files.values():
            for row in rows:
                for column in ("order_ref", "source_ref"):
                    if row.get(column) in renamed:
                        row[column] = renamed[row[column]]
    now = pd.Timestamp(AS_OF)
    address = {
        "ship_name": text.ship_name,
        "ship_line1": text.ship_line1,
        "ship_city": text.ship_city,
        "ship_postcode": text.ship_postcode,
        "ship_country": "GB",
        "ship_phone": text.ship_phone,
        "email": text.email,
    }
    refs = {"store": text.order_ref, "erp": "E-" + text.order_ref, "wms": "H-" + text.order_ref}
    files["store/orders.csv"].append(
        {"order_ref": refs["store"], "status": "open", "placed_at": _at(now, 10), **address}
    )
    files["erp/orders.csv"].append(
        {
            "order_ref": refs["erp"],
            "source_ref": refs["store"],
            "status": "released",
            "placed_at": _at(now, 10, 5),
            **address,
        }
    )
    files["wms/orders.csv"].append(
        {
            "order_ref": refs["wms"],
            "source_ref": refs["erp"],
            "status": "held",
            "hold_reason": text.hold_reason,
            "placed_at": _at(now, 10, 30),
            **address,
        }
    )
    for role, ref in refs.items():
        files[f"{role}/order_lines.csv"].append(
            {"order_ref": ref, "line_no": "1", "sku": "CAP", "quantity": "1"}
        )
    for name in ("erp/products.csv", "wms/products.csv"):
        files[name] = [
            {**row, "name": text.product_name} if row["sku"] == text.sku else row
            for row in files[name]
        ]
    files["wms/adjustments.csv"][0]["reason"] = text.adjustment_reason
    for row in files["wms/shipments.csv"]:
        row["carrier"] = text.carrier
    return files


def reconcile_hostile(root: Path, text: Text) -> ReconciliationRun:
    run, _ = reconcile_path(
        write_bundle_dir(root / "bundle", as_of=AS_OF, systems=SYSTEMS, files=hostile_files(text))
    )
    assert run is not None
    return run


@dataclass(frozen=True)
class Furnished:
    """What add_outside_text made, for the pages that show it."""

    connection_id: int
    sync_run_id: int
    route_id: int


def add_outside_text(actor: Any, payload: str) -> Furnished:
    """`payload` where people and other systems type: a comment, a resolution note, a user's name,
    mapping values (through the CSV import, so the history shows them too), a connection's name and
    URL, a failed sync's error, a quarantined record, an alert route and a failed delivery."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from connectors.models import Connection, QuarantinedRecord, SyncRun
    from exceptions import actions
    from exceptions.alert_models import AlertDelivery, AlertRoute
    from exceptions.models import ExceptionRecord
    from integration import mapping_csv

    records = ExceptionRecord.objects.order_by("id")
    for record in records:
        actions.comment(record, actor, payload)
    person = get_user_model().objects.create_user(
        username="evil", first_name=payload, last_name=payload
    )
    person.groups.add(Group.objects.get_or_create(name="Ops")[0])
    actions.assign(records.get(rule="DISPATCH_NOT_POSTED"), actor, "ops", person)
    actions.resolve(records.get(rule="TAX_MISMATCH", key="W4"), actor, "other", payload)

    quoted = '"' + payload.replace('"', '""') + '"'
    mapping_csv.import_csv(
        actor,
        "sku_aliases",
        f"role,sku,canonical_sku\nwms,{quoted},CAP\nerp,CAP,{quoted}\n".encode(),
    )
    mapping_csv.import_csv(actor, "non_stock", f"sku,description\n{quoted},{quoted}\n".encode())
    mapping_csv.import_csv(
        actor, "shipping", f"shipping_method,service_code,express\n{quoted},WHX,no\n".encode()
    )

    connection = Connection.objects.create(
        name=payload, kind="woocommerce", role="store", base_url="javascript:alert(1)"
    )
    run = SyncRun.objects.create(connection=connection, state="failed", error=payload)
    QuarantinedRecord.objects.create(
        sync_run=run, file="orders", ref=payload, reason=payload, payload={"name": payload}
    )
    run.quarantined = 1
    run.save(update_fields=["quarantined"])

    route = AlertRoute.objects.create(name=payload, emails="ops@example.com")
    AlertDelivery.objects.create(
        route=route,
        kind="opened",
        channel="email",
        status="failed",
        exception=records.first(),
        text=payload,
        last_error=payload,
    )
    return Furnished(connection.pk, run.pk, route.pk)
