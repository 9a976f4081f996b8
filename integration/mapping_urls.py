from django.urls import path
from django.views.generic import RedirectView

from integration.views import mapping_csv, recheck
from integration.views import mappings as views

app_name = "mappings"

urlpatterns = [
    # GET only (a POST here would be redirected and quietly dropped), for the roles only.
    path(
        "",
        views.viewer_required(
            RedirectView.as_view(
                pattern_name="mappings:shipping", http_method_names=["get", "head"]
            )
        ),
        name="home",
    ),
    path("shipping/", views.shipping, name="shipping"),
    path("shipping/methods/save/", views.shipping_method_save, name="method_save"),
    path("shipping/methods/<int:pk>/delete/", views.shipping_method_delete, name="method_delete"),
    path("shipping/services/save/", views.service_save, name="service_save"),
    path("shipping/services/<int:pk>/delete/", views.service_delete, name="service_delete"),
    path("sku-aliases/", views.aliases, name="aliases"),
    path("sku-aliases/save/", views.alias_save, name="alias_save"),
    path("sku-aliases/<int:pk>/delete/", views.alias_delete, name="alias_delete"),
    path("non-stock/", views.non_stock, name="non_stock"),
    path("non-stock/save/", views.non_stock_save, name="non_stock_save"),
    path("non-stock/<int:pk>/delete/", views.non_stock_delete, name="non_stock_delete"),
    path("settings/", views.settings_page, name="settings"),
    path("history/", views.history, name="history"),
    path("csv/<str:table>.csv", mapping_csv.export_csv, name="export"),
    path("csv/<str:table>/import/", mapping_csv.import_csv, name="import"),
    path("recheck/", recheck.recheck_start, name="recheck_start"),
    path("recheck/<int:pk>/", recheck.recheck_detail, name="recheck"),
    path("recheck/<int:pk>/status/", recheck.recheck_status, name="recheck_status"),
]
