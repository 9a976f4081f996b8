"""API permission classes over the one permission matrix (integration.permissions.can)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from integration.permissions import can


class CanViewExceptions(BasePermission):
    """Signed in (401 otherwise, from the authentication) and allowed to see exceptions (403)."""

    message = "You may not see exceptions."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated) and can(request.user, "view")
