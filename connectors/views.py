"""Connections pages (Admin role): list, add/edit (credentials write-only), test, sync now; sync
runs with a live progress bar and their quarantined records."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from connectors.base import ConnectorError, connector_class
from connectors.crypto import CredentialsError
from connectors.forms import ConnectionForm, SyncNowForm, kind_choices
from connectors.http import Timeouts, connector_for
from connectors.models import Connection, SyncAlreadyRunning, SyncRun
from connectors.tasks import queue_sync
from integration.permissions import capability_required

RUNS_PER_PAGE = 50
QUARANTINE_SHOWN = 200


# Connections hold credentials to every system: the Admin role only.
admin_required = capability_required(
    "manage_connections", "Connections are managed by the Admin role."
)


@require_GET
@admin_required
def connection_list(request: HttpRequest) -> HttpResponse:
    connections = list(Connection.objects.order_by("role", "name"))
    # One query for the latest run of every connection (DISTINCT ON is PostgreSQL-only).
    latest: dict[int, SyncRun] = {}
    for run in SyncRun.objects.filter(connection__in=connections).order_by("-created_at", "-id"):
        latest.setdefault(run.connection_id, run)
    rows = [(c, latest.get(c.pk)) for c in connections]
    context = {"rows": rows, "kinds": kind_choices(), "sync_form": SyncNowForm()}
    return render(request, "connectors/list.html", context)


@admin_required
def connection_create(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if not kind:
        return render(request, "connectors/choose_kind.html", {"kinds": kind_choices()})
    try:
        connector = connector_class(kind)
    except ConnectorError:
        raise Http404("no such connector kind") from None
    form = ConnectionForm(request.POST or None, connector=connector)
    if request.method == "POST" and form.is_valid():
        connection = form.save()
        messages.success(request, f"Connection {connection} saved.")
        return redirect("connectors:list")
    context = {"form": form, "system": connector.label or connector.kind, "creating": True}
    return render(request, "connectors/form.html", context)


@admin_required
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    try:
        connector = connector_class(connection.kind)
    except ConnectorError:
        raise Http404(f"connector kind {connection.kind!r} is not installed") from None
    form = ConnectionForm(request.POST or None, instance=connection, connector=connector)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Connection {connection} saved.")
        return redirect("connectors:list")
    system = connector.label or connector.kind
    context = {"form": form, "system": system, "connection": connection, "creating": False}
    return render(request, "connectors/form.html", context)


@require_POST
@admin_required
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    """One cheap authenticated call, now, with short timeouts; the answer as a message."""
    connection = get_object_or_404(Connection, pk=pk)
    try:
        connector = connector_for(
            connection.connection_settings(), timeouts=Timeouts(connect=5, read=15), retries=1
        )
        try:
            answer = connector.check()
        finally:
            connector.client.close()
    except (ConnectorError, CredentialsError) as exc:
        messages.error(request, f"{connection}: test failed — {exc}")
    else:
        messages.success(request, f"{connection}: connected — {answer}")
    return redirect("connectors:list")


@require_POST
@admin_required
def connection_sync(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    form = SyncNowForm(request.POST)
    kind = form.cleaned_data["kind"] if form.is_valid() else SyncRun.Kind.DELTA
    try:
        run = queue_sync(connection, kind)
    except SyncAlreadyRunning as exc:
        messages.info(request, str(exc))
        return redirect("connectors:list")
    return redirect("connectors:run", pk=run.pk)


@require_GET
@admin_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = SyncRun.objects.select_related("connection").order_by("-created_at", "-id")
    connection = None
    if selected := request.GET.get("connection", ""):
        connection = get_object_or_404(Connection, pk=selected) if selected.isdigit() else None
        if connection is None:
            raise Http404("no such connection")
        runs = runs.filter(connection=connection)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "connectors/runs.html", {"page": page, "connection": connection})


@require_GET
@admin_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun.objects.select_related("connection", "snapshot"), pk=pk)
    quarantine = list(run.quarantine.order_by("id")[:QUARANTINE_SHOWN])
    context = {"run": run, "quarantine": quarantine, "shown": QUARANTINE_SHOWN}
    return render(request, "connectors/run.html", context)


@require_GET
@admin_required
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment the run page polls every two seconds while the run is active."""
    run = get_object_or_404(SyncRun.objects.select_related("connection"), pk=pk)
    return render(request, "connectors/_progress.html", {"run": run})
