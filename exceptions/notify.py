"""Alert messages and the two channels that carry them.

Messages are built from the database at send time: `Message(subject, text, blocks)` where `text`
is the plain text (email body, and the webhook's fallback `text`) and `blocks` is Slack Block Kit
(`section` / `context` blocks with mrkdwn), so one payload works for Slack and for anything that
reads `{"text": ...}`.

Channels raise `SendError(message, code, permanent)`: permanent failures (a 4xx other than 408/429,
a URL that is not http/https) are not retried; timeouts, network errors, 5xx, 429 and mail server
errors are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from exceptions.alert_models import AlertRoute, webhook_url_validator
from exceptions.models import ExceptionRecord, Priority, Status, Team

TOP = 10  # exceptions listed by name in a summary or digest
USER_AGENT = "Parity-alerts/1"
TEAM_LABELS: dict[str, str] = dict(Team.choices)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


class SendError(Exception):
    def __init__(self, message: str, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


# --- building ----------------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    return settings.PARITY_BASE_URL.rstrip("/") + path


def mrkdwn(text: str) -> str:
    # Slack's three control characters; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    return f"<{url}|{mrkdwn(label)}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _headline(record: ExceptionRecord) -> str:
    return f"{record.priority} {record.rule} {record.key}"


def exception_message(
    record: ExceptionRecord, kind: str, *, from_priority: str = "", reopened: bool = False
) -> Message:
    """An exception that opened (detected or reopened) or escalated in a run."""
    if kind == "escalated":
        what = f"escalated {from_priority} → {record.priority}" if from_priority else "escalated"
    else:
        what = "reopened" if reopened else "opened"
    url = absolute_url(record.get_absolute_url())
    facts = (
        f"team {TEAM_LABELS.get(record.queue_team, record.queue_team)} · owner {record.get_owner_display()} · "
        f"status {record.get_status_display()} · seen {record.times_seen}×"
    )
    subject = f"[Parity] {_headline(record)} {what}"
    text = f"{_headline(record)} {what}: {record.summary}\n{facts}\n{url}"
    blocks = [
        _section(
            f"*{mrkdwn(_headline(record))}* {mrkdwn(what)}\n{mrkdwn(record.summary)}\n"
            + _link(url, "Open in Parity")
        ),
        _context(mrkdwn(facts)),
    ]
    return Message(subject, text, blocks)


def _lines(records: Iterable[ExceptionRecord]) -> list[tuple[str, str]]:
    """(plain, mrkdwn) one line per exception."""
    lines = []
    for record in records:
        url = absolute_url(record.get_absolute_url())
        lines.append(
            (
                f"- {_headline(record)}: {record.summary} ({url})",
                f"• {_link(url, _headline(record))} {mrkdwn(record.summary)}",
            )
        )
    return lines


def summary_message(route: AlertRoute, run_id: int | None, count: int) -> Message:
    """Too many alerts for one route from one run: one message with the most urgent of them."""
    top = list(
        _route_records(route)
        .filter(events__run_id=run_id, events__kind__in=["detected", "reopened", "escalated"])
        .distinct()
        .order_by("priority", "-score", "id")[:TOP]
    )
    queue = absolute_url(reverse("exceptions:queue"))
    head = (
        f"Reconciliation run {run_id} opened or escalated {count} exceptions for "
        f"{route.team_label} at {route.min_priority} or above"
    )
    lines = _lines(top)
    more = f"\n…and {count - len(top)} more" if count > len(top) else ""
    text = "\n".join([head, *(plain for plain, _ in lines)]) + more + f"\n{queue}"
    blocks = [_section(f"*{mrkdwn(head)}*")]
    if lines:
        blocks.append(_section("\n".join(rich for _, rich in lines) + more))
    blocks.append(_context(_link(queue, "Open the queue")))
    return Message(f"[Parity] {count} exceptions for {route.team_label}", text, blocks)


def _route_records(route: AlertRoute) -> Any:
    records = ExceptionRecord.objects.filter(priority__lte=route.min_priority)
    if route.team:
        records = records.filter(queue_team=route.team)
    return records


def digest_message(route: AlertRoute, day: date, *, now: datetime | None = None) -> Message:
    """The day's digest for a route's team: where the queue stands and what changed in 24 h."""
    now = now or timezone.now()
    since = now - timedelta(hours=24)
    team = ExceptionRecord.objects.all()
    if route.team:
        team = team.filter(queue_team=route.team)
    active = [Status.OPEN, Status.ACKNOWLEDGED, Status.SNOOZED]
    by_status = dict(
        team.filter(status__in=active)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    by_priority = dict(
        team.filter(status__in=[Status.OPEN, Status.ACKNOWLEDGED])
        .order_by()
        .values_list("priority")
        .annotate(n=Count("id"))
        .values_list("priority", "n")
    )
    changed = team.aggregate(
        opened=Count("id", filter=Q(first_seen__gte=since)),
        resolved=Count("id", filter=Q(status=Status.RESOLVED, resolved_at__gte=since)),
    )
    top = list(
        team.filter(
            status__in=[Status.OPEN, Status.ACKNOWLEDGED], priority__lte=route.min_priority
        ).order_by("priority", "-score", "id")[:TOP]
    )
    label = route.team_label
    counts = ", ".join(f"{p} {by_priority.get(p, 0)}" for p in Priority.values)
    statuses = (
        f"{by_status.get(Status.OPEN, 0)} open, {by_status.get(Status.ACKNOWLEDGED, 0)} "
        f"acknowledged, {by_status.get(Status.SNOOZED, 0)} snoozed"
    )
    day_text = f"{changed['opened']} new and {changed['resolved']} resolved in the last 24 hours"
    head = f"Parity digest for {label}, {day:%a %d %b %Y}"
    lines = _lines(top)
    top_head = f"Most urgent at {route.min_priority} or above:" if lines else "Nothing urgent."
    queue = absolute_url(reverse("exceptions:queue"))
    text = "\n".join(
        [
            head,
            statuses,
            f"Open or acknowledged by priority: {counts}",
            day_text,
            top_head,
            *(plain for plain, _ in lines),
            queue,
        ]
    )
    blocks = [
        _section(f"*{mrkdwn(head)}*\n{statuses}\n{counts}\n{day_text}"),
        _section(f"*{top_head}*\n" + "\n".join(rich for _, rich in lines)),
        _context(_link(queue, "Open the queue")),
    ]
    return Message(f"[Parity] Daily digest for {label}, {day:%d %b %Y}", text, blocks)


# --- channels ----------------------------------------------------------------------------------


def post_webhook(url: str, message: Message, *, timeout: float | None = None) -> int:
    """POST the message as Slack-compatible JSON; the HTTP status, or SendError."""
    try:
        webhook_url_validator(url)
    except ValidationError:
        raise SendError(
            "the webhook URL is not an http:// or https:// URL", permanent=True
        ) from None
    timeout = timeout if timeout is not None else settings.PARITY_ALERT_WEBHOOK_TIMEOUT
    try:
        # No redirects: a webhook that moved is a configuration to fix, not a hop to follow.
        response = httpx.post(
            url,
            json=message.payload(),
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
    except httpx.TimeoutException:
        raise SendError(f"no answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: {_host_only(str(exc), url)}") from None
    code = response.status_code
    if 200 <= code < 300:
        return code
    body = response.text[:200].strip()
    permanent = 300 <= code < 500 and code not in (408, 429)
    raise SendError(f"HTTP {code}" + (f": {body}" if body else ""), code=code, permanent=permanent)


def _host_only(text: str, url: str) -> str:
    # The path of a webhook URL is its secret: never write it into an error message.
    return text.replace(url, "the webhook URL")


def send_email(addresses: list[str], message: Message) -> None:
    if not addresses:
        raise SendError("the route has no email addresses", permanent=True)
    try:
        EmailMessage(message.subject, message.text, to=addresses).send(fail_silently=False)
    except Exception as exc:  # SMTP, socket and TLS errors alike: worth another try later
        raise SendError(f"{type(exc).__name__}: {exc}") from None
