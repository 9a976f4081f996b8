"""Alert pages for Ops and Admin: the routes (list, add, edit, delete, send a test) and the
deliveries (filtered list, try a failed one again). Everyone else gets 403."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from exceptions import alerts, notify
from exceptions.alert_models import AlertDelivery, AlertRoute, webhook_url_validator
from exceptions.alert_tables import AlertDeliveryFilter, AlertDeliveryTable, AlertRouteTable

PER_PAGE = 50


class AlertRouteForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[webhook_url_validator],
        help_text=AlertRoute._meta.get_field("webhook_url").help_text,
    )

    class Meta:
        model = AlertRoute
        fields = ["name", "team", "min_priority", "emails", "webhook_url", "digest", "enabled"]
        widgets = {"emails": forms.Textarea(attrs={"rows": 3})}
        labels = {"team": "Team (blank: every team)"}


def _require_manager(request: HttpRequest) -> None:
    if not alerts.can_manage_alerts(request.user):
        raise PermissionDenied("Only Ops and Admin manage alerts.")


@require_GET
def routes(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    table = AlertRouteTable(AlertRoute.objects.all())
    RequestConfig(request, paginate=False).configure(table)
    return render(request, "alerts/routes.html", {"table": table})


@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = AlertRouteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        route = form.save()
        messages.success(request, f"Alert route “{route.name}” added.")
        return redirect("alerts:routes")
    return render(request, "alerts/route_form.html", {"form": form, "route": None})


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    route = get_object_or_404(AlertRoute, pk=pk)
    form = AlertRouteForm(request.POST or None, instance=route)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Alert route “{route.name}” saved.")
        return redirect("alerts:routes")
    return render(request, "alerts/route_form.html", {"form": form, "route": route})


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    route = get_object_or_404(AlertRoute, pk=pk)
    if request.method == "POST":
        name = route.name
        route.delete()
        messages.success(request, f"Alert route “{name}” deleted, with its deliveries.")
        return redirect("alerts:routes")
    context = {"route": route, "deliveries": route.deliveries.count()}
    return render(request, "alerts/route_delete.html", context)


@require_POST
def test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message on each channel now, in the request: a webhook is checked while the
    person who typed it is looking (short timeout; nothing is recorded as a delivery)."""
    _require_manager(request)
    route = get_object_or_404(AlertRoute, pk=pk)
    message = notify.Message(
        subject=f"[Parity] Test alert for “{route.name}”",
        text=f"Test alert from Parity for the route “{route.name}”: alerts will arrive here.",
        blocks=[
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": notify.mrkdwn(f"Test alert from Parity for the route “{route.name}”."),
                },
            }
        ],
    )
    results = []
    if route.webhook_url:
        try:
            code = notify.post_webhook(route.webhook_url, message, timeout=5.0)
            results.append((True, f"webhook answered HTTP {code}"))
        except notify.SendError as exc:
            results.append((False, f"webhook failed: {exc}"))
    if route.email_list:
        try:
            notify.send_email(route.email_list, message)
            results.append((True, f"email sent to {', '.join(route.email_list)}"))
        except notify.SendError as exc:
            results.append((False, f"email failed: {exc}"))
    for ok, text in results:
        (messages.success if ok else messages.error)(request, f"Route “{route.name}”: {text}.")
    return redirect("alerts:edit", pk=route.pk)


@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    records = AlertDelivery.objects.select_related("route", "exception").order_by(
        "-created_at", "-id"
    )
    filterset = AlertDeliveryFilter(request.GET, queryset=records)
    table = AlertDeliveryTable(filterset.qs if filterset.is_valid() else records.none())
    RequestConfig(
        request, paginate={"paginator_class": LazyPaginator, "per_page": PER_PAGE}
    ).configure(table)
    return render(request, "alerts/deliveries.html", {"filter": filterset, "table": table})


@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    delivery = get_object_or_404(AlertDelivery.objects.select_related("route"), pk=pk)
    if alerts.retry_now(delivery):
        messages.success(request, f"Delivery {delivery.pk} to “{delivery.route}” queued again.")
    else:
        messages.error(
            request,
            f"Delivery {delivery.pk} to “{delivery.route}” is {delivery.get_status_display()}"
            ": only a failed delivery can be tried again.",
        )
    return redirect("alerts:deliveries")
