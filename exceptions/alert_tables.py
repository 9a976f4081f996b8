"""The alert pages' tables and the deliveries filter (routes and deliveries, docs/alerts.md)."""

from __future__ import annotations

from datetime import datetime

import django_filters
import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from exceptions.alert_models import AlertDelivery, AlertRoute
from exceptions.tables import ParityTable, badge


class AlertRouteTable(ParityTable):
    name = tables.Column(linkify=("alerts:edit", {"pk": tables.A("pk")}), orderable=False)
    team = tables.Column(orderable=False, empty_values=())
    min_priority = tables.Column(verbose_name="From", orderable=False)
    emails = tables.Column(verbose_name="Email", orderable=False)
    webhook_url = tables.Column(verbose_name="Webhook", orderable=False)
    digest = tables.BooleanColumn(verbose_name="Digest", orderable=False)
    enabled = tables.BooleanColumn(orderable=False)

    class Meta(ParityTable.Meta):
        model = AlertRoute
        fields = ("name", "team", "min_priority", "emails", "webhook_url", "digest", "enabled")
        empty_text = "No alert routes yet: nobody is alerted."

    def render_team(self, record: AlertRoute) -> str:
        return record.team_label

    def render_min_priority(self, record: AlertRoute) -> SafeString:
        return badge("priority", record.min_priority.lower(), f"{record.min_priority}+")

    def render_emails(self, record: AlertRoute) -> str:
        return ", ".join(record.email_list)

    def render_webhook_url(self, record: AlertRoute) -> str:
        # The path of a webhook URL is its secret: the list shows the host only.
        return record.webhook_host


class AlertDeliveryTable(ParityTable):
    created_at = tables.Column(verbose_name="Queued", orderable=False)
    route = tables.Column(orderable=False)
    kind = tables.Column(orderable=False)
    channel = tables.Column(orderable=False)
    exception = tables.Column(verbose_name="About", orderable=False, empty_values=())
    status = tables.Column(orderable=False)
    attempts = tables.Column(orderable=False, attrs={"td": {"class": "number"}})
    last_error = tables.Column(verbose_name="Last error", orderable=False)
    actions = tables.TemplateColumn(
        template_name="alerts/_delivery_actions.html", verbose_name="", orderable=False
    )

    class Meta(ParityTable.Meta):
        model = AlertDelivery
        fields = (
            "created_at",
            "route",
            "kind",
            "channel",
            "exception",
            "status",
            "attempts",
            "last_error",
        )
        empty_text = "No deliveries match these filters."

    def render_created_at(self, value: datetime) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")

    def render_exception(self, record: AlertDelivery) -> SafeString | str:
        if record.kind == AlertDelivery.Kind.DIGEST:
            return (
                f"{record.route.team_label}, {record.digest_date:%Y-%m-%d}"
                if record.digest_date
                else record.route.team_label
            )
        if record.exception_id is None:
            return f"{record.count} exceptions from run {record.run_id}"
        return format_html(
            '<a href="{}">{} {}</a>',
            record.exception.get_absolute_url(),
            record.exception.rule,
            record.exception.key,
        )

    def render_status(self, record: AlertDelivery) -> SafeString:
        label = record.get_status_display()
        if record.response_code:
            label = f"{label} ({record.response_code})"
        return badge("delivery", record.status, label)


class AlertDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertDelivery.Status.choices, empty_label="Any")
    kind = django_filters.ChoiceFilter(choices=AlertDelivery.Kind.choices, empty_label="Any")
    channel = django_filters.ChoiceFilter(choices=AlertDelivery.Channel.choices, empty_label="Any")
    route = django_filters.ModelChoiceFilter(queryset=AlertRoute.objects.all(), empty_label="Any")

    class Meta:
        model = AlertDelivery
        fields: list[str] = []  # every filter is declared above
