"""/api/v1/…: DRF authenticates these itself (token or session), so the site-wide login redirect
is lifted here and an anonymous request gets 401 JSON instead of a login page."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from exceptions.api import views

app_name = "api"


def _open(view: type[views.APIView]) -> Callable[..., HttpResponse]:
    return login_not_required(view.as_view())


urlpatterns = [
    path("exceptions/", _open(views.ExceptionList), name="exceptions"),
    path("exceptions/<int:pk>/", _open(views.ExceptionDetail), name="exception"),
    path("exceptions/<int:pk>/acknowledge/", _open(views.Acknowledge), name="acknowledge"),
    path("exceptions/<int:pk>/assign/", _open(views.Assign), name="assign"),
    path("exceptions/<int:pk>/comment/", _open(views.Comment), name="comment"),
    path("exceptions/<int:pk>/snooze/", _open(views.Snooze), name="snooze"),
    path("exceptions/<int:pk>/resolve/", _open(views.Resolve), name="resolve"),
    path("exceptions/<int:pk>/reopen/", _open(views.Reopen), name="reopen"),
]
