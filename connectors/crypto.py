"""Credentials encrypted at rest: Fernet tokens under keys from the environment.

`PARITY_SECRET_KEYS` is a comma-separated list of Fernet keys (make one with
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
The first encrypts; all decrypt, so a key is rotated by putting the new one first, running
`manage.py rotate_credentials` (re-encrypts every connection) and then dropping the old one.
In development, with no keys set, one key is derived from SECRET_KEY; production refuses to start
without real keys (system check connectors.E001).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsError(Exception):
    """Stored credentials cannot be read with the configured keys (rotated away, corrupted)."""


def configured_keys() -> list[str]:
    keys = getattr(settings, "PARITY_SECRET_KEYS", None)
    if keys is None:
        keys = os.environ.get("PARITY_SECRET_KEYS", "").split(",")
    return [key.strip() for key in keys if key and key.strip()]


def development_key() -> bytes:
    """A key derived from SECRET_KEY, for development only (domain-separated from its other uses)."""
    digest = hashlib.sha256(b"parity-connection-credentials\0" + settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(digest.digest())


def _fernet() -> MultiFernet:
    keys = [key.encode() for key in configured_keys()] or [development_key()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        # Never echo the key: say which position is wrong.
        bad = next(i for i, key in enumerate(keys, start=1) if not _valid(key))
        raise CredentialsError(f"PARITY_SECRET_KEYS entry {bad} is not a Fernet key") from None


def _valid(key: bytes) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


def key_problems() -> list[str]:
    """What is wrong with the configured keys (for the system check); never the keys themselves."""
    return [
        f"PARITY_SECRET_KEYS entry {i} is not a Fernet key (32 url-safe base64-encoded bytes)"
        for i, key in enumerate(configured_keys(), start=1)
        if not _valid(key.encode())
    ]


def encrypt(values: dict[str, str]) -> str:
    """A dict of secrets as one Fernet token (text)."""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsError(
            "stored credentials cannot be decrypted with PARITY_SECRET_KEYS "
            "(was the key that encrypted them removed?)"
        ) from None


def rotate(token: str) -> str:
    """The same secrets re-encrypted under the first key."""
    if not token:
        return token
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsError("stored credentials cannot be decrypted for rotation") from None
