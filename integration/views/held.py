"""Held orders (CX): the list, one order with its correction form, Release, Send again."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from integration import held_orders, outbox, privacy, releases
from integration.filters import HeldFilter
from integration.forms import HeldOrderForm
from integration.models import OrderRelease
from integration.permissions import can
from integration.releases import ReleaseInvalid, ReleaseRefused
from integration.tables import HeldOrderTable
from integration.views.mappings import viewer_required

PER_PAGE = 50


@require_GET
@viewer_required
def held_list(request: HttpRequest) -> HttpResponse:
    filterset = HeldFilter(request.GET, queryset=held_orders.held_exceptions())
    records = filterset.qs if filterset.is_valid() else held_orders.held_exceptions().none()
    # Page over the (cheap) index; whole exceptions and snapshot rows only for this page.
    page = Paginator(held_orders.held_index(records), PER_PAGE).get_page(request.GET.get("page"))
    orders = held_orders.held_orders([origin for origin, _, _ in page])
    if not privacy.can_see_personal(request.user):
        for order in orders:
            _mask(order)
    table = HeldOrderTable(orders)
    RequestConfig(request, paginate=False).configure(table)
    context = {"filter": filterset, "table": table, "page": page, "count": page.paginator.count}
    return render(request, "held/list.html", context)


@viewer_required
def held_detail(request: HttpRequest, origin: str) -> HttpResponse:
    held = held_orders.held_order(origin)
    released = list(
        OrderRelease.objects.filter(origin=origin).select_related("released_by").order_by("-id")
    )
    if held is None and not released:
        raise Http404(f"Order {origin} is not held")
    may_release = can(request.user, "release")
    if request.method == "POST" and not may_release:  # refused before looking at the order's state
        raise PermissionDenied("Releasing held orders is for CX, Ops and Admin.")
    settings = held_orders.current_settings()
    # What is wrong with the order is read from its data as stored, before any masking.
    problems = held_orders.problems_of(held_orders.delivery_of(held), settings) if held else {}
    if not privacy.can_see_personal(request.user):
        _mask(held, released)
        problems = {field: privacy.mask_summary(text) for field, text in problems.items()}
    form = None
    if held is not None:
        current = held_orders.delivery_of(held)
        form = HeldOrderForm(
            request.POST if request.method == "POST" else None,
            initial=current,
            methods=settings.shipping_methods,
            express=settings.express_service_codes,
        )
        if not may_release or held_orders.blockers(held):
            for field in form.fields.values():  # shown, not editable
                field.disabled = True
        if request.method == "POST" and form.is_valid():
            corrections = form.corrections()
            if not form.has_services:  # nothing to pick: the order keeps its method
                corrections.pop("shipping_method")
            try:
                release = releases.release_order(
                    request.user, origin, corrections, note=form.cleaned_data["note"]
                )
            except ReleaseInvalid as exc:
                for field, message in exc.problems.items():
                    form.add_error(field if field in form.fields else None, message)
            except ReleaseRefused as exc:
                messages.error(request, str(exc))
                return redirect("held:detail", origin=origin)
            else:
                messages.success(
                    request,
                    f"Order {origin} released to the warehouse "
                    f"({len(release.exception_ids)} exception(s) resolved).",
                )
                return redirect("held:detail", origin=origin)
    elif request.method == "POST":
        messages.error(request, f"Order {origin} is not held any more: there is nothing to release")
        return redirect("held:detail", origin=origin)
    context = {
        "origin": origin,
        "held": held,
        "form": form,
        "may_release": may_release,
        "blockers": held_orders.blockers(held) if held else [],
        "problems": problems,
        "releases": released,
        "labels": held_orders.LABELS,
        "copies": _copies(held),
    }
    return render(request, "held/detail.html", context, status=400 if form and form.errors else 200)


def _mask(held: held_orders.HeldOrder | None, released: Sequence[OrderRelease] = ()) -> None:
    """Customers' data masked for a viewer who may not see it (integration.privacy), on these
    objects only: shown, never saved."""
    if held is not None:
        held.copies = {role: privacy.mask_fields(copy) for role, copy in held.copies.items()}
        for record in held.exceptions:
            record.summary = privacy.mask_summary(record.summary)
    for release in released:
        release.changes = {
            field: [privacy.mask_field(field, value) for value in pair]
            for field, pair in release.changes.items()
        }


def _copies(held: held_orders.HeldOrder | None) -> list[dict]:
    if held is None:
        return []
    return [held.copies[role] for role in ("store", "erp", "wms") if role in held.copies]


@require_POST
def send_again(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, "release"):
        raise PermissionDenied("Releasing held orders is for CX, Ops and Admin.")
    release = get_object_or_404(OrderRelease, pk=pk)
    try:
        outbox.send_again(release)
    except ValueError as exc:
        messages.error(request, f"Release {release.pk} of order {release.origin}: {exc}")
    else:
        messages.success(request, f"Release {release.pk} of order {release.origin} queued again.")
    return redirect("held:detail", origin=release.origin)
