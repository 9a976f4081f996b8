"""Role groups and demo users: created once, kept as people change them, teams per group."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission

from integration.roles import ROLE_GROUPS, ensure_demo_users, ensure_role_groups, team_for

pytestmark = pytest.mark.django_db


def granted(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_it_creates_the_five_role_groups_with_the_matrix_permissions() -> None:
    Group.objects.all().delete()  # the post_migrate receiver made them already
    ensure_role_groups()
    ensure_role_groups()  # twice: nothing duplicated
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLE_GROUPS)
    assert sorted(ROLE_GROUPS) == ["Admin", "CX", "Finance", "Ops", "Warehouse"]
    everyone = {
        "exceptions.view_exceptionrecord",
        "exceptions.view_exceptionevent",
        "exceptions.act_on_exception",
        "exceptions.resolve_exception",
    }
    groups = {group.name: granted(group) for group in Group.objects.all()}
    # Permissions of apps that have not declared theirs yet are left out, not invented.
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    expected = {
        "Finance": everyone | {"reconciliation.view_month_end", "reconciliation.close_month"},
        "CX": everyone | {"integration.release_held_order"},
        "Ops": everyone
        | {
            "exceptions.assign_exception",
            "integration.change_mappings",
            "integration.release_held_order",
            "reconciliation.view_month_end",
        },
        "Warehouse": everyone,
        "Admin": everyone
        | {
            "exceptions.assign_exception",
            "integration.change_mappings",
            "integration.release_held_order",
            "reconciliation.view_month_end",
            "reconciliation.close_month",
            "connectors.manage_connections",
            "auth.view_user",
            "auth.add_user",
            "auth.change_user",
            "auth.delete_user",
            "auth.view_group",
        },
    }
    assert groups == {name: perms & existing for name, perms in expected.items()}
    assert everyone <= existing


def test_migrate_leaves_the_groups_with_their_permissions() -> None:
    # The test database was built by migrate: the post_migrate receiver has run.
    ops = Group.objects.get(name="Ops")
    assert {"exceptions.assign_exception", "exceptions.act_on_exception"} <= granted(ops)


def test_it_only_adds_a_right_an_administrator_granted_stays() -> None:
    cx = Group.objects.get(name="CX")
    cx.permissions.add(Permission.objects.get(codename="assign_exception"))
    ensure_role_groups()
    assert "exceptions.assign_exception" in granted(cx)


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
