"""What a load balancer and a log pipeline see of a request (docs/operations.md): the health
endpoints answer over plain HTTP where every page redirects to HTTPS, and every response carries
the request id its log records have."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_probes_answer_plain_http_where_pages_redirect(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")
    page = client.get("/login/")
    assert (page.status_code, page.headers["Location"]) == (301, "https://testserver/login/")
    # Only those two paths: a look-alike is redirected like any page.
    assert client.get("/healthz/x").status_code == 301


def test_every_response_carries_a_request_id(client: Client) -> None:
    given = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.91")
    assert given["X-Request-ID"] == "lb-7f3a.91"
    made = [client.get("/login/")["X-Request-ID"] for _ in range(2)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in made)
    assert made[0] != made[1]
