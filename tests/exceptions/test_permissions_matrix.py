"""integration.permissions.can: the matrix of docs/roles.md for every action and role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from exceptions.models import ExceptionRecord
from integration.permissions import PERMISSIONS, can, owners_for

pytestmark = pytest.mark.django_db

ROLES = ("finance", "cx", "ops", "warehouse", "admin")

# action -> (owner of the exception -> the roles that may)
EXCEPTION_MATRIX: dict[str, dict[str, set[str]]] = {
    "view": {"office": set(ROLES), "warehouse": set(ROLES)},
    "acknowledge": {
        "office": {"finance", "cx", "ops", "admin"},
        "warehouse": {"warehouse", "ops", "admin"},
    },
    "comment": {
        "office": {"finance", "cx", "ops", "admin"},
        "warehouse": {"warehouse", "ops", "admin"},
    },
    "snooze": {
        "office": {"finance", "cx", "ops", "admin"},
        "warehouse": {"warehouse", "ops", "admin"},
    },
    "resolve": {"office": {"finance", "cx", "ops", "admin"}, "warehouse": {"warehouse", "admin"}},
    "reopen": {"office": {"finance", "cx", "ops", "admin"}, "warehouse": {"warehouse", "admin"}},
    "assign": {"office": {"ops", "admin"}, "warehouse": {"ops", "admin"}},
}
# Rights that are not about one exception (those whose permission exists yet).
OTHER_MATRIX: dict[str, set[str]] = {
    "edit_mappings": {"ops", "admin"},
    "release": {"cx", "ops", "admin"},
    "view_month_end": {"finance", "ops", "admin"},
    "close_month": {"finance", "admin"},
    "manage_connections": {"admin"},
    "manage_users": {"admin"},
}


@pytest.fixture
def cast(
    finance_user: Any, cx_user: Any, ops_user: Any, warehouse_user: Any, make_user: Any
) -> dict[str, Any]:
    # A plain Admin-group member (not a superuser) shows what the group itself grants.
    admin = make_user("adam", group="Admin")
    return {
        "finance": finance_user,
        "cx": cx_user,
        "ops": ops_user,
        "warehouse": warehouse_user,
        "admin": admin,
    }


def declared(action: str) -> bool:
    app, codename = PERMISSIONS[action].split(".")
    return Permission.objects.filter(content_type__app_label=app, codename=codename).exists()


@pytest.mark.parametrize("action", sorted(EXCEPTION_MATRIX))
@pytest.mark.parametrize("owner", ["office", "warehouse"])
def test_exception_actions_follow_the_matrix(
    cast: dict[str, Any],
    make_exception: Callable[..., ExceptionRecord],
    action: str,
    owner: str,
) -> None:
    exception = make_exception(owner=owner)
    allowed = {role for role, user in cast.items() if can(user, action, exception)}
    assert allowed == EXCEPTION_MATRIX[action][owner]


@pytest.mark.parametrize("action", sorted(EXCEPTION_MATRIX))
def test_without_an_exception_it_answers_on_some_exception(
    cast: dict[str, Any], action: str
) -> None:
    allowed = {role for role, user in cast.items() if can(user, action)}
    matrix = EXCEPTION_MATRIX[action]
    assert allowed == matrix["office"] | matrix["warehouse"]


@pytest.mark.parametrize("action", sorted(OTHER_MATRIX))
def test_other_rights_follow_the_matrix(cast: dict[str, Any], action: str) -> None:
    if not declared(action):
        pytest.skip(f"{PERMISSIONS[action]} is not declared by its app yet")
    allowed = {role for role, user in cast.items() if can(user, action)}
    assert allowed == OTHER_MATRIX[action]


def test_owners_for_gives_the_sides(cast: dict[str, Any]) -> None:
    assert owners_for(cast["warehouse"], "resolve") == {"warehouse"}
    assert owners_for(cast["ops"], "resolve") == {"office"}
    assert owners_for(cast["ops"], "acknowledge") == {"office", "warehouse"}
    assert owners_for(cast["finance"], "assign") == frozenset()


def test_a_superuser_may_do_everything(
    admin_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    exception = make_exception(owner="warehouse")
    for action in EXCEPTION_MATRIX:
        assert can(admin_user, action, exception)


def test_two_groups_give_the_union_of_their_sides(
    make_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    user = make_user("both", group="Finance")
    user.groups.add(*type(user.groups.first()).objects.filter(name="Warehouse"))
    for owner in ("office", "warehouse"):
        assert can(user, "resolve", make_exception(owner=owner))


def test_nobody_without_a_role_or_signed_out_may_act(
    make_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    exception = make_exception()
    loner = make_user("loner")
    for action in EXCEPTION_MATRIX:
        assert not can(loner, action, exception)
        assert not can(AnonymousUser(), action, exception)


def test_an_inactive_user_may_not_act(
    ops_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    ops_user.is_active = False
    assert not can(ops_user, "acknowledge", make_exception())


def test_a_right_granted_in_the_admin_counts(
    cx_user: Any, make_exception: Callable[..., ExceptionRecord]
) -> None:
    cx_user.user_permissions.add(Permission.objects.get(codename="assign_exception"))
    assert can(cx_user, "assign", make_exception())


def test_unknown_actions_are_refused_loudly(ops_user: Any) -> None:
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        can(ops_user, "delete")
