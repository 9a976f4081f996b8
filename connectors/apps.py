"""The connectors app: loads the connector modules (filling the registry) and checks the keys."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

# One module per system; each registers its Connector class with connectors.base.register.
CONNECTOR_MODULES = ("woocommerce", "magento", "centra", "cin7", "prima", "whistl")


def load_connectors() -> None:
    for name in CONNECTOR_MODULES:
        module = f"connectors.{name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        # Only imports and checks here: schedules are synced by `manage.py sync_schedules`.
        load_connectors()
        checks.register(check_secret_keys, checks.Tags.security)
        checks.register(check_q_cluster)


def check_secret_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from connectors import crypto

    found: list[checks.CheckMessage] = [
        checks.Error(problem, id="connectors.E002") for problem in crypto.key_problems()
    ]
    if getattr(settings, "PRODUCTION", False) and not crypto.configured_keys():
        found.append(
            checks.Error(
                "PARITY_SECRET_KEYS is not set: connection credentials would be encrypted with "
                "a key derived from SECRET_KEY.",
                hint="Set PARITY_SECRET_KEYS to one or more Fernet keys (comma-separated).",
                id="connectors.E001",
            )
        )
    return found


def check_q_cluster(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    conf = getattr(settings, "Q_CLUSTER", {})
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if timeout is None or retry is None or timeout >= retry:
        return [
            checks.Error(
                "Q_CLUSTER needs a timeout below retry, or a slow task is delivered twice.",
                id="connectors.E003",
            )
        ]
    return []
