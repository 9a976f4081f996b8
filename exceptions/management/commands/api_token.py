"""manage.py api_token <username> [--reset | --revoke]: the user's API token (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Print a user's API token, creating it if needed (--reset replaces it, --revoke drops it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--reset", action="store_true", help="replace the token with a new one")
        group.add_argument("--revoke", action="store_true", help="delete the token")

    def handle(self, *args: Any, username: str, reset: bool, revoke: bool, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive: a token would not work.")
        if revoke or reset:
            deleted, _ = Token.objects.filter(user=user).delete()
            if revoke:
                self.stdout.write(
                    f"Token of {username} revoked." if deleted else f"{username} had no token."
                )
                return
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
