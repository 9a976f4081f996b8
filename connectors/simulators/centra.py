"""Centra Integration API simulator: a world's store role behind `POST /graphql`.

It answers the operations the Centra connector sends (`ParityOrders`, `ParityStock`,
`ParityProducts`, `ParityPing`, chosen by `operationName` or the query's name) in the shape of
Centra's GraphQL answers — `{"data": …, "extensions": {"complexity": n}}` — rather than parsing
arbitrary GraphQL. `limit` must be 1–200 and pages are numbered from 1, as in Centra.

Limits: the framework's request rate limit (429 + Retry-After) applies per token; on top, each
answer's complexity is counted per token over a sliding window (`options["complexity_limit"]`
points per `options["complexity_window"]` seconds, default 150,000 per 10) and a query that does
not fit is answered with a GraphQL error naming the limit and `extensions.retryAfter`.
Complexity: 1 + 25 a listed order, 10 a product, 5 a stock row per warehouse (the quantities
other than freeToAllocate are "expensive scalars").

Order numbers are the digits of the world's order_ref; the non-digit prefix ("WEB-") is what the
connector's `order_prefix` option puts back. Warehouses are the world's stock locations (an empty
location is the "Main" warehouse). Products are grouped by name: all but the last two words the
product, then the variant, then the size. `options["corrupt"] = {order_ref: {"dotted.path":
value}}` serves those orders altered, for tests of malformed records.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict, deque
from decimal import Decimal
from itertools import count
from typing import Any

from connectors.simulators.server import (
    HttpError,
    SimRequest,
    SimResponse,
    SimulatorApp,
    json_response,
    register,
    route,
)
from connectors.simulators.storeworld import (
    Record,
    StoreWorld,
    as_number,
    corrupted,
    modified,
    parse_moment,
    split_name,
)
from reconciliation.frames import Bundle

# Canonical status → (Centra status, isOnHold). Released and in progress look like "processing"
# (a shipment exists) from the store; a held order is a confirmed one on hold.
CENTRA_STATUS: dict[str, tuple[str, bool]] = {
    "pending": ("PENDING", False),
    "open": ("CONFIRMED", False),
    "released": ("PROCESSING", False),
    "in_progress": ("PROCESSING", False),
    "partially_dispatched": ("PROCESSING", False),
    "dispatched": ("SHIPPED", False),
    "held": ("CONFIRMED", True),
    "rejected": ("CANCELLED", False),
    "cancelled": ("CANCELLED", False),
}
MAIN_WAREHOUSE = "Main"
COST = {"ParityOrders": 25, "ParityProducts": 10, "ParityStock": 5}
_NUMBERED = re.compile(r"^(\D*)(\d+)$")
_OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")


def _money(value: Decimal | None) -> dict[str, Any] | None:
    return None if value is None else {"value": as_number(value)}


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


# -- canonical rows → API records ----------------------------------------------------------------


def centra_order(
    order: Record, lines: list[Record], shipments: list[Record], *, number: int, prefix: str
) -> dict[str, Any]:
    """An order as the connector's `orders` query selects it."""
    status, on_hold = CENTRA_STATUS.get(order["status"], ("CONFIRMED", False))
    tax = order.get("tax_total")
    net = order.get("net_total")
    gross = order.get("gross_total")
    if gross is None and net is not None:
        gross = net + (tax or 0)
    cart_tax = sum((line.get("line_tax") or Decimal(0) for line in lines), Decimal(0))
    shipping_tax = (tax or Decimal(0)) - cart_tax
    shipping = order.get("shipping_total")
    discount = order.get("discount_total")
    first, last = split_name(order.get("ship_name"))
    line_ids = {line["sku"]: number * 100 + n for n, line in enumerate(lines, start=1)}
    parcels: dict[Any, list[Record]] = defaultdict(list)
    for row in shipments:
        parcels[row.get("shipment_ref")].append(row)
    return {
        "id": hashlib.md5(order["order_ref"].encode()).hexdigest(),  # an id, not a secret
        "number": number,
        "status": status,
        "isOnHold": on_hold,
        "createdAt": _iso(order["placed_at"]),
        "updatedAt": _iso(modified(order)),
        "grossTotal": _money(gross),
        "netTotal": _money(net),
        "shippingMethod": {"name": order["shipping_method"]}
        if order.get("shipping_method")
        else None,
        "shippingAddress": {
            "firstName": first,
            "lastName": last,
            "address1": order.get("ship_line1"),
            "address2": order.get("ship_line2"),
            "city": order.get("ship_city"),
            "zipCode": order.get("ship_postcode"),
            "phoneNumber": order.get("ship_phone"),
            "cellPhoneNumber": None,
            "email": order.get("email"),
            "country": {"code": order.get("ship_country")},
        },
        "customer": {"email": order.get("email")},
        "totals": {
            "shipping": _money(shipping + shipping_tax if shipping is not None else None),
            "shippingTaxIncluded": _money(shipping_tax),
            "discounts": _money(-discount if discount is not None else None),
        },
        "lines": [
            {
                "id": line_ids[line["sku"]],
                "quantity": line["quantity"],
                "taxPercent": (
                    None
                    if line.get("tax_rate") is None
                    else float(Decimal(repr(line["tax_rate"])) * 100)
                ),
                "productSize": {"SKU": line["sku"]},
                "unitOriginalPrice": _money(line.get("unit_price")),
                "net": _money(line.get("line_net")),
                "gross": _money(
                    None
                    if line.get("line_net") is None
                    else line["line_net"] + (line.get("line_tax") or 0)
                ),
            }
            for line in lines
        ],
        "shipments": [
            centra_shipment(rows, shipment_id=number * 100 + n, prefix=prefix, line_ids=line_ids)
            for n, rows in enumerate(parcels.values(), start=1)
        ],
    }


