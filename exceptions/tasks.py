"""django-q2 tasks for alerts: thin, idempotent, taking ids; enqueued by dotted path on commit.

- `plan_run_alerts(run_id)`: after a run, create its deliveries and queue one send each.
- `send_alert(delivery_id)`: one attempt at one delivery (a redelivered task finds it sent or
  held and does nothing).
- `alert_sweep()`: every minute — plans finished runs that were missed and queues the deliveries
  whose retry is due.
- `send_digests()`: once a day — the digest of each route that asked for one.
"""

from __future__ import annotations

from exceptions import alerts


def plan_run_alerts(run_id: int) -> str:
    ids = alerts.plan_run(run_id)
    return f"run {run_id}: {len(ids)} alert deliveries queued"


def send_alert(delivery_id: int) -> str:
    outcome = alerts.deliver(delivery_id)
    if outcome is None:
        return f"delivery {delivery_id}: not due (sent, failed or being sent)"
    detail = f": {outcome.detail}" if outcome.detail else ""
    return f"delivery {delivery_id}: {outcome.status} after {outcome.attempts} attempt(s){detail}"


def alert_sweep() -> str:
    # Due first: deliveries the planning below creates get their own send tasks.
    due = alerts.due_deliveries()
    alerts.enqueue(due)
    planned = [(run_id, len(alerts.plan_run(run_id))) for run_id in alerts.unplanned_runs()]
    runs = ", ".join(f"run {run_id} ({n})" for run_id, n in planned) or "no runs"
    return f"queued {len(due)} due deliveries; planned {runs}"


def send_digests() -> str:
    ids = alerts.plan_digests()
    return f"{len(ids)} digest deliveries queued"
