"""Shared fixtures: the cast of users, one per role. See tests/<app>/conftest.py for each app's own.

Role groups are named as in integration/roles.py; every user's password is PASSWORD.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser, Group
from hypothesis import settings

# Property-based tests (tests/hardening): "ci", the default, draws few examples so the suite stays
# quick (every example that once failed is an @example, run every time, and each run draws new
# ones); HYPOTHESIS_PROFILE=thorough hunts at length. No deadline: a shared CI machine is slow.
settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PASSWORD = "correct-horse-battery"


@pytest.fixture
def make_user(db: None, django_user_model: type[AbstractUser]) -> Callable[..., AbstractUser]:
    """make_user("fiona", group="Finance", first_name="Fiona") -> a saved user."""

    def make(username: str, *, group: str | None = None, **fields: Any) -> AbstractUser:
        user = django_user_model.objects.create_user(username=username, password=PASSWORD, **fields)
        if group:
            user.groups.add(Group.objects.get_or_create(name=group)[0])
        return user

    return make


@pytest.fixture
def finance_user(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("fiona", group="Finance", first_name="Fiona")


@pytest.fixture
def cx_user(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("cass", group="CX", first_name="Cass")


@pytest.fixture
def ops_user(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("otto", group="Ops", first_name="Otto")


@pytest.fixture
def warehouse_user(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    return make_user("wren", group="Warehouse", first_name="Wren")


@pytest.fixture
def admin_user(make_user: Callable[..., AbstractUser]) -> AbstractUser:
    # Overrides pytest-django's admin_user (and so its admin_client) with the cast's admin.
    return make_user("ada", group="Admin", first_name="Ada", is_staff=True, is_superuser=True)
