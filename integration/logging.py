"""Structured logs: `LOG_FORMAT=json` makes every record one JSON object on one line.

    {"time": "2026-11-30T23:59:00.123Z", "level": "WARNING", "logger": "connectors.sync",
     "message": "…", "exception": "Traceback …"}

Fields given with `extra=` are added as they are (anything not JSON becomes its str()). No
library: the standard formatter's record, serialised. Secrets stay out because the code never
logs them (connectors.http redacts URLs' query strings, even in httpx's own request lines).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# A record's own attributes; anything else on it came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


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
        line = json.dumps(entry, ensure_ascii=False, default=str)
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate from some API: escape everything
                line = json.dumps(entry, default=str)
        return line
