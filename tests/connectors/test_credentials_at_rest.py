"""Credentials are encrypted at rest: a raw read of the table never shows them; keys rotate; the
production check insists on real keys."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db

from connectors import crypto
from connectors.apps import check_secret_keys
from connectors.models import Connection

SECRET = "cs_live_9f8e7d6c5b4a"


def make_connection() -> Connection:
    connection = Connection(
        name="Shop", kind="testshop", role="store", base_url="http://127.0.0.1:8101"
    )
    connection.set_credentials({"key": "ck_live_0123", "secret": SECRET})
    connection.save()
    return connection


def raw_row(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Connection._meta.db_table} WHERE id = %s", [pk])
        return " ".join(str(value) for value in cursor.fetchone())


@pytest.mark.django_db
def test_a_raw_read_of_the_table_shows_no_secret() -> None:
    connection = make_connection()

    row = raw_row(connection.pk)

    assert SECRET not in row
    assert "ck_live_0123" not in row
    assert connection.credentials_token.startswith("gAAAAA")  # a Fernet token
    assert Connection.objects.get().credentials() == {"key": "ck_live_0123", "secret": SECRET}
    assert Connection.objects.get().credential_names == ["key", "secret"]
    assert SECRET not in repr(connection)
    assert SECRET not in repr(connection.connection_settings())


@pytest.mark.django_db
def test_a_blank_value_keeps_the_stored_one() -> None:
    connection = make_connection()

    connection.set_credentials({"key": "ck_new", "secret": ""})

    assert connection.credentials() == {"key": "ck_new", "secret": SECRET}


@pytest.mark.django_db
def test_keys_rotate_new_first_and_old_still_reads(settings) -> None:  # noqa: ANN001
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PARITY_SECRET_KEYS = [old]
    connection = make_connection()
    settings.PARITY_SECRET_KEYS = [new, old]

    assert connection.credentials()["secret"] == SECRET
    connection.credentials_token = crypto.rotate(connection.credentials_token)
    settings.PARITY_SECRET_KEYS = [new]
    assert connection.credentials()["secret"] == SECRET

    settings.PARITY_SECRET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.CredentialsError, match="cannot be decrypted"):
        connection.credentials()


def test_production_requires_keys_and_bad_keys_are_named_not_shown(settings) -> None:  # noqa: ANN001
    settings.PRODUCTION = True
    settings.PARITY_SECRET_KEYS = []
    assert [m.id for m in check_secret_keys()] == ["connectors.E001"]

    settings.PARITY_SECRET_KEYS = [Fernet.generate_key().decode(), "not-a-key-but-secret"]
    messages = check_secret_keys()
    assert [m.id for m in messages] == ["connectors.E002"]
    assert "entry 2" in messages[0].msg
    assert "not-a-key-but-secret" not in messages[0].msg

    settings.PARITY_SECRET_KEYS = [Fernet.generate_key().decode()]
    assert check_secret_keys() == []


@pytest.mark.django_db
def test_the_rotate_command_reencrypts_under_the_first_key(settings) -> None:  # noqa: ANN001
    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PARITY_SECRET_KEYS = [old]
    connection = make_connection()
    settings.PARITY_SECRET_KEYS = [new, old]

    call_command("rotate_credentials", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123

    settings.PARITY_SECRET_KEYS = [new]
    assert Connection.objects.get(pk=connection.pk).credentials()["secret"] == SECRET
