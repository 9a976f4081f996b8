"""Sync health rules (rules.md, "Sync health")."""

from __future__ import annotations

import pandas as pd

from reconciliation.rules.base import duration, found, nothing, when
from reconciliation.rules.context import Context


def snapshot_stale(ctx: Context) -> pd.DataFrame:
    limit = pd.Timedelta(minutes=ctx.settings.stale_after_minutes)
    rows = []
    for role in ctx.pipeline:
        taken_at = pd.Timestamp(ctx.bundle.roles[role].taken_at)
        age = ctx.as_of - taken_at
        if age > limit:
            rows.append((role, age, taken_at))
    if not rows:
        return nothing()
    return found(
        key=[role for role, _, _ in rows],
        team="ops",
        priority="P2",
        summary=[
            f"The {ctx.system(role)} snapshot is {duration(age)} old "
            f"(stale after {duration(limit)})"
            for role, age, _ in rows
        ],
        details=[
            {
                "role": role,
                "system": ctx.system(role),
                "taken_at": when(taken_at),
                "age_minutes": int(age.total_seconds() // 60),
                "stale_after_minutes": ctx.settings.stale_after_minutes,
            }
            for role, age, taken_at in rows
        ],
        roles=[[role] for role, _, _ in rows],
        hours=[max((age - limit).total_seconds() / 3600, 0) for _, age, _ in rows],
    )


def sync_failed(ctx: Context) -> pd.DataFrame:
    """Pulls that failed after their retries: reported by connectors through the bundle."""
    failures = ctx.bundle.sync_failures
    if not failures:
        return nothing()
    return found(
        key=[f["connection"] for f in failures],
        team="ops",
        priority="P1",
        summary=[
            f"Sync from {f['connection']} failed: {f.get('error', 'unknown error')}"
            for f in failures
        ],
        details=[dict(f) for f in failures],
        roles=[[f.get("role", "")] if f.get("role") else [] for f in failures],
    )
