"""Signing in and out around the exceptions pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_login_page_renders(client: Client) -> None:
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert "csrfmiddlewaretoken" in response.content.decode()


def test_signing_in_goes_to_the_queue(client: Client, finance_user: Any) -> None:
    response = client.post(reverse("login"), {"username": "fiona", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("exceptions:queue")


def test_a_wrong_password_stays_signed_out(client: Client, finance_user: Any) -> None:
    response = client.post(reverse("login"), {"username": "fiona", "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("exceptions:queue")).status_code == 302


def test_pages_show_the_user_and_a_logout_form(client: Client, warehouse_user: Any) -> None:
    client.force_login(warehouse_user)

    html = client.get(reverse("exceptions:queue")).content.decode()

    assert "Wren" in html
    assert f'<form method="post" action="{reverse("logout")}">' in html


def test_logging_out_signs_out(client: Client, warehouse_user: Any) -> None:
    client.force_login(warehouse_user)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get(reverse("exceptions:queue")).status_code == 302
