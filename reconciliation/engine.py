"""The reconciliation engine: a bundle in, scored and sorted exceptions out. No database here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reconciliation.frames import Bundle
from reconciliation.rules import RULES
from reconciliation.rules.base import scores
from reconciliation.rules.context import Context, RuleSkipped
from reconciliation.settings import ReconSettings

EXCEPTION_COLUMNS = [
    "rule",
    "key",
    "owner",
    "team",
    "priority",
    "score",
    "summary",
    "details",
    "roles",
]
JSON_FIELDS = ["rule", "key", "owner", "team", "priority", "score", "summary", "details"]


@dataclass
class Result:
    exceptions: pd.DataFrame
    as_of: pd.Timestamp
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rules_run: list[str] = field(default_factory=list)
    rules_skipped: dict[str, str] = field(default_factory=dict)


def reconcile(bundle: Bundle, settings: ReconSettings | None = None) -> Result:
    """Run every rule of the catalogue over the bundle; skipped rules say why."""
    settings = settings or ReconSettings.from_mapping(bundle.config)
    started = time.perf_counter()
    context = Context(bundle, settings)
    timings: dict[str, float] = {}
    rules_run: list[str] = []
    skipped: dict[str, str] = {}
    frames: list[pd.DataFrame] = []
    for rule in RULES:
        rule_started = time.perf_counter()
        try:
            frame = rule.check(context)
        except RuleSkipped as reason:
            skipped[rule.name] = str(reason) or "roles or files missing"
            continue
        finally:
            timings[f"rule.{rule.name}"] = round(time.perf_counter() - rule_started, 4)
        rules_run.append(rule.name)
        if len(frame):
            frames.append(_finish(rule.name, frame))
    timings["rules"] = round(time.perf_counter() - started, 4)
    sort_started = time.perf_counter()
    exceptions = _combine(frames)
    timings["score_and_sort"] = round(time.perf_counter() - sort_started, 4)
    counts = exceptions["rule"].value_counts().to_dict() if len(exceptions) else {}
    return Result(
        exceptions=exceptions,
        as_of=context.as_of,
        timings=timings,
        counts={name: int(counts.get(name, 0)) for name in rules_run},
        rules_run=rules_run,
        rules_skipped=skipped,
    )


def plain(value: Any) -> Any:
    """Details as plain JSON values: numpy and pandas scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _finish(rule: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Name the rule, derive owner from team, score, and keep one exception per key."""
    frame = frame.copy()
    frame["details"] = [plain(details) for details in frame["details"]]
    frame["rule"] = rule
    frame["owner"] = np.where(
        frame["team"].to_numpy(dtype=object) == "warehouse", "warehouse", "office"
    )
    frame["score"] = scores(frame)
    frame = frame.sort_values(["score", "key"], ascending=[False, True], kind="stable")
    return frame.drop_duplicates("key", keep="first")[EXCEPTION_COLUMNS]


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({column: [] for column in EXCEPTION_COLUMNS})
    combined = pd.concat(frames, ignore_index=True)
    combined = combined.sort_values(
        ["score", "rule", "key"], ascending=[False, True, True], kind="stable"
    )
    return combined.reset_index(drop=True)


def result_json(result: Result) -> dict[str, Any]:
    """The `reconcile_bundle --json` document of bundle.md."""
    records = result.exceptions[JSON_FIELDS].to_dict("records")
    for record in records:
        record["score"] = float(record["score"])
    return {
        "as_of": result.as_of.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "exceptions": records,
    }
