"""Alert routing rules and the record of every alert sent (or not) — see docs/alerts.md.

Imported at the bottom of exceptions/models.py so the models belong to the `exceptions` app.

- `AlertRoute`: a team (or every team) and a minimum priority → email addresses and/or a webhook
  URL (Slack-compatible JSON), with an optional daily digest.
- `AlertDelivery`: one message to one channel of one route — for an exception that opened or
  escalated in a run, a run summary (too many at once), or a digest. Unique constraints make
  planning the same run or day twice harmless: an alert goes out once.
- `AlertRunPlan`: marks a reconciliation run whose alerts were planned, so the sweep skips it.
"""

from __future__ import annotations

import re
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from exceptions.models import ExceptionEvent, ExceptionRecord, Priority, Team

# http and https only: a webhook is posted to by the server, never file:, ftp: or the like.
# Its own code, so a form field does not swap the message for its generic "Enter a valid URL".
webhook_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter an http:// or https:// URL.", code="scheme"
)
_EMAIL_SPLIT = re.compile(r"[\s,;]+")


def split_emails(text: str) -> list[str]:
    """Addresses from text separated by commas, semicolons, spaces or new lines (deduplicated)."""
    seen: dict[str, None] = {}
    for part in _EMAIL_SPLIT.split(text or ""):
        if part:
            seen.setdefault(part.strip(), None)
    return list(seen)


def validate_emails(text: str) -> None:
    check = EmailValidator()
    bad = []
    for address in split_emails(text):
        try:
            check(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"Not an email address: {', '.join(bad)}.")


class AlertRoute(models.Model):
    name = models.CharField(max_length=100)
    # Blank: every team. Matched against the exception's queue team (assigned, else the engine's).
    team = models.CharField(max_length=32, choices=Team.choices, blank=True, default="")
    min_priority = models.CharField(
        "minimum priority",
        max_length=2,
        choices=Priority.choices,
        default=Priority.P2,
        help_text="Alert on this priority and anything more urgent (P1 is the most urgent).",
    )
    emails = models.TextField(
        blank=True,
        validators=[validate_emails],
        help_text="Addresses separated by commas or new lines.",
    )
    webhook_url = models.URLField(
        "webhook URL",
        max_length=500,
        blank=True,
        validators=[webhook_url_validator],
        help_text='Receives Slack-compatible JSON ({"text": …, "blocks": […]}).',
    )
    enabled = models.BooleanField(default=True)
    digest = models.BooleanField(
        "daily digest",
        default=False,
        help_text="Also send a daily summary of the team's open exceptions.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.webhook_url and not split_emails(self.emails):
            raise ValidationError(
                f"Route {self.name!r}: give email addresses, a webhook URL or both."
            )

    @property
    def email_list(self) -> list[str]:
        return split_emails(self.emails)

    @property
    def channels(self) -> list[str]:
        found = []
        if self.email_list:
            found.append(AlertDelivery.Channel.EMAIL)
        if self.webhook_url:
            found.append(AlertDelivery.Channel.WEBHOOK)
        return found

    @property
    def team_label(self) -> str:
        return self.get_team_display() if self.team else "Every team"

    @property
    def webhook_host(self) -> str:
        # Webhook URLs carry their secret in the path (Slack's do): show the host only.
        match = re.match(r"^https?://([^/?#]+)", self.webhook_url)
        return match.group(1) if match else ""


class AlertDelivery(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"  # detected, or reopened, by a run
        ESCALATED = "escalated", "Escalated"
        SUMMARY = "summary", "Run summary"  # more alerts for one route in one run than the limit
        DIGEST = "digest", "Daily digest"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    route = models.ForeignKey(AlertRoute, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    exception = models.ForeignKey(
        ExceptionRecord,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_deliveries",
    )
    # The event that caused an opened/escalated alert: (route, event, channel) is sent once.
    event = models.ForeignKey(
        ExceptionEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_deliveries",
        db_index=False,  # the unique constraint below starts with route; lookups go by route too
    )
    run = models.ForeignKey(
        "reconciliation.ReconciliationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_deliveries",
    )
    digest_date = models.DateField(null=True, blank=True)
    count = models.PositiveIntegerField(default=1)  # exceptions this message is about
    text = models.TextField(blank=True)  # the message as last sent (or tried)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A pending delivery is due at this time (null: now). A worker sending it pushes it past its
    # send timeout first, so a redelivered task or the sweep cannot send it twice meanwhile;
    # a failed attempt sets it to the backoff.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # One entry per attempt: {"at", "ok", "code", "error"}.
    log = models.JSONField(default=list, blank=True)

    KINDS_FOR_EVENT: ClassVar[dict[str, str]] = {
        "detected": Kind.OPENED,
        "reopened": Kind.OPENED,
        "escalated": Kind.ESCALATED,
    }

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["route", "event", "channel"],
                condition=Q(event__isnull=False),
                name="alert_delivery_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["route", "run", "channel"],
                condition=Q(kind="summary"),
                name="alert_delivery_once_per_run_summary",
            ),
            models.UniqueConstraint(
                fields=["route", "digest_date", "channel"],
                condition=Q(kind="digest"),
                name="alert_delivery_once_per_digest",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="alert_delivery_recent"),
            models.Index(
                fields=["next_attempt_at"],
                name="alert_delivery_pending",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} via {self.channel} to {self.route} ({self.status})"


class AlertRunPlan(models.Model):
    """A reconciliation run whose alerts were planned (deliveries created, possibly none)."""

    run = models.OneToOneField(
        "reconciliation.ReconciliationRun",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="alert_plan",
    )
    planned_at = models.DateTimeField(default=timezone.now)
    deliveries = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"alerts for run {self.run_id}: {self.deliveries}"
