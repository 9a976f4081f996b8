from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from integration import health
from reconciliation.urls import dashboard_urls, month_end_urls

urlpatterns = [
    path("", include(dashboard_urls)),  # the home page: health, trends
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("exceptions/", include("exceptions.urls")),
    path("held/", include("integration.held_urls")),
    path("mappings/", include("integration.mapping_urls")),
    path("alerts/", include("exceptions.alert_urls")),
    path("month-end/", include(month_end_urls)),
    path("api/v1/", include("exceptions.api.urls")),
    path("connections/", include("connectors.urls")),
]

# A body too large to read (or with too many fields or files) gets a page saying so (413/400).
handler400 = "integration.uploads.bad_request"
