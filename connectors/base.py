"""The contract every connector meets, and the registry of connector kinds.

A connector pulls one system's records over its API and hands back canonical frames (the same
columns and validation as a CSV bundle, see reconciliation/frames.py) plus the records it could
not read, quarantined with a reason. HTTP concerns (timeouts, retries, Retry-After, rate limits,
the host allow-list) live in connectors/http.py, shared by all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd


class ConnectorError(Exception):
    """A failed call. `permanent` failures (bad credentials, not found, malformed answers that a
    retry cannot fix) are not retried; transient ones (timeouts, 5xx, 429) are."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


@dataclass
class Quarantined:
    """A record that could not be read: kept with its payload and the reason, never dropped."""

    file: str  # canonical file it would have gone to: "orders", "stock", ...
    reason: str
    payload: Any
    ref: str = ""  # the record's own id where one could be read


@dataclass
class Progress:
    """What a long pull reports as it goes (shown as a progress bar)."""

    pages_done: int = 0
    pages_total: int | None = None
    records_done: int = 0
    records_total: int | None = None
    requests: int = 0


@dataclass
class PullResult:
    """One pull's outcome: canonical frames per file, quarantined records, counters.

    `complete` is False for a delta pull: its frames hold only what changed since `since`, and
    the sync service overlays them on the last complete snapshot before saving a new one.
    """

    frames: dict[str, pd.DataFrame]
    complete: bool
    quarantined: list[Quarantined] = field(default_factory=list)
    requests: int = 0
    taken_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionSettings:
    """What a connector is built from: decrypted only in memory, never logged."""

    name: str
    kind: str
    role: str
    base_url: str
    credentials: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"ConnectionSettings(name={self.name!r}, kind={self.kind!r}, role={self.role!r})"


ProgressCallback = Callable[[Progress], None]


class Connector:
    """Base class: subclasses set `kind`, `roles`, and implement `check` and `pull`."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    roles: ClassVar[tuple[str, ...]] = ()
    credential_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: ConnectionSettings, client: Any) -> None:
        self.settings = settings
        self.client = client  # connectors.http.HttpClient

    @classmethod
    def client_options(cls, settings: ConnectionSettings) -> dict[str, Any]:
        """Keyword arguments for connectors.http.HttpClient (auth, headers, rate_limit,
        timeouts): how this system's client authenticates and paces itself."""
        return {}

    def check(self) -> str:
        """One cheap authenticated call; a short description of what answered, or ConnectorError."""
        raise NotImplementedError

    def pull(
        self, *, since: datetime | None = None, progress: ProgressCallback | None = None
    ) -> PullResult:
        """Fetch records (all, or changed since `since`) and map them to canonical frames."""
        raise NotImplementedError


REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector kind available to connections."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    REGISTRY[cls.kind] = cls
    return cls


def connector_class(kind: str) -> type[Connector]:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise ConnectorError(f"unknown connector kind {kind!r}", permanent=True) from None
