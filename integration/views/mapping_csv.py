"""CSV export (every role) and import (Ops, Admin) of each map; see integration/mapping_csv.py."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from integration import mapping_csv, uploads
from integration.forms import ImportForm
from integration.mappings import MappingError
from integration.views.mappings import CSV_TABLES, editor_required, page_context, viewer_required


@require_GET
@viewer_required
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in CSV_TABLES:
        raise Http404("no such map")
    response = HttpResponse(mapping_csv.export(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}.csv"'
    return response


@require_POST
@editor_required
def import_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in CSV_TABLES:
        raise Http404("no such map")
    target = f"mappings:{CSV_TABLES[table]}"
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, f"Import of {table}.csv refused: choose a CSV file.")
        return redirect(target)
    upload = form.cleaned_data["file"]
    if refusal := uploads.too_large(upload):
        messages.error(request, f"Import of {table}.csv refused, nothing saved: {refusal}.")
        return redirect(target)
    try:
        summary = mapping_csv.import_csv(request.user, table, upload.read(), upload.name)
    except mapping_csv.ImportFailed as exc:
        context = {
            **page_context(request, CSV_TABLES[table]),
            "errors": exc.errors,
            "file": upload.name,
        }
        context["table_name"] = table
        return render(request, "mappings/import_errors.html", context, status=400)
    except MappingError as exc:
        messages.error(request, f"Import of {upload.name} refused, nothing saved: {exc}")
        return redirect(target)
    messages.success(
        request, f"Imported {upload.name}: {summary}. It takes effect on the next reconciliation."
    )
    return redirect(target)
