"""Mappings (ops): shipping, SKU aliases, non-stock SKUs, settings, history, CSV, re-check now.

Every role may look (a user in no role group may not); changing anything needs the `edit_mappings` right (Ops, Admin).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig
from django_tables2.paginators import LazyPaginator

from integration import mappings
from integration.filters import AliasFilter, ChangeFilter
from integration.forms import (
    AliasForm,
    ImportForm,
    NonStockForm,
    ServiceForm,
    SettingsForm,
    ShippingMethodForm,
)
from integration.held_orders import held_exceptions
from integration.mappings import MappingError
from integration.models import (
    MappingChange,
    NonStockSku,
    Recheck,
    ServiceCode,
    ShippingMethod,
    SkuAlias,
)
from integration.permissions import can, capability_required
from integration.tables import AliasTable, ChangeTable
from reconciliation.models import ReconciliationRun

PER_PAGE = 50
TABS = ("shipping", "aliases", "non_stock", "settings", "history")
CSV_TABLES = {"shipping": "shipping", "sku_aliases": "aliases", "non_stock": "non_stock"}


editor_required = capability_required(
    "edit_mappings", "Mappings and settings are changed by Ops and Admin."
)
# Looking needs a role too: a user in no role group sees nothing (docs/roles.md).
viewer_required = capability_required(
    "view", "You are in no role group: ask an administrator for one."
)


def page_context(request: HttpRequest, tab: str) -> dict[str, Any]:
    last = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE).first()
    return {
        "tab": tab,
        "may_edit": can(request.user, "edit_mappings"),
        "bundle_config": (last.config if last else {}) or {},
        "recheck": Recheck.objects.select_related("requested_by").first(),
        "import_form": ImportForm(),
    }


def _saved(request: HttpRequest, target: str, action: Callable[[], Any], done: str) -> HttpResponse:
    try:
        action()
    except MappingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{done} It takes effect on the next reconciliation.")
    return redirect(target)


def _form_errors(form: Any) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


# -- shipping --------------------------------------------------------------------------------


@require_GET
@viewer_required
def shipping(request: HttpRequest) -> HttpResponse:
    common = page_context(request, "shipping")
    services = list(ServiceCode.objects.annotate(used=Count("methods")).order_by("code"))
    methods = list(ShippingMethod.objects.select_related("service").order_by("name"))
    settings = mappings.effective_settings(common["bundle_config"])
    table_names = {m.name for m in methods}
    from_bundle = sorted(
        (name, code) for name, code in settings.shipping_methods.items() if name not in table_names
    )
    # The methods orders are waiting on, from the open SHIPPING_UNMAPPED exceptions (grouped in
    # the database: there may be thousands).
    unmapped = {
        method or "": n
        for method, n in held_exceptions()
        .filter(rule="SHIPPING_UNMAPPED")
        .annotate(method=KeyTextTransform("shipping_method", "details"))
        .values("method")
        .annotate(n=Count("id"))
        .values_list("method", "n")
        .order_by()
    }
    edit = _edit_target(request, ShippingMethod)
    initial = {"name": request.GET.get("method", "")}
    if edit is not None:
        initial = {
            "name": edit.name,
            "service_code": edit.service.code,
            "express": edit.service.express,
        }
    context = {
        **common,
        "services": services,
        "methods": methods,
        "from_bundle": from_bundle,
        "express": set(settings.express_service_codes),
        "unmapped": sorted(unmapped.items()),
        "method_form": ShippingMethodForm(initial=initial),
        "service_form": ServiceForm(),
        "edit": edit,
        "codes": sorted({s.code for s in services} | set(settings.shipping_methods.values())),
    }
    return render(request, "mappings/shipping.html", context)


def _edit_target(request: HttpRequest, model: type) -> Any:
    pk = request.GET.get("edit", "")
    if not pk:
        return None
    if not pk.isdigit():
        raise Http404("no such row")
    return get_object_or_404(model, pk=int(pk))


@require_POST
@editor_required
def shipping_method_save(request: HttpRequest) -> HttpResponse:
    form = ShippingMethodForm(request.POST)
    method = None
    if request.POST.get("pk"):
        method = get_object_or_404(ShippingMethod, pk=_pk(request.POST["pk"]))
    if not form.is_valid():
        messages.error(request, f"Shipping method not saved: {_form_errors(form)}")
        return redirect("mappings:shipping")
    data = form.cleaned_data
    return _saved(
        request,
        "mappings:shipping",
        lambda: mappings.save_shipping_method(
            request.user,
            data["name"],
            data["service_code"],
            # Ticked: the service becomes express. Unticked leaves an existing service as it is
            # (the services form makes one standard again); a new one starts standard.
            express=True if data["express"] else None,
            method=method,
        ),
        f"Shipping method '{data['name']}' → {data['service_code']} saved.",
    )


@require_POST
@editor_required
def shipping_method_delete(request: HttpRequest, pk: int) -> HttpResponse:
    method = get_object_or_404(ShippingMethod, pk=pk)
    name = method.name
    return _saved(
        request,
        "mappings:shipping",
        lambda: mappings.delete_shipping_method(request.user, method),
        f"Shipping method '{name}' removed.",
    )


@require_POST
@editor_required
def service_save(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Service not saved: {_form_errors(form)}")
        return redirect("mappings:shipping")
    data = form.cleaned_data
    return _saved(
        request,
        "mappings:shipping",
        lambda: mappings.save_service(
            request.user, data["code"], express=data["express"], description=data["description"]
        ),
        f"Service {data['code']} saved.",
    )


@require_POST
@editor_required
def service_delete(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(ServiceCode, pk=pk)
    code = service.code
    return _saved(
        request,
        "mappings:shipping",
        lambda: mappings.delete_service(request.user, service),
        f"Service {code} removed.",
    )


def _pk(value: str) -> int:
    if not value.isdigit():
        raise Http404("no such row")
    return int(value)


# -- SKU aliases -----------------------------------------------------------------------------


@require_GET
@viewer_required
def aliases(request: HttpRequest) -> HttpResponse:
    queryset = SkuAlias.objects.order_by("role", "sku")
    filterset = AliasFilter(request.GET, queryset=queryset)
    table = AliasTable(filterset.qs if filterset.is_valid() else queryset.none())
    table.may_edit = can(request.user, "edit_mappings")  # type: ignore[attr-defined]
    RequestConfig(
        request, paginate={"paginator_class": LazyPaginator, "per_page": PER_PAGE}
    ).configure(table)
    edit = _edit_target(request, SkuAlias)
    initial = (
        {"role": edit.role, "sku": edit.sku, "canonical_sku": edit.canonical_sku} if edit else {}
    )
    bundle_rows = (
        ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETE)
        .values_list("sku_map", flat=True)
        .first()
        or []
    )
    context = {
        **page_context(request, "aliases"),
        "filter": filterset,
        "table": table,
        "form": AliasForm(initial=initial),
        "edit": edit,
        "bundle_aliases": len(bundle_rows),
    }
    return render(request, "mappings/aliases.html", context)


@require_POST
@editor_required
def alias_save(request: HttpRequest) -> HttpResponse:
    form = AliasForm(request.POST)
    alias = (
        get_object_or_404(SkuAlias, pk=_pk(request.POST["pk"])) if request.POST.get("pk") else None
    )
    if not form.is_valid():
        messages.error(request, f"SKU alias not saved: {_form_errors(form)}")
        return redirect("mappings:aliases")
    data = form.cleaned_data
    return _saved(
        request,
        "mappings:aliases",
        lambda: mappings.save_alias(
            request.user, data["role"], data["sku"], data["canonical_sku"], alias=alias
        ),
        f"{data['role']} SKU {data['sku']} → {data['canonical_sku']} saved.",
    )


@require_POST
@editor_required
def alias_delete(request: HttpRequest, pk: int) -> HttpResponse:
    alias = get_object_or_404(SkuAlias, pk=pk)
    label = f"{alias.role} SKU {alias.sku}"
    return _saved(
        request,
        "mappings:aliases",
        lambda: mappings.delete_alias(request.user, alias),
        f"Alias of {label} removed.",
    )


# -- non-stock -------------------------------------------------------------------------------


@require_GET
@viewer_required
def non_stock(request: HttpRequest) -> HttpResponse:
    edit = _edit_target(request, NonStockSku)
    common = page_context(request, "non_stock")
    context = {
        **common,
        "items": NonStockSku.objects.order_by("sku"),
        "form": NonStockForm(
            initial={"sku": edit.sku, "description": edit.description} if edit else {}
        ),
        "edit": edit,
        "from_bundle": sorted(
            set(mappings.effective_settings(common["bundle_config"]).non_stock_skus)
            - set(NonStockSku.objects.values_list("sku", flat=True))
        ),
    }
    return render(request, "mappings/non_stock.html", context)


@require_POST
@editor_required
def non_stock_save(request: HttpRequest) -> HttpResponse:
    form = NonStockForm(request.POST)
    item = (
        get_object_or_404(NonStockSku, pk=_pk(request.POST["pk"]))
        if request.POST.get("pk")
        else None
    )
    if not form.is_valid():
        messages.error(request, f"Non-stock SKU not saved: {_form_errors(form)}")
        return redirect("mappings:non_stock")
    data = form.cleaned_data
    return _saved(
        request,
        "mappings:non_stock",
        lambda: mappings.save_non_stock(request.user, data["sku"], data["description"], item=item),
        f"Non-stock SKU {data['sku']} saved.",
    )


@require_POST
@editor_required
def non_stock_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(NonStockSku, pk=pk)
    sku = item.sku
    return _saved(
        request,
        "mappings:non_stock",
        lambda: mappings.delete_non_stock(request.user, item),
        f"Non-stock SKU {sku} removed.",
    )


# -- settings --------------------------------------------------------------------------------


@viewer_required
def settings_page(request: HttpRequest) -> HttpResponse:
    may_edit = can(request.user, "edit_mappings")
    if request.method == "POST" and not may_edit:
        raise PermissionDenied("Mappings and settings are changed by Ops and Admin.")
    form = SettingsForm(request.POST or None, initial=mappings.settings_values())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = mappings.save_settings(request.user, form.values())
            except MappingError as exc:
                form.add_error(None, str(exc))
            else:
                if changed:
                    messages.success(
                        request,
                        f"Saved {', '.join(changed)}. It takes effect on the next reconciliation.",
                    )
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("mappings:settings")
        status = 400
    context = {**page_context(request, "settings"), "form": form}
    context["overridden"] = sorted(set(context["bundle_config"]) & set(mappings.SCALAR_KEYS))
    return render(request, "mappings/settings.html", context, status=status)


# -- history ---------------------------------------------------------------------------------


@require_GET
@viewer_required
def history(request: HttpRequest) -> HttpResponse:
    queryset = MappingChange.objects.select_related("actor").order_by("-at", "-id")
    filterset = ChangeFilter(request.GET, queryset=queryset)
    table = ChangeTable(filterset.qs if filterset.is_valid() else queryset.none())
    RequestConfig(
        request, paginate={"paginator_class": LazyPaginator, "per_page": PER_PAGE}
    ).configure(table)
    context = {**page_context(request, "history"), "filter": filterset, "table": table}
    return render(request, "mappings/history.html", context)
