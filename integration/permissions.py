"""Who may do what: the permission matrix of docs/roles.md as one function, `can()`.

Two layers, so an administrator can adjust rights in the Django admin without code:

1. the *capability* is a Django permission held through a role group (granted by
   `integration.roles.ensure_role_groups()`; a superuser holds them all);
2. for the exception actions, the *side* — which exceptions (owner `warehouse` or `office`) the
   user's role groups may touch — is fixed here. Warehouse works the warehouse's exceptions,
   Finance and CX the office's, Ops and Admin both (Ops resolves only the office's).

Views, the JSON API and the bulk actions all ask `can()` (or `owners_for()` for a whole
selection), so the matrix lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Final

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from exceptions.models import ExceptionRecord

View = Callable[..., HttpResponse]

WAREHOUSE: Final = "warehouse"
OFFICE: Final = "office"
BOTH: Final = frozenset({WAREHOUSE, OFFICE})

# action -> the Django permission it needs ("app_label.codename").
PERMISSIONS: Final[dict[str, str]] = {
    "view": "exceptions.view_exceptionrecord",
    "acknowledge": "exceptions.act_on_exception",
    "comment": "exceptions.act_on_exception",
    "snooze": "exceptions.act_on_exception",
    "resolve": "exceptions.resolve_exception",
    "reopen": "exceptions.resolve_exception",
    "assign": "exceptions.assign_exception",
    "edit_mappings": "integration.change_mappings",
    "release": "integration.release_held_order",
    "view_month_end": "reconciliation.view_month_end",
    "close_month": "reconciliation.close_month",
    "manage_connections": "connectors.manage_connections",
    "manage_users": "auth.change_user",
}

# Exception actions whose right depends on the exception's owner: role group -> owners.
_ACT_SIDES: Final[dict[str, frozenset[str]]] = {
    "Warehouse": frozenset({WAREHOUSE}),
    "Finance": frozenset({OFFICE}),
    "CX": frozenset({OFFICE}),
    "Ops": BOTH,
    "Admin": BOTH,
}
_RESOLVE_SIDES: Final[dict[str, frozenset[str]]] = {
    "Warehouse": frozenset({WAREHOUSE}),
    "Finance": frozenset({OFFICE}),
    "CX": frozenset({OFFICE}),
    "Ops": frozenset({OFFICE}),
    "Admin": BOTH,
}
SIDES: Final[dict[str, dict[str, frozenset[str]]]] = {
    "acknowledge": _ACT_SIDES,
    "comment": _ACT_SIDES,
    "snooze": _ACT_SIDES,
    "resolve": _RESOLVE_SIDES,
    "reopen": _RESOLVE_SIDES,
}
# Actions on one exception (an `exception` argument makes sense for these).
EXCEPTION_ACTIONS: Final = frozenset({"view", "assign", *SIDES})

User = AbstractBaseUser | AnonymousUser


def role_names(user: Any) -> frozenset[str]:
    """The user's group names, read once per user object (a request's user is reused)."""
    cached = getattr(user, "_parity_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._parity_role_names = cached
    return cached


def owners_for(user: User, action: str) -> frozenset[str]:
    """The owners (`warehouse`, `office`) of the exceptions `user` may `action`; empty = none."""
    if action not in EXCEPTION_ACTIONS:
        raise ValueError(f"{action!r} is not an action on exceptions")
    if not _has_capability(user, action):
        return frozenset()
    sides = SIDES.get(action)
    if sides is None or user.is_superuser:  # view, assign: any exception
        return BOTH
    # The union over the user's role groups: a user in Finance and Warehouse works both sides.
    return frozenset().union(*(sides.get(name, frozenset()) for name in role_names(user)))


def can(user: User, action: str, exception: ExceptionRecord | None = None) -> bool:
    """May `user` do `action` (to `exception`, when given)?

    Without an exception, an exception action answers "on some exception" — what a page needs to
    decide whether to offer the button at all.
    """
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(sorted(PERMISSIONS))}")
    if action not in EXCEPTION_ACTIONS:
        if exception is not None:
            raise ValueError(f"{action!r} is not an action on one exception")
        return _has_capability(user, action)
    owners = owners_for(user, action)
    if exception is None:
        return bool(owners)
    return exception.owner in owners


def _has_capability(user: User, action: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(PERMISSIONS[action])


def capability_required(action: str, refusal: str) -> Callable[[View], View]:
    """A view decorator: 403 with `refusal` unless `can(request.user, action)`."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not can(request.user, action):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
