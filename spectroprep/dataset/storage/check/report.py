"""What verify reports: problems and warnings, with repeats of one kind capped per file."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

_LIMIT = 10  # problems of one kind listed per file; the rest are counted in one line


@dataclass(frozen=True)
class Problem:
    """Something wrong with a dataset (or, as a warning, something not checked)."""

    file: str | None  # relative to the dataset folder, with ":line" for manifest rows
    example: int | None  # example id
    message: str

    def line(self) -> str:
        """``file: example N: message``, leaving out what is unknown."""
        example = None if self.example is None else f"example {self.example}"
        return ": ".join(part for part in (self.file, example, self.message) if part)


@dataclass
class Report:
    """What ``verify`` found: the dataset's size, its problems, and warnings."""

    examples: int
    files: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # what verify left alone: never fails
    # verify --recompute: how many examples were compared, and their largest differences
    recomputed: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found (warnings do not count)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each problem's fields plus its ``line``."""

        def entries(items: list[Problem]) -> list[dict[str, Any]]:
            return [{**asdict(p), "line": p.line()} for p in items]

        return {
            "ok": self.ok,
            "examples": self.examples,
            "files": self.files,
            "problems": entries(self.problems),
            "warnings": entries(self.warnings),
            "notes": entries(self.notes),
            "recomputed": self.recomputed,
        }


class Log:
    """Collects problems and warnings; lists at most _LIMIT of one kind per file, so a
    corrupted shard of 10,000 examples gives a few lines, not 10,000."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.notes: list[Problem] = []
        self._seen: Counter[tuple[str | None, str]] = Counter()
        self._warned: Counter[str] = Counter()

    def add(
        self,
        file: str | None,
        example: int | None,
        message: str,
        *,
        kind: str | None = None,
        scope: str | None = None,
    ) -> None:
        """Record a problem; ``kind`` and ``scope`` (default: the message and the file)
        decide which problems count as repeats of each other."""
        key = (scope or file, kind or message)
        self._seen[key] += 1
        if self._seen[key] <= _LIMIT:
            self.problems.append(Problem(file, example, message))

    def unlisted(self, rel: str, scope: str, *, folder: bool = False) -> None:
        """A file (or folder) in the dataset that dataset.json does not account for."""
        if folder:
            self.add(rel, None, "folder not part of the dataset", kind="unlisted", scope=scope)
        else:
            message = "not part of the dataset (dataset.json does not list it)"
            self.add(rel, None, message, kind="unlisted", scope=scope)

    def warn(
        self, file: str | None, example: int | None, message: str, *, kind: str | None = None
    ) -> None:
        """Record a warning; of those of one ``kind`` (one per file, say) only the first
        is listed, and the rest counted in one line."""
        if kind is not None:
            self._warned[kind] += 1
            if self._warned[kind] > 1:
                return
        self.warnings.append(Problem(file, example, message))

    def note(self, file: str, message: str) -> None:
        """Record something verify leaves alone, such as a user's own file: neither a
        problem nor a warning, so not a failure even with ``--strict``."""
        self.notes.append(Problem(file, None, message))

    def report(self, examples: int, files: int) -> Report:
        more = [
            Problem(scope, None, f"{n - _LIMIT} more problem(s) of this kind: {kind}")
            for (scope, kind), n in self._seen.items()
            if n > _LIMIT
        ]
        also = [
            Problem(None, None, f"{n - 1} more file(s) with this warning: {kind}")
            for kind, n in self._warned.items()
            if n > 1
        ]
        return Report(examples, files, self.problems + more, self.warnings + also, self.notes)


@dataclass
class Tally:
    """Examples of one file that fail one value check: one problem, at the first of them."""

    what: str
    count: int = 0
    first: int | None = None
    where: str | None = None
    notes: set[str] = field(default_factory=set)

    def add(self, bad: np.ndarray, first_id: int, where: str, *notes: str) -> None:
        """``bad``: one flag per example, the first having id ``first_id``."""
        n = int(np.count_nonzero(bad))
        if not n:
            return
        self.count += n
        self.notes.update(notes)
        if self.first is None:
            self.first, self.where = first_id + int(np.argmax(bad)), where

    def report(self, log: Log, scope: str) -> None:
        if self.first is None:
            return
        message = self.what + (f" ({', '.join(sorted(self.notes))})" if self.notes else "")
        if self.count > 1:
            message += f"; {self.count - 1} more example(s) in {scope}"
        log.add(self.where, self.first, message)