def centra_shipment(
    rows: list[Record], *, shipment_id: int, prefix: str, line_ids: dict[str, int]
) -> dict[str, Any]:
    first = rows[0]
    ref = first.get("shipment_ref") or str(shipment_id)
    carrier = first.get("carrier")
    service = first.get("service_code")
    return {
        "id": shipment_id,
        "number": ref[len(prefix) :] if prefix and ref.startswith(prefix) else ref,
        "createdAt": _iso(first.get("dispatched_at")),
        "shippedAt": _iso(first.get("dispatched_at")),
        "isShipped": True,
        "trackingNumber": first.get("tracking_number"),
        "carrierInformation": (
            {"carrierName": carrier, "serviceName": service} if carrier or service else None
        ),
        "lines": [
            {"quantity": row["quantity"], "orderLine": {"id": line_ids.get(row["sku"])}}
            for row in rows
        ],
    }


def centra_products(products: list[Record]) -> list[dict[str, Any]]:
    """The world's products as Centra's product → variant → size tree, grouped by name."""
    tree: dict[str, dict[str, list[tuple[str, Record]]]] = defaultdict(lambda: defaultdict(list))
    for product in products:
        name = product.get("name") or ""
        words = name.split(" ")
        if len(words) >= 3 and all(words):
            tree[" ".join(words[:-2])][words[-2]].append((words[-1], product))
        else:
            tree[name][""].append(("", product))
    ids = count(1)
    return [
        {
            "id": next(ids),
            "name": product_name,
            "variants": [
                {
                    "id": next(ids),
                    "name": variant_name,
                    "productSizes": [
                        {"SKU": p["sku"], "GTIN": p.get("barcode"), "size": {"name": size}}
                        for size, p in sizes
                    ],
                }
                for variant_name, sizes in variants.items()
            ],
        }
        for product_name, variants in tree.items()
    ]


# -- the simulator -------------------------------------------------------------------------------


