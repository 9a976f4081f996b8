from django.urls import path

from exceptions import views

app_name = "exceptions"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("export.csv", views.export, name="export"),
    path("bulk/", views.bulk, name="bulk"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<slug:action>/", views.act, name="act"),
]
