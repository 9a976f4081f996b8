"""The project's URLs with the Connections pages, whether or not integration/urls.py has them yet."""

from django.urls import include, path

from integration.urls import urlpatterns as project_patterns

urlpatterns = list(project_patterns)
if not any(getattr(p, "namespace", None) == "connectors" for p in urlpatterns):
    urlpatterns.append(path("connections/", include("connectors.urls")))
