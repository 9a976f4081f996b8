"""Role groups (who works which exceptions) and the demo's one user per role.

A user's team is the team of their first role group; the queue filters on it. Permissions per
group come later: for now every group may view exceptions.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import transaction

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


def demo_password(username: str) -> str:
    return f"parity-{username}"


def _view_permissions() -> list[Permission]:
    """View permissions on the exceptions app's models, where that app has models yet."""
    if not apps.is_installed("exceptions"):
        return []
    models = list(apps.get_app_config("exceptions").get_models())
    codenames = [f"view_{model._meta.model_name}" for model in models]
    return list(
        Permission.objects.filter(content_type__app_label="exceptions", codename__in=codenames)
    )


@transaction.atomic
def ensure_role_groups() -> list[Group]:
    """Create the role groups if missing and give each the exceptions view permissions."""
    permissions = _view_permissions()
    groups = []
    for name in ROLE_GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        if permissions:
            group.permissions.add(*permissions)
        groups.append(group)
    return groups


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
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
    return next((team for name, team in ROLE_GROUPS.items() if name in names), None)
