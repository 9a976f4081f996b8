"""Role groups (who works which exceptions), their permissions, and the demo's one user per role.

A user's team is the team of their first role group; the queue filters on it. Each group holds
the Django permissions of the matrix in docs/roles.md (`ROLE_PERMISSIONS`); which exceptions a
holder may act on (the owner side) is `integration.permissions`'s object-level check.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import DEFAULT_DB_ALIAS, transaction

from integration.permissions import role_names

# Group name -> the exceptions team its members work (rules.md teams).
ROLE_GROUPS: dict[str, str] = {
    "Finance": "finance",
    "CX": "cx",
    "Ops": "ops",
    "Warehouse": "warehouse",
    "Admin": "ops",
}

# username -> group; the password is `parity-<username>` (demo only, printed by `manage.py demo`).
DEMO_USERS: dict[str, str] = {
    "finance": "Finance",
    "cx": "CX",
    "ops": "Ops",
    "warehouse": "Warehouse",
    "admin": "Admin",
}


# What every role group may do besides seeing ("app_label.codename"). The matrix, by row:
# see exceptions and dashboards — everyone; acknowledge / comment / snooze and resolve / reopen —
# everyone, limited to their side by integration.permissions; assign, mappings and settings —
# Ops, Admin; release held orders — CX, Ops, Admin; month-end — Finance, Ops, Admin; close the
# month — Finance, Admin; connections and users — Admin.
_EVERYONE = (
    "exceptions.view_exceptionrecord",
    "exceptions.view_exceptionevent",
    "exceptions.act_on_exception",
    "exceptions.resolve_exception",
)
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Finance": (*_EVERYONE, "reconciliation.view_month_end", "reconciliation.close_month"),
    "CX": (*_EVERYONE, "integration.release_held_order"),
    "Ops": (
        *_EVERYONE,
        "exceptions.assign_exception",
        "integration.change_mappings",
        "integration.release_held_order",
        "reconciliation.view_month_end",
    ),
    "Warehouse": _EVERYONE,
    "Admin": (
        *_EVERYONE,
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
    ),
}


def demo_password(username: str) -> str:
    return f"parity-{username}"


def _permissions(names: set[str]) -> dict[str, Permission]:
    """The Permission rows for "app_label.codename" names that exist yet (an app that has not
    declared its permission so far is skipped, and picked up by a later call)."""
    codenames = {name.split(".", 1)[1] for name in names}
    rows = Permission.objects.filter(codename__in=codenames).select_related("content_type")
    found = {f"{p.content_type.app_label}.{p.codename}": p for p in rows}
    return {name: found[name] for name in names if name in found}


@transaction.atomic
def ensure_role_groups() -> list[Group]:
    """Create the role groups if missing and grant each its permissions of the matrix.

    Only ever adds: a right an administrator granted a group in the admin is kept."""
    permissions = _permissions({name for names in ROLE_PERMISSIONS.values() for name in names})
    groups = []
    for name in ROLE_GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        granted = [permissions[p] for p in ROLE_PERMISSIONS[name] if p in permissions]
        if granted:
            group.permissions.add(*granted)
        groups.append(group)
    return groups


def ensure_role_groups_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate receiver: once the last app's permissions exist, bring the groups up to date,
    so a fresh database (and every test database) has the matrix without a manual step."""
    # migrate signals each app that has models, in order; the last one comes after every app's
    # permissions were created.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    if kwargs.get("using", DEFAULT_DB_ALIAS) != DEFAULT_DB_ALIAS:
        return  # the groups live in the default database
    ensure_role_groups()


@transaction.atomic
def ensure_demo_users() -> list[tuple[str, str, str]]:
    """One user per role group, (username, password, group) each; existing users are kept as
    they are (a changed password survives a second `manage.py demo`)."""
    ensure_role_groups()
    user_model = get_user_model()
    logins = []
    for username, group_name in DEMO_USERS.items():
        password = demo_password(username)
        user, created = user_model.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.email = f"{username}@northwind.example"
            if group_name == "Admin":
                user.is_staff = user.is_superuser = True
            user.save()
        user.groups.add(Group.objects.get(name=group_name))
        logins.append((username, password, group_name))
    return logins


def team_for(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The team whose exceptions this user works: their first role group's, else None."""
    if not user.is_authenticated:
        return None
    names = role_names(user)  # read once per user object, shared with the permission checks
    return next((team for name, team in ROLE_GROUPS.items() if name in names), None)
