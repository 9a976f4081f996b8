"""Login throttling (django-axes): five wrong passwords for one username from one address lock that
pair out for 15 minutes, even with the right password, on the login page and the admin's alike;
another user, or the same user elsewhere, is unaffected; the lock lifts after the cool-off or an
admin's `axes_reset`; every failure is recorded, without the password; the token API is untouched."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.management import call_command
from django.db.models import F
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.client_ip import client_ip
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HERE = "10.1.1.1"
ELSEWHERE = "10.2.2.2"
WRONG = "wrong-guess-tr0ub4dor"
BAD_CREDENTIALS = "Please enter a correct username and password"
LOCKED = "signing in is locked for 15 minutes, even with the right password"


def sign_in(client: Client, username: str, password: str, ip: str = HERE) -> HttpResponse:
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(client: Client, username: str, times: int, ip: str = HERE) -> list[int]:
    return [sign_in(client, username, WRONG, ip).status_code for _ in range(times)]


def age_attempts(username: str, by: timedelta) -> None:
    # The clock moving on: the lock counts failures newer than the cool-off.
    AccessAttempt.objects.filter(username=username).update(attempt_time=F("attempt_time") - by)


def test_the_configured_policy() -> None:
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_ENABLED is True
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True


def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(
    client: Client, finance_user: AbstractUser
) -> None:
    for _ in range(4):
        page = sign_in(client, "fiona", WRONG)
        assert page.status_code == 200
        assert BAD_CREDENTIALS in page.content.decode()

    fifth = sign_in(client, "fiona", WRONG)
    assert fifth.status_code == 429
    assert "Sign-in locked" in fifth.content.decode()
    assert LOCKED in fifth.content.decode()

    right = sign_in(client, "fiona", PASSWORD)
    assert right.status_code == 429
    assert LOCKED in right.content.decode()
    assert "<strong>fiona</strong>" in right.content.decode()
    assert not signed_in(client)
    assert client.get(reverse("exceptions:queue")).status_code == 302  # still to the login page

    # The admin's login is no side door.
    admin_login = client.post(
        reverse("admin:login"), {"username": "fiona", "password": PASSWORD}, REMOTE_ADDR=HERE
    )
    assert admin_login.status_code == 429
    assert not signed_in(client)


def test_other_users_and_other_addresses_are_unaffected(
    client: Client, finance_user: AbstractUser, cx_user: AbstractUser
) -> None:
    assert fail(client, "fiona", 5) == [200, 200, 200, 200, 429]

    assert sign_in(Client(), "cass", PASSWORD).status_code == 302  # another user, same address
    assert sign_in(client, "fiona", PASSWORD, ip=ELSEWHERE).status_code == 302  # fiona elsewhere
    assert signed_in(client)
    assert sign_in(Client(), "fiona", PASSWORD).status_code == 429  # still locked here


def test_the_lock_lifts_after_the_cool_off(client: Client, finance_user: AbstractUser) -> None:
    fail(client, "fiona", 5)

    age_attempts("fiona", timedelta(minutes=14))
    assert sign_in(client, "fiona", PASSWORD).status_code == 429  # which restarts the 15 minutes
    age_attempts("fiona", timedelta(minutes=2))  # 16 after the fifth failure, 2 after that try
    assert sign_in(client, "fiona", PASSWORD).status_code == 429

    age_attempts("fiona", timedelta(minutes=15, seconds=1))
    answer = sign_in(client, "fiona", PASSWORD)
    assert answer.status_code == 302
    assert answer.url == reverse("exceptions:queue")
    assert signed_in(client)
    assert not AccessAttempt.objects.filter(username="fiona").exists()  # reset on success


@pytest.mark.parametrize(
    ("command", "args"),
    [("axes_reset", []), ("axes_reset_username", ["fiona"]), ("axes_reset_ip", [HERE])],
)
def test_an_admin_unlocks_with_axes_reset(
    client: Client, finance_user: AbstractUser, command: str, args: list[str]
) -> None:
    fail(client, "fiona", 5)
    assert sign_in(client, "fiona", PASSWORD).status_code == 429

    call_command(command, *args, stdout=StringIO())

    assert sign_in(client, "fiona", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_success_clears_the_count(client: Client, finance_user: AbstractUser) -> None:
    assert fail(client, "fiona", 4) == [200] * 4
    assert sign_in(client, "fiona", PASSWORD).status_code == 302
    client.post(reverse("logout"))

    # Four more wrong ones are four, not eight: still not locked; the fifth locks.
    assert fail(client, "fiona", 5) == [200, 200, 200, 200, 429]


def test_failures_are_recorded_without_the_password(
    client: Client, finance_user: AbstractUser
) -> None:
    fail(client, "fiona", 3)
    sign_in(client, "nobody-by-this-name", WRONG, ip=ELSEWHERE)

    attempt = AccessAttempt.objects.get(username="fiona")
    assert (attempt.ip_address, attempt.failures_since_start) == (HERE, 3)
    assert attempt.path_info == reverse("login")
    failures = AccessFailureLog.objects.order_by("id")
    assert [(f.username, f.ip_address, f.locked_out) for f in failures] == [
        ("fiona", HERE, False),
        ("fiona", HERE, False),
        ("fiona", HERE, False),
        ("nobody-by-this-name", ELSEWHERE, False),
    ]
    assert all(WRONG not in a.post_data for a in AccessAttempt.objects.all())

    sign_in(client, "fiona", PASSWORD)
    assert list(AccessLog.objects.values_list("username", "ip_address")) == [("fiona", HERE)]


def test_the_token_api_does_not_go_through_the_lock(
    client: Client, finance_user: AbstractUser
) -> None:
    fail(client, "fiona", 5)
    token = Token.objects.create(user=finance_user)

    # The token is its own credential: a locked password does not stop it, from the same address.
    api = APIClient(REMOTE_ADDR=HERE)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(reverse("api:exceptions")).status_code == 200

    # A wrong token is a plain 401, neither counted nor locked.
    before = list(AccessAttempt.objects.values_list("username", "failures_since_start"))
    stranger = APIClient(REMOTE_ADDR=ELSEWHERE)
    stranger.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert [stranger.get(reverse("api:exceptions")).status_code for _ in range(6)] == [401] * 6
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == before


PROXY = "10.0.0.2"  # every request reaches Parity from the proxy


def through_proxy(client: Client, password: str, forwarded_for: str) -> int:
    answer = client.post(
        reverse("login"),
        {"username": "fiona", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    return answer.status_code


def test_behind_a_trusted_proxy_the_lock_is_on_the_real_client(
    client: Client, finance_user: AbstractUser, settings: Any
) -> None:
    settings.PARITY_TRUSTED_PROXIES = 1
    # The proxy appends the address it saw; what a client put to its left is its own claim.
    attacker = "203.0.113.9"
    claims = [f"198.51.100.{n}, {attacker}" for n in range(5)]
    assert [through_proxy(client, WRONG, claim) for claim in claims] == [200] * 4 + [429]
    assert through_proxy(Client(), PASSWORD, f"192.0.2.77, {attacker}") == 429  # no way round
    assert AccessAttempt.objects.get().ip_address == attacker

    # Fiona at her own desk, through the same proxy, is not the attacker.
    assert through_proxy(client, PASSWORD, "192.0.2.10") == 302


def test_without_trusted_proxies_a_forwarded_header_is_ignored(
    client: Client, finance_user: AbstractUser
) -> None:
    claims = [f"198.51.100.{n}" for n in range(5)]
    assert [through_proxy(client, WRONG, claim) for claim in claims] == [200] * 4 + [429]
    assert AccessAttempt.objects.get().ip_address == PROXY


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        (0, "198.51.100.1", PROXY),
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "1.1.1.1, 198.51.100.1", "198.51.100.1"),
        (2, "1.1.1.1, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (2, "198.51.100.1", PROXY),  # fewer hops than proxies: not come the configured way
        (1, "unknown", PROXY),  # not an address: never stored
        (1, "", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address(settings: Any, trusted: int, forwarded_for: str, expected: str) -> None:
    settings.PARITY_TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip(request) == expected