@register
class CentraSimulator(SimulatorApp):
    kind = "centra"
    role = "store"
    default_credentials = {"api_token": "centra-parity-token"}

    def load(self, world: Bundle) -> None:
        super().load(world)
        self.store = StoreWorld.of(self)
        self.numbers: dict[str, tuple[int, str]] = {}
        for index, order in enumerate(self.store.orders, start=1):
            numbered = _NUMBERED.match(order["order_ref"])
            self.numbers[order["order_ref"]] = (
                (int(numbered[2]), numbered[1]) if numbered else (index, "")
            )
        by_location: dict[str, list[Record]] = defaultdict(list)
        for rows in self.store.stock.values():
            for row in rows:
                by_location[row.get("location") or MAIN_WAREHOUSE].append(row)
        self.warehouses = [
            {"id": i, "name": name, "rows": rows}
            for i, (name, rows) in enumerate(sorted(by_location.items()), start=1)
        ]
        self.products = centra_products(self.store.products)
        self.spent: dict[str, deque[tuple[float, int]]] = defaultdict(deque)

    def authenticate(self, request: SimRequest) -> str | None:
        token = request.bearer()
        return token if token and token == self.credentials["api_token"] else None

    def error_body(self, error: HttpError) -> SimResponse:
        body = {"errors": [{"message": str(error), "extensions": {"code": error.code}}]}
        return json_response(body, error.status, headers=error.headers)

    @route("POST", "/graphql")
    def graphql(self, request: SimRequest) -> SimResponse:
        payload = request.json()
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise HttpError(400, "Send a JSON object with a query", code="BAD_REQUEST")
        found = _OPERATION.search(payload["query"])
        operation = payload.get("operationName") or (found[1] if found else "")
        variables = payload.get("variables") or {}
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            return _errors(f'Unknown operation "{operation}"', "GRAPHQL_VALIDATION_FAILED")
        limit = variables.get("limit", 1)
        if not isinstance(limit, int) or not 1 <= limit <= 200:
            return _errors("Limit must be in range 1 - 200", "BAD_USER_INPUT")
        data, complexity = handler(variables, limit)
        wait = self._over_budget(request.credential or "", complexity)
        if wait:
            return json_response(
                {
                    "errors": [
                        {
                            "message": "Query complexity limit exceeded",
                            "extensions": {"code": "RATE_LIMITED", "retryAfter": round(wait, 3)},
                        }
                    ],
                    "extensions": {"complexity": complexity},
                }
            )
        return json_response({"data": data, "extensions": {"complexity": complexity}})

    def _over_budget(self, token: str, complexity: int) -> float:
        """Seconds until `complexity` fits this token's window, or 0 (and it is counted)."""
        budget = int(self.options.get("complexity_limit", 150_000))
        window = float(self.options.get("complexity_window", 10.0))
        now = time.monotonic()
        spent = self.spent[token]
        while spent and now - spent[0][0] >= window:
            spent.popleft()
        if spent and sum(points for _, points in spent) + complexity > budget:
            return spent[0][0] + window - now
        spent.append((now, complexity))
        return 0.0

    # -- operations ------------------------------------------------------------------------------

    def _op_ParityPing(self, variables: dict[str, Any], limit: int) -> tuple[Any, int]:
        return {"stores": [{"id": 1, "name": "Retail"}]}, 1

    def _op_ParityOrders(self, variables: dict[str, Any], limit: int) -> tuple[Any, int]:
        moment = ((variables.get("where") or {}).get("updatedAt") or {}).get("from")
        since = parse_moment(moment, "updatedAt.from") if moment else None
        chosen = self.store.cached(
            ("orders", since),
            lambda: [o for o in self.store.orders if since is None or modified(o) >= since],
        )
        page, _ = self.paginate(chosen, int(variables.get("page", 1)), limit)
        orders = []
        for order in page:
            number, prefix = self.numbers[order["order_ref"]]
            record = centra_order(
                order,
                self.store.lines.get(order["order_ref"], []),
                self.store.shipments.get(order["order_ref"], []),
                number=number,
                prefix=prefix,
            )
            orders.append(
                corrupted(record, self.options.get("corrupt", {}).get(order["order_ref"]))
            )
        return {"orders": orders}, 1 + COST["ParityOrders"] * limit

    def _op_ParityProducts(self, variables: dict[str, Any], limit: int) -> tuple[Any, int]:
        page, _ = self.paginate(self.products, int(variables.get("page", 1)), limit)
        return {"products": page}, 1 + COST["ParityProducts"] * limit

    def _op_ParityStock(self, variables: dict[str, Any], limit: int) -> tuple[Any, int]:
        number = int(variables.get("page", 1))
        warehouses = []
        for warehouse in self.warehouses:
            rows, _ = self.paginate(warehouse["rows"], number, limit)
            warehouses.append(
                {
                    "id": warehouse["id"],
                    "name": warehouse["name"],
                    "stock": [
                        {
                            "productSize": {"SKU": row["sku"]},
                            "physicalQuantity": row["on_hand"],
                            "allocatedQuantity": row.get("allocated") or 0,
                            "freeToAllocateQuantity": (
                                row["available"]
                                if row.get("available") is not None
                                else (row["on_hand"] or 0) - (row.get("allocated") or 0)
                            ),
                        }
                        for row in rows
                    ],
                }
            )
        return {"warehouses": warehouses}, 1 + COST["ParityStock"] * limit * len(self.warehouses)


def _errors(message: str, code: str) -> SimResponse:
    return json_response({"errors": [{"message": message, "extensions": {"code": code}}]})
