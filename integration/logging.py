"""Structured logs: `LOG_FORMAT=json` makes every record one JSON object on one line.

    {"time": "2026-11-30T23:59:00.123Z", "level": "WARNING", "logger": "connectors.sync",
     "message": "…", "exception": "Traceback …"}

Fields given with `extra=` are added as they are (anything not JSON becomes its str()), and so
are the fields of the `log_context()` the record was logged in: `sync_run` and `connection`
during a sync (connectors.sync), `reconciliation_run` during a run's phases (reconciliation.runs),
`request_id` while a request is served (RequestIdMiddleware) — so every line of one sync,
httpx's request lines included, can be picked out. No library: the standard
formatter's record, serialised. Secrets stay out because the code never logs them
(connectors.http redacts URLs' query strings, even in httpx's own request lines).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

# A record's own attributes; anything else on it came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


# The fields every record logged in this thread (or task) gets; a contextvar, so threads and
# asyncio tasks each see their own.
_context: ContextVar[dict[str, Any]] = ContextVar("parity_log_context", default={})  # noqa: B039 - never mutated
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every record logged inside the block (nested blocks add to the outer)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, Any]:
    return dict(_context.get())


class RequestIdMiddleware:
    """A request id for each request: the proxy's X-Request-ID when it sends a sane one (nginx:
    `proxy_set_header X-Request-ID $request_id;`), else a new one; in the log context while the
    request is served and sent back in the response's X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        with log_context(request_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        for key, value in _context.get().items():
            entry.setdefault(key, value)  # what the call site passed in `extra=` wins
        line = json.dumps(entry, ensure_ascii=False, default=str)
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate from some API: escape everything
                line = json.dumps(entry, default=str)
        return line
