"""`manage.py rotate_credentials`: re-encrypt every connection's credentials under the first key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from connectors import crypto
from connectors.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypt all connection credentials with the first key of PARITY_SECRET_KEYS. "
        "Put the new key first, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for connection in Connection.objects.select_for_update().exclude(credentials_token=""):
                connection.credentials_token = crypto.rotate(connection.credentials_token)
                connection.save(update_fields=["credentials_token"])
                count += 1
        self.stdout.write(f"Re-encrypted the credentials of {count} connection(s).")
