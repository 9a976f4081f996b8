"""The URL × role table of docs/roles.md ("Every URL, every role"), read for the tests, and the
project's URL patterns walked from the resolver, so that the two can be held together.

A row is a path template (`{office}` and the like are filled from the `world` fixture; `#assign`
after a path names a variant, the same URL with another payload), a method, the URL's name and one
expected outcome per role: a status code, or `login` for the redirect to the sign-in page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import ROLES

ROLES_DOC = Path(settings.BASE_DIR) / "docs" / "roles.md"
SECTION = "## Every URL, every role"
# The Django admin's own pages are the admin's business; its index is tested as one row.
ADMIN_NAMESPACE = "admin"
# A forged value of each placeholder: it names nothing.
FORGED = {"month": "1999-01", "held": "NO-SUCH-ORDER", "released": "NO-SUCH-ORDER"}
FORGED_PK = "987654"


@dataclass(frozen=True)
class Row:
    template: str  # "/exceptions/{office}/resolve/" or "/exceptions/bulk/#assign"
    method: str
    name: str
    expected: dict[str, str]  # role -> "200", "403", "login", ...

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, args: dict[str, str]) -> str:
        return self.template.split("#", 1)[0].format(**args)

    @property
    def placeholders(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.template)


def url_table() -> list[Row]:
    """The rows of docs/roles.md's URL table, in order."""
    text = ROLES_DOC.read_text(encoding="utf-8")
    assert SECTION in text, f"docs/roles.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows: list[Row] = []
    header: list[str] | None = None
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = [cell.lower() for cell in cells]
            assert header[:3] == ["url", "method", "name"], header
            assert tuple(header[3:]) == ROLES, f"the table's roles {header[3:]} are not {ROLES}"
            continue
        template, method, name, *outcomes = cells
        rows.append(Row(template, method, name, dict(zip(ROLES, outcomes, strict=True))))
    return rows


def walk(
    patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    """(route, name) of every URL pattern of the project, e.g. ("exceptions/<int:pk>/", ...)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
            yield prefix + str(pattern.pattern), name


def project_patterns() -> dict[str, str]:
    """route -> name, every pattern but the Django admin's internals."""
    return {
        route: name
        for route, name in walk()
        if not name.startswith(f"{ADMIN_NAMESPACE}:") and not route.startswith("admin/")
    }


def forged(row: Row, args: dict[str, str]) -> dict[str, str] | None:
    """`args` with the row's object ids replaced by one that does not exist (None: no id)."""
    ids = [name for name in row.placeholders if name not in FORGED]
    if not ids:
        return None
    return {**args, **dict.fromkeys(ids, FORGED_PK)}
