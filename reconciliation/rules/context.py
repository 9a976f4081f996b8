"""The shared, derived view of a bundle that every rule reads: links, origins, canonical SKUs.

Everything here is vectorised. Orders are addressed by their position in their role's frame
(an int64 array per role); an order's upstream and downstream copies are positions too, so rules
join with numpy `take` instead of merging on string keys. SKUs are canonical strings mapped to
integer codes once, so group-bys run on integers.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reconciliation.frames import Bundle, empty_frame
from reconciliation.settings import ReconSettings

DISPATCHED = ("partially_dispatched", "dispatched")
OUTBOUND_STATUSES = ("open", "released", "held", "rejected")
HELD_STATUSES = ("held", "rejected")

SYSTEM_NAMES = {
    "woocommerce": "WooCommerce",
    "magento": "Magento",
    "centra": "Centra",
    "prima": "Prima",
    "cin7": "Cin7 Core",
    "cin7_core": "Cin7 Core",
    "cin7core": "Cin7 Core",
    "whistl": "Whistl",
}
ROLE_NAMES = {"store": "the store", "erp": "the ERP", "wms": "the warehouse"}


class RuleSkipped(Exception):  # noqa: N818 - a signal, not an error
    """A rule's roles or files are missing: the rule is skipped, never guessed."""


def positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """For each value, the position of the equal key (keys unique), else -1. Nulls never match."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    if len(keys) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    found = pc.index_in(_arrow(values), value_set=_arrow(keys))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _arrow(series: pd.Series) -> pa.Array:
    array = pa.array(series.array) if not isinstance(series.array, np.ndarray) else None
    if array is None:
        array = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string())


def pick(series: pd.Series, where: np.ndarray) -> pd.Series:
    """series.iloc[where] keeping the dtype, with a missing value where the position is -1."""
    if len(series) == 0:
        return pd.Series([None] * len(where), dtype=series.dtype)
    picked = series.iloc[np.where(where >= 0, where, 0)].reset_index(drop=True)
    if (where < 0).any():
        picked[where < 0] = None
    return picked


def take(values: np.ndarray | pd.Series, where: np.ndarray, fill: object = None) -> np.ndarray:
    """values[where] with `fill` where the position is -1."""
    array = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    if len(array) == 0:
        out = np.empty(len(where), dtype=object)
        out[:] = fill
        return out
    result = array[np.where(where >= 0, where, 0)]
    if (where < 0).any():
        result = result.astype(object) if result.dtype.kind not in "OU" else result
        result = result.copy()
        result[where < 0] = fill
    return result


class Context:
    """A bundle prepared for the rules. Properties are computed on first use and cached."""

    def __init__(self, bundle: Bundle, settings: ReconSettings) -> None:
        self.bundle = bundle
        self.settings = settings
        self.as_of: pd.Timestamp = pd.Timestamp(bundle.as_of).tz_convert("UTC")
        self.pipeline: list[str] = bundle.pipeline
        self._orders: dict[str, pd.DataFrame] = {}
        self._down: dict[str, np.ndarray] = {}
        self._items: dict[tuple[str, str], pd.DataFrame] = {}
        self._qty: dict[tuple[str, str], pd.DataFrame] = {}
        self._shipped_at: dict[str, pd.Series] = {}
        self._gross: dict[str, np.ndarray] = {}

    # -- roles and files -----------------------------------------------------------------

    def has(self, role: str, *files: str) -> bool:
        if role not in self.bundle.roles:
            return False
        return all(self.bundle.roles[role].has(file) for file in files)

    def require(self, role: str | None, *files: str) -> str:
        if role is None or role not in self.bundle.roles:
            raise RuleSkipped(f"no {role or 'upstream'} role")
        for file in files:
            if not self.bundle.roles[role].has(file):
                raise RuleSkipped(f"no {role}/{file}.csv")
        return role

    def skip(self, reason: str) -> None:
        raise RuleSkipped(reason)

    def upstream(self, role: str) -> str | None:
        return self.bundle.upstream(role)

    def downstream(self, role: str) -> str | None:
        position = self.pipeline.index(role)
        return self.pipeline[position + 1] if position + 1 < len(self.pipeline) else None

    def wms_else_erp(self) -> str:
        if "wms" in self.bundle.roles:
            return "wms"
        if "erp" in self.bundle.roles:
            return "erp"
        raise RuleSkipped("neither wms nor erp role")

    def system(self, role: str) -> str:
        """How people call the system in a role: 'Whistl', else 'the warehouse'."""
        kind = (self.bundle.roles[role].kind or "").strip()
        key = kind.lower().replace(" ", "_").replace("-", "_")
        if key in SYSTEM_NAMES:
            return SYSTEM_NAMES[key]
        return kind if kind else ROLE_NAMES[role]

    def raw(self, role: str, file: str) -> pd.DataFrame:
        frame = self.bundle.frame(role, file)
        return frame if frame is not None else empty_frame(file)

    # -- SKUs ------------------------------------------------------------------------------

    @cached_property
    def _alias(self) -> dict[str, pd.DataFrame]:
        """role -> frame(sku, canonical_sku) from sku_map.csv."""
        sku_map = self.bundle.sku_map
        if sku_map is None or sku_map.empty:
            return {}
        return {
            str(role): group[["sku", "canonical_sku"]].reset_index(drop=True)
            for role, group in sku_map.groupby("role", observed=True)
        }

    def canonical(self, role: str, skus: pd.Series) -> pd.Series:
        """A role's SKUs after sku_map.csv (unmapped SKUs are already canonical)."""
        alias = self._alias.get(role)
        skus = skus.astype("string[pyarrow]").reset_index(drop=True)
        if alias is None:
            return skus
        where = positions(skus, alias["sku"])
        mapped = take(alias["canonical_sku"], where, fill=None)
        result = pd.Series(mapped, dtype="string[pyarrow]")
        return result.fillna(skus)

    def sent_to_wms(self, canonical: pd.Series) -> pd.Series:
        """The SKU as it would be sent to the wms: its wms alias, else the canonical SKU."""
        alias = self._alias.get("wms")
        canonical = canonical.astype("string[pyarrow]").reset_index(drop=True)
        if alias is None:
            return canonical
        reverse = alias.drop_duplicates("canonical_sku")
        where = positions(canonical, reverse["canonical_sku"])
        return pd.Series(take(reverse["sku"], where), dtype="string[pyarrow]").fillna(canonical)

    @cached_property
    def sku_values(self) -> pa.Array:
        """Every canonical SKU in the bundle, once: position = the SKU's integer code."""
        arrays: list[pa.Array] = []
        for role in self.pipeline:
            for file in ("products", "order_lines", "shipments", "stock", "adjustments"):
                frame = self.bundle.frame(role, file)
                if frame is not None and len(frame):
                    unique_raw = pd.Series(pc.unique(_arrow(frame["sku"])), dtype="string[pyarrow]")
                    arrays.append(_arrow(self.canonical(role, unique_raw)))
        for sku in self.settings.non_stock_skus:
            arrays.append(pa.array([sku], type=pa.string()))
        if not arrays:
            return pa.array([], type=pa.string())
        return pc.unique(pa.concat_arrays(arrays).drop_null())

    @cached_property
    def sku_count(self) -> int:
        return max(len(self.sku_values), 1)

    def sku_code(self, canonical: pd.Series) -> np.ndarray:
        return positions(canonical, pd.Series(self.sku_values, dtype="string[pyarrow]"))

    def sku_name(self, codes: np.ndarray) -> list[str]:
        return self.sku_values.take(pa.array(codes)).to_pylist()

    @cached_property
    def non_stock(self) -> set[str]:
        """Canonical SKUs that are not stock items in any role, or listed in non_stock_skus."""
        skus = set(self.settings.non_stock_skus)
        for role in self.pipeline:
            products = self.bundle.frame(role, "products")
            if products is None or products.empty:
                continue
            flagged = products["is_stock_item"].fillna(True).to_numpy(dtype=bool) == False  # noqa: E712
            if flagged.any():
                skus.update(self.canonical(role, products["sku"][flagged]).dropna().tolist())
        return skus

    def is_stock(self, raw_skus: pd.Series, canonical: pd.Series) -> np.ndarray:
        listed = pd.array(sorted(self.non_stock), dtype="string[pyarrow]")
        raw_listed = pd.array(sorted(self.settings.non_stock_skus), dtype="string[pyarrow]")
        non_stock = canonical.isin(listed).to_numpy(dtype=bool)
        if len(raw_listed):
            non_stock = non_stock | raw_skus.reset_index(drop=True).isin(raw_listed).to_numpy(
                dtype=bool
            )
        return ~non_stock

    # -- orders and links ---------------------------------------------------------------------

    def orders(self, role: str) -> pd.DataFrame:
        """A role's orders with `up` (position of the upstream order, -1 none) and `origin`."""
        if role not in self._orders:
            self._orders[role] = self._link_orders(role)
        return self._orders[role]

    def _link_orders(self, role: str) -> pd.DataFrame:
        frame = self.raw(role, "orders").reset_index(drop=True).copy()
        upstream = self.upstream(role)
        if upstream is not None and self.has(upstream, "orders"):
            up_orders = self.orders(upstream)
            frame["up"] = positions(frame["source_ref"], up_orders["order_ref"])
            up_origin = take(up_orders["origin"], frame["up"].to_numpy(), fill=None)
            frame["origin"] = pd.Series(up_origin, dtype="string[pyarrow]").fillna(
                frame["order_ref"]
            )
        else:
            frame["up"] = np.full(len(frame), -1, dtype=np.int64)
            frame["origin"] = frame["order_ref"]
        frame["cancelled"] = (frame["status"] == "cancelled").to_numpy(dtype=bool)
        return frame

    def down(self, role: str) -> np.ndarray:
        """For each order of `role`, the position of its counterpart downstream (-1 none).

        Where several downstream orders link to one order, the counterpart is the one not
        cancelled with the earliest placed_at, then the lowest order_ref (rules.md).
        """
        if role in self._down:
            return self._down[role]
        result = np.full(len(self.orders(role)), -1, dtype=np.int64)
        downstream = self.downstream(role)
        if downstream is not None and self.has(downstream, "orders"):
            down_orders = self.orders(downstream)
            linked = down_orders[down_orders["up"] >= 0]
            shared = linked["up"].duplicated(keep=False)
            single = linked[~shared]
            result[single["up"].to_numpy()] = single.index.to_numpy()
            if shared.any():
                ranked = linked[shared].sort_values(
                    ["cancelled", "placed_at", "order_ref"], kind="stable"
                )
                first = ranked.drop_duplicates("up", keep="first")
                result[first["up"].to_numpy()] = first.index.to_numpy()
        self._down[role] = result
        return result

    def status_of(self, role: str, where: np.ndarray) -> np.ndarray:
        """Statuses of `role` orders at positions `where` (None at -1)."""
        return take(self.orders(role)["status"], where, fill=None)

    # -- lines, shipments, stock ---------------------------------------------------------

    def items(self, role: str, file: str) -> pd.DataFrame:
        """order_lines or shipments of a role with `pos` (the order's position), `csku`, `stock`."""
        cache_key = (role, file)
        if cache_key not in self._items:
            frame = self.raw(role, file).reset_index(drop=True)
            columns = ["order_ref", "sku", "quantity"]
            columns += [
                c
                for c in (
                    "line_no",
                    "dispatched_at",
                    "tracking_number",
                    "carrier",
                    "service_code",
                    "shipment_ref",
                )
                if c in frame.columns
            ]
            frame = frame[columns].copy()
            frame["pos"] = positions(frame["order_ref"], self.orders(role)["order_ref"])
            frame["csku"] = self.canonical(role, frame["sku"])
            frame["code"] = self.sku_code(frame["csku"])
            frame["stock"] = self.is_stock(frame["sku"], frame["csku"])
            self._items[cache_key] = frame
        return self._items[cache_key]

    def quantities(self, role: str, file: str) -> pd.DataFrame:
        """Stock-line units per (order position, SKU code): columns pos, code, qty, pair.

        `pair` is pos and code folded into one int64, so joins on it are single-key and fast.
        """
        cache_key = (role, file)
        if cache_key not in self._qty:
            items = self.items(role, file)
            items = items[items["stock"] & (items["pos"] >= 0)]
            pair = items["pos"].to_numpy() * self.sku_count + items["code"].to_numpy()
            qty = pd.Series(items["quantity"].fillna(0).to_numpy(dtype=np.int64))
            summed = qty.groupby(pair, sort=False).sum()
            keys = summed.index.to_numpy(dtype=np.int64)
            self._qty[cache_key] = pd.DataFrame(
                {
                    "pos": keys // self.sku_count,
                    "code": keys % self.sku_count,
                    "qty": summed.to_numpy(dtype=np.int64),
                    "pair": keys,
                }
            )
        return self._qty[cache_key]

    def stock(self, role: str) -> pd.DataFrame:
        """Σ on_hand and Σ available per canonical SKU of a role (index: csku)."""
        frame = self.raw(role, "stock")
        data = pd.DataFrame(
            {
                "csku": self.canonical(role, frame["sku"]),
                "on_hand": frame["on_hand"].reset_index(drop=True),
                "available": frame["available"].reset_index(drop=True),
            }
        )
        return data.groupby("csku", observed=True, sort=True).sum(min_count=1)

    def unit_costs(self) -> pd.Series:
        """unit_cost (ten-thousandths) per canonical SKU: the erp's products, else the wms's."""
        costs: list[pd.Series] = []
        for role in ("erp", "wms", "store"):
            products = self.bundle.frame(role, "products")
            if products is None or products.empty:
                continue
            series = pd.Series(
                products["unit_cost"].to_numpy(),
                index=self.canonical(role, products["sku"]).to_numpy(),
            ).dropna()
            costs.append(series[~series.index.duplicated()])
        if not costs:
            return pd.Series(dtype="Int64")
        combined = costs[0]
        for series in costs[1:]:
            combined = combined.combine_first(series)
        return combined

    # -- time -------------------------------------------------------------------------------

    def age(self, timestamps: pd.Series | np.ndarray) -> pd.Series:
        """as_of minus each timestamp (NaT stays NaT)."""
        return self.as_of - pd.to_datetime(pd.Series(timestamps), utc=True)

    def dispatch_time(self, role: str) -> pd.Series:
        """Per order of `role`: its shipments' latest dispatched_at, else updated_at, else placed_at."""
        orders = self.orders(role)
        return (
            self.latest_shipment_time(role).fillna(orders["updated_at"]).fillna(orders["placed_at"])
        )

    def latest_shipment_time(self, role: str) -> pd.Series:
        """Per order of `role`: the latest dispatched_at of its shipments (NaT when none)."""
        if role in self._shipped_at:
            return self._shipped_at[role]
        orders = self.orders(role)
        latest = np.full(len(orders), np.datetime64("NaT"), dtype="datetime64[ns]")
        if self.has(role, "shipments"):
            shipments = self.items(role, "shipments")
            usable = (shipments["pos"] >= 0).to_numpy() & shipments[
                "dispatched_at"
            ].notna().to_numpy()
            nanos = shipments["dispatched_at"][usable].dt.tz_convert(None).to_numpy().view("int64")
            per_order = pd.Series(nanos).groupby(shipments["pos"].to_numpy()[usable]).max()
            latest[per_order.index.to_numpy()] = per_order.to_numpy().view("datetime64[ns]")
        result = pd.Series(latest, index=orders.index).dt.tz_localize("UTC")
        self._shipped_at[role] = result
        return result

    def gross_pounds(self, role: str) -> np.ndarray:
        """Gross totals of a role's orders in pounds (0 where missing): weights for scoring."""
        if role not in self._gross:
            gross = self.orders(role)["gross_total"].astype("Float64").fillna(0)
            self._gross[role] = gross.to_numpy(dtype=float) / 10_000
        return self._gross[role]

    def outbound(self) -> pd.DataFrame:
        """Orders of the wms's upstream not yet accepted by the warehouse (rules.md, Words).

        Status open/released/held/rejected, whose wms counterpart is missing or held/rejected.
        """
        self.require("wms")
        upstream = self.require(self.upstream("wms"), "orders")
        orders = self.orders(upstream)
        counterpart = self.down(upstream) if self.has("wms", "orders") else np.full(len(orders), -1)
        wms_status = pd.Series(
            self.status_of("wms", counterpart)
            if self.has("wms", "orders")
            else [None] * len(orders),
            dtype=object,
        )
        waiting = (counterpart < 0) | wms_status.isin(HELD_STATUSES).to_numpy()
        eligible = orders["status"].isin(OUTBOUND_STATUSES).to_numpy(dtype=bool)
        return orders[waiting & eligible]
