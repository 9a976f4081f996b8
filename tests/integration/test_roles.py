"""Role groups and demo users: created once, kept as people change them, teams per group."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from integration.roles import ROLE_GROUPS, ensure_demo_users, ensure_role_groups, team_for

pytestmark = pytest.mark.django_db


def test_it_creates_the_five_role_groups_with_view_permissions() -> None:
    ensure_role_groups()
    ensure_role_groups()  # twice: nothing duplicated
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLE_GROUPS)
    assert sorted(ROLE_GROUPS) == ["Admin", "CX", "Finance", "Ops", "Warehouse"]
    for group in Group.objects.all():
        codenames = set(group.permissions.values_list("codename", flat=True))
        assert codenames == {"view_exceptionrecord", "view_exceptionevent"}


def test_demo_users_log_in_with_their_printed_passwords() -> None:
    logins = ensure_demo_users()
    assert logins == [
        ("finance", "parity-finance", "Finance"),
        ("cx", "parity-cx", "CX"),
        ("ops", "parity-ops", "Ops"),
        ("warehouse", "parity-warehouse", "Warehouse"),
        ("admin", "parity-admin", "Admin"),
    ]
    for username, password, group in logins:
        user = get_user_model().objects.get(username=username)
        assert user.check_password(password)
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert (user.is_staff, user.is_superuser) == (
            (True, True) if group == "Admin" else (False, False)
        )


def test_existing_users_are_kept_as_they_are() -> None:
    ensure_demo_users()
    user = get_user_model().objects.get(username="ops")
    user.set_password("a-better-password")
    user.save()
    ensure_demo_users()
    assert get_user_model().objects.count() == 5
    assert get_user_model().objects.get(username="ops").check_password("a-better-password")


def test_each_user_works_their_groups_team() -> None:
    ensure_demo_users()
    teams = {u.username: team_for(u) for u in get_user_model().objects.all()}
    assert teams == {
        "finance": "finance",
        "cx": "cx",
        "ops": "ops",
        "warehouse": "warehouse",
        "admin": "ops",
    }
    assert team_for(AnonymousUser()) is None
    loner = get_user_model().objects.create_user("loner")
    assert team_for(loner) is None
