"""Production settings (PARITY_MODE=production), each in a fresh process as a deployment starts:
`manage.py check --deploy --fail-level WARNING` is clean, the cookie, session and header settings
are the hardened ones, and the responses really carry them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
HOST = "parity.example.com"

# What production requires (integration/settings.py, connectors.E001), and nothing else.
PRODUCTION_ENV = {
    "PARITY_MODE": "production",
    "SECRET_KEY": "p4rity-production-test-key-" + "x7Qe9vL2mZ" * 5,
    "ALLOWED_HOSTS": HOST,
    "PARITY_SECRET_KEYS": Fernet.generate_key().decode(),
}

# Run in the production process: its settings, and what a request over HTTP(S) gets back.
PROBE = """
import json
import os
import django
from django.conf import settings
from django.test import Client, override_settings

django.setup()
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE", "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
    "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
]
found = {"settings": {name: getattr(settings, name) for name in names}}
# The manifest storage needs `collectstatic`, which a test need not run: the headers are the point.
storages = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=storages):
    client = Client(HTTP_HOST=os.environ["ALLOWED_HOSTS"])
    plain = client.get("/login/")
    found["http"] = {"status": plain.status_code, "location": plain.headers.get("Location")}
    forwarded = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    found["forwarded"] = {"status": forwarded.status_code}
    page = client.get("/login/", secure=True)
    csrf = page.cookies["csrftoken"]
    found["https"] = {
        "status": page.status_code,
        "headers": {k: page.headers.get(k) for k in (
            "Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options",
            "Referrer-Policy")},
        "csrf_cookie": {"secure": csrf["secure"], "samesite": csrf["samesite"],
                        "httponly": csrf["httponly"]},
    }
print(json.dumps(found, default=list))
"""


# Passed on from this process; nothing else (e.g. the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE,
# which the deploy check rightly refuses) leaks into the "deployment".
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DATABASE_URL")


def production(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env |= PRODUCTION_ENV | extra
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def probe(**extra: str) -> dict[str, Any]:
    done = production("-c", PROBE, DJANGO_SETTINGS_MODULE="integration.settings", **extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def production_probe() -> dict[str, Any]:
    return probe()


def test_check_deploy_is_clean_at_warning_level() -> None:
    done = production("manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_check_deploy_fails_when_production_lacks_its_fernet_keys() -> None:
    done = production(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", PARITY_SECRET_KEYS=""
    )

    assert done.returncode == 1
    assert "connectors.E001" in done.stderr


@pytest.mark.parametrize(
    "secret", ["", "django-insecure-parity-development-only-key-change-me-in-production"]
)
def test_production_refuses_to_start_without_a_real_secret_key(secret: str) -> None:
    done = production("manage.py", "check", SECRET_KEY=secret)

    assert done.returncode == 1
    assert "SECRET_KEY must be set from the environment in production" in done.stderr


def test_the_cookie_session_and_header_settings(production_probe: dict[str, Any]) -> None:
    found = production_probe

    assert found["settings"] == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_AGE": 12 * 3600,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": None,  # not trusted unless configured
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
    }


def test_responses_carry_them_and_plain_http_is_redirected(
    production_probe: dict[str, Any],
) -> None:
    found = production_probe

    assert found["http"] == {"status": 301, "location": f"https://{HOST}/login/"}
    # Without PARITY_PROXY_SSL_HEADER a client's own X-Forwarded-Proto claims nothing.
    assert found["forwarded"] == {"status": 301}
    assert found["https"] == {
        "status": 200,
        "headers": {
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
        "csrf_cookie": {"secure": True, "samesite": "Lax", "httponly": ""},
    }


def test_a_configured_proxy_header_is_trusted() -> None:
    found = probe(PARITY_PROXY_SSL_HEADER="X-Forwarded-Proto")

    assert found["settings"]["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["forwarded"] == {"status": 200}  # the proxy said HTTPS: no redirect
    assert found["http"]["status"] == 301
