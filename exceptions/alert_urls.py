from django.urls import path

from exceptions import alert_views

app_name = "alerts"

urlpatterns = [
    path("", alert_views.routes, name="routes"),
    path("new/", alert_views.create, name="create"),
    path("<int:pk>/", alert_views.edit, name="edit"),
    path("<int:pk>/delete/", alert_views.delete, name="delete"),
    path("<int:pk>/test/", alert_views.test, name="test"),
    path("deliveries/", alert_views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/retry/", alert_views.retry, name="retry"),
]
