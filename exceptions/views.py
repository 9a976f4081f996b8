"""Exceptions pages: the queue (filtered, sorted by score) and one exception with its events."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from exceptions.display import render_value
from exceptions.filters import ExceptionFilter
from exceptions.models import ExceptionRecord
from exceptions.tables import ExceptionTable

PER_PAGE = 50


def queue(request: HttpRequest) -> HttpResponse:
    records = ExceptionRecord.objects.order_by("-score", "id")
    filterset = ExceptionFilter(request.GET, queryset=records)
    # An invalid filter (a priority that does not exist) shows nothing rather than ignoring it.
    table = ExceptionTable(filterset.qs if filterset.is_valid() else records.none())
    # LazyPaginator fetches one row past the page instead of counting a possibly huge table.
    RequestConfig(
        request, paginate={"paginator_class": LazyPaginator, "per_page": PER_PAGE}
    ).configure(table)
    return render(request, "exceptions/queue.html", {"filter": filterset, "table": table})


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(
        ExceptionRecord.objects.select_related("assignee", "first_run", "last_run"), pk=pk
    )
    events = record.events.select_related("actor", "run").order_by("at", "id")
    context = {"record": record, "events": events, "details": render_value(record.details)}
    return render(request, "exceptions/detail.html", context)
