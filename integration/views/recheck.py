"""Re-check now (Ops, Admin): start one, and its page with a polled status fragment."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from integration import recheck
from integration.models import Recheck
from integration.views.mappings import TABS, editor_required, page_context, viewer_required


@require_POST
@editor_required
def recheck_start(request: HttpRequest) -> HttpResponse:
    try:
        started = recheck.start(request.user)
    except recheck.RecheckRefused as exc:
        messages.error(request, f"Re-check not started: {exc}")
        back = request.POST.get("next", "")
        return redirect(f"mappings:{back}" if back in TABS else "mappings:shipping")
    return redirect("mappings:recheck", pk=started.pk)


@require_GET
@viewer_required
def recheck_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Recheck.objects.select_related("requested_by", "run"), pk=pk)
    context = {**page_context(request, "recheck"), "item": item}
    return render(request, "mappings/recheck.html", context)


@require_GET
@viewer_required
def recheck_status(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Recheck.objects.select_related("requested_by", "run"), pk=pk)
    return render(request, "mappings/_recheck_status.html", {"item": item})
