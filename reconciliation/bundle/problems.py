"""What is wrong with a bundle: one `Problem` per finding, collected up to a limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding: `line` counts CSV records (header = 1), `column` is the CSV column (or the
    manifest key); either is None when the problem is about the whole file."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return f"{where}: {self.message}"


class Problems:
    """A capped collection: keeps the first `limit` problems and counts the rest."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.omitted = 0

    @property
    def room(self) -> int:
        return max(self.limit - len(self.items), 0)

    @property
    def total(self) -> int:
        return len(self.items) + self.omitted

    def add(
        self, file: str, message: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        if self.room:
            self.items.append(Problem(file, line, column, message))
        else:
            self.omitted += 1

    def extend(self, other: Problems) -> None:
        """Add another collection's problems (and its count of omitted ones) after these."""
        for problem in other.items:
            if self.room:
                self.items.append(problem)
            else:
                self.omitted += 1
        self.omitted += other.omitted

    def skip(self, count: int) -> None:
        """Count problems found in bulk but not spelled out (the limit was reached)."""
        self.omitted += count

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Problem:
        return self.items[index]


class BundleError(Exception):
    """A bundle that cannot be read; `problems` lists what is wrong (up to the limit)."""

    def __init__(self, problems: list[Problem], *, omitted: int = 0, source: str = "") -> None:
        self.problems = problems
        self.omitted = omitted
        self.source = source
        super().__init__(self._text())

    @classmethod
    def from_problems(cls, problems: Problems, *, source: str = "") -> BundleError:
        return cls(list(problems.items), omitted=problems.omitted, source=source)

    def _text(self) -> str:
        total = len(self.problems) + self.omitted
        noun = "problem" if total == 1 else "problems"
        head = f"{total} {noun} in bundle {self.source}" if self.source else f"{total} {noun}"
        lines = [f"{head}:", *(str(problem) for problem in self.problems)]
        if self.omitted:
            more = "problem" if self.omitted == 1 else "problems"
            lines.append(f"… and {self.omitted} more {more}")
        return "\n".join(lines)
