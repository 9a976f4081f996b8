"""The browser fixtures themselves: sign in through the form and land on the queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractUser

from exceptions.models import ExceptionRecord


def test_a_signed_in_user_lands_on_the_queue_with_the_demo_exceptions(
    page: Any,
    demo_world: Any,
    ops_user: AbstractUser,
    login_as: Callable[..., None],
    screenshot: Callable[..., Any],
) -> None:
    login_as(page, ops_user)

    # team= is the "All" tab: without it the queue keeps to the user's own team.
    page.goto("/exceptions/?team=&owner=warehouse&status=open")
    assert page.url.endswith("/exceptions/?team=&owner=warehouse&status=open")
    top = ExceptionRecord.objects.filter(owner="warehouse", status="open").order_by("-score", "id")
    assert top.exists()
    assert page.get_by_text(top[0].key, exact=True).first.is_visible()
    assert screenshot(page, "sign-in-queue").stat().st_size > 0


def test_an_anonymous_visitor_is_sent_to_the_login_page(page: Any, live_server: Any) -> None:
    page.goto("/exceptions/")
    assert "/login/" in page.url
