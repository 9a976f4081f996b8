from django.urls import path

from exceptions import views

app_name = "exceptions"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.detail, name="detail"),
]
