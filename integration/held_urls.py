from django.urls import path

from integration.views import held

app_name = "held"

urlpatterns = [
    path("", held.held_list, name="list"),
    path("releases/<int:pk>/send-again/", held.send_again, name="send_again"),
    # Order refs may hold any character but a slash is unlikely; `path` still takes one.
    path("order/<path:origin>", held.held_detail, name="detail"),
]
