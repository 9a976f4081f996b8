"""The home dashboard and the month-end pages. Thin: check the right, call one function, render.

Month-end needs `view_month_end` (Finance, Ops, Admin); ticking the checklist `close_month`
(Finance, Admin). Both are asked through `integration.permissions.can`.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from exceptions.models import ExceptionRecord
from integration.permissions import can
from reconciliation import charts, dashboard, exports, month_end
from reconciliation.finance import FIGURE_RULES
from reconciliation.metrics import set_label
from reconciliation.models import Figure, RunMetrics
from reconciliation.tables import RecordFilter, RecordTable

RECORDS_PER_PAGE = 50


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "view"):  # a user in no role group sees nothing
        raise PermissionDenied("You are in no role group: ask an administrator for one.")
    days = dashboard.parse_range(request.GET.get("days"))
    overview = dashboard.overview()
    points = dashboard.history(days, overview.now)
    context = {
        "overview": overview,
        "charts": charts.dashboard_charts(points, overview.latest),
        "days": days,
        "ranges": dashboard.RANGES,
        "can_month_end": can(request.user, "view_month_end"),
    }
    return render(request, "dashboard/home.html", context)


# -- month-end --------------------------------------------------------------------------------------


def _require(request: HttpRequest, action: str) -> None:
    if not can(request.user, action):
        raise PermissionDenied(f"you may not {action.replace('_', ' ')}")


def _problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "month_end/problem.html", {"message": message}, status=status)


def _close(request: HttpRequest, month_text: str) -> tuple[date, RunMetrics] | HttpResponse:
    """The month and its close run's metrics, or the page saying what is wrong with the input."""
    try:
        month = month_end.parse_month(month_text)
    except month_end.MonthEndError as exc:
        return _problem(request, str(exc), 404)
    systems = request.GET.get("systems") or request.POST.get("systems") or None
    metrics = month_end.close_metrics(month, systems)
    if metrics is None:
        which = f" for the systems '{systems}'" if systems else ""
        return _problem(request, f"No completed run in {month:%B %Y}{which}.", 404)
    return month, metrics


def _month_url(metrics: RunMetrics) -> str:
    url = reverse("month_end:month", args=[month_end.month_text(metrics.month)])
    return f"{url}?{urlencode({'systems': metrics.system_set})}"


@require_GET
def month_end_index(request: HttpRequest) -> HttpResponse:
    _require(request, "view_month_end")
    if chosen := request.GET.get("month"):  # the page's month picker
        try:
            picked = month_end.parse_month(chosen.strip())
        except month_end.MonthEndError as exc:
            return _problem(request, str(exc), 400)
        url = reverse("month_end:month", args=[month_end.month_text(picked)])
        systems = request.GET.get("systems")
        return redirect(f"{url}?{urlencode({'systems': systems})}" if systems else url)
    months = month_end.months()
    if not months:
        return render(request, "month_end/empty.html")
    return redirect("month_end:month", month_end.month_text(months[0]))


@require_GET
def month_end_month(request: HttpRequest, month: str) -> HttpResponse:
    _require(request, "view_month_end")
    found = _close(request, month)
    if isinstance(found, HttpResponse):
        return found
    month_date, metrics = found
    context = {
        "month": month_date,
        "metrics": metrics,
        "systems_label": set_label(metrics.systems),
        "rows": month_end.figure_rows(metrics),
        "checklist": month_end.checklist(month_date, metrics.system_set),
        "months": month_end.months(),
        "system_sets": month_end.system_sets(month_date),
        "can_close": can(request.user, "close_month"),
        "month_text": month_end.month_text(month_date),
    }
    return render(request, "month_end/month.html", context)


@require_GET
def month_end_records(request: HttpRequest, month: str, figure: str) -> HttpResponse:
    _require(request, "view_month_end")
    found = _close(request, month)
    if isinstance(found, HttpResponse):
        return found
    month_date, metrics = found
    if figure not in Figure.values:
        return _problem(request, f"'{figure}' is not a month-end figure.", 404)
    items = month_end.records(metrics, figure)
    filterset = RecordFilter(request.GET, queryset=items, figure=figure)
    rows = filterset.qs if filterset.is_valid() else items.none()
    table = RecordTable(rows, figure=figure, links={})
    RequestConfig(request, paginate={"per_page": RECORDS_PER_PAGE}).configure(table)
    # Evidence links for this page's rows only: one query on the (rule, key) index.
    keys = [row.record.key for row in table.page.object_list]
    table.links = {
        key: reverse("exceptions:detail", args=[pk])
        for key, pk in ExceptionRecord.objects.filter(
            rule=FIGURE_RULES[figure], key__in=keys
        ).values_list("key", "id")
    }
    context = {
        "month": month_date,
        "month_text": month_end.month_text(month_date),
        "metrics": metrics,
        "systems_label": set_label(metrics.systems),
        "figure": figure,
        "figure_label": Figure(figure).label,
        "filter": filterset,
        "table": table,
    }
    return render(request, "month_end/records.html", context)


def _download(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _slug(metrics: RunMetrics) -> str:
    slug = set_label(metrics.systems).replace(" → ", "-").replace(" ", "").lower()
    return re.sub(r"[^a-z0-9-]", "", slug) or "systems"


@require_GET
def month_end_summary_csv(request: HttpRequest, month: str) -> HttpResponse:
    _require(request, "view_month_end")
    found = _close(request, month)
    if isinstance(found, HttpResponse):
        return found
    month_date, metrics = found
    body = exports.summary_csv(metrics, month_end.figure_rows(metrics))
    name = f"month-end-{month_end.month_text(month_date)}-{_slug(metrics)}.csv"
    return _download(body, "text/csv; charset=utf-8", name)


@require_GET
def month_end_records_csv(request: HttpRequest, month: str, figure: str) -> HttpResponse:
    _require(request, "view_month_end")
    found = _close(request, month)
    if isinstance(found, HttpResponse):
        return found
    month_date, metrics = found
    if figure not in Figure.values:
        return _problem(request, f"'{figure}' is not a month-end figure.", 404)
    body = exports.records_csv(figure, month_end.records(metrics, figure).iterator())
    name = f"month-end-{month_end.month_text(month_date)}-{figure}-{_slug(metrics)}.csv"
    return _download(body, "text/csv; charset=utf-8", name)


@require_GET
def month_end_xlsx(request: HttpRequest, month: str) -> HttpResponse:
    _require(request, "view_month_end")
    found = _close(request, month)
    if isinstance(found, HttpResponse):
        return found
    month_date, metrics = found
    body = exports.workbook(
        metrics,
        month_end.figure_rows(metrics),
        {figure: month_end.records(metrics, figure).iterator() for figure in Figure.values},
        month_end.checklist(month_date, metrics.system_set),
        exported_by=request.user.get_username(),
    )
    name = f"month-end-{month_end.month_text(month_date)}-{_slug(metrics)}.xlsx"
    return _download(
        body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name
    )


@require_POST
def month_end_check(request: HttpRequest, month: str) -> HttpResponse:
    _require(request, "close_month")
    found = _close(request, month)
    if isinstance(found, HttpResponse):
        return found
    _, metrics = found
    try:
        item = month_end.parse_item(request.POST.get("item", ""))
    except month_end.MonthEndError as exc:
        return _problem(request, str(exc), 400)
    ticked = request.POST.get("ticked") == "1"
    check = month_end.set_check(metrics, item, ticked, request.user)
    label = check.get_item_display()
    state = "ticked" if check.ticked else "unticked"
    when = timezone.localtime(check.changed_at).strftime("%H:%M") if check.changed_at else ""
    messages.success(request, f"“{label}” {state} at {when}.")
    return redirect(f"{_month_url(metrics)}#checklist")
