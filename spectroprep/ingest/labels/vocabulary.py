"""The class list: read from ``--classes``, or grown as label files name classes."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ...errors import InputError, LabelWarning
from ...naming import natural_sorted
from ..tables import not_utf8
from .model import SEPARATOR


def read_classes(path: str | Path) -> tuple[str, ...]:
    """A class vocabulary: one name a line; the order fixes the class ids."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    seen: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        name = text.strip()
        if not name:
            if any(rest.strip() for rest in lines[number:]):
                raise InputError(f"{path}:{number}: empty class name")
            break
        check_class_name(name, f"{path}:{number}")
        if name in seen:
            raise InputError(f"{path}:{number}: class {name!r} repeats line {seen[name]}")
        seen[name] = number
    if not seen:
        raise InputError(f"{path}: no class names")
    return tuple(seen)


def check_class_name(name: str, where: str) -> None:
    """A class name must be non-empty, one line, and free of the multi-label separator."""
    if not name:
        raise InputError(f"{where}: empty class name")
    if SEPARATOR in name:
        raise InputError(f"{where}: class name {name!r} contains {SEPARATOR!r}")
    if not name.isprintable():
        raise InputError(f"{where}: class name {name!r} contains a non-printable character")


class Vocabulary:
    """Class names: a fixed list (``--classes``) checked on use, or those seen, sorted."""

    def __init__(self, fixed: Sequence[str] | None, origin: str = "") -> None:
        self.fixed = tuple(fixed) if fixed is not None else None
        self.origin = origin
        self._known = set(self.fixed or ())
        self._seen: set[str] = set()
        self._warned = False

    def add(self, name: str, where: str) -> str:
        """Check ``name`` (found at ``where``) and remember it."""
        check_class_name(name, where)
        if self.fixed is not None and name not in self._known:
            raise InputError(f"{where}: class {name!r} is not in {self.origin}")
        self._seen.add(name)
        return name

    def classes(self) -> tuple[str, ...]:
        """The class list: the fixed order, else the names seen in natural order (with a
        warning, once, of names that differ only by case or surrounding spaces)."""
        if self.fixed is not None:
            return self.fixed
        names = tuple(natural_sorted(self._seen))
        if not self._warned:
            self._warned = True
            _warn_near_duplicates(names)
        return names


def _warn_near_duplicates(names: Sequence[str]) -> None:
    """Names such as "Ambient", " ambient" are two classes; most likely one was meant."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[name.strip().casefold()].append(name)
    alike = [group for group in groups.values() if len(group) > 1]
    for group in alike:
        warnings.warn(
            f"classes {', '.join(map(repr, group))} differ only by case or surrounding spaces "
            "and stay apart: one spelling in the labels makes them one class",
            LabelWarning,
            stacklevel=2,
        )


def split_cell(
    cell: str, where: str, vocabulary: Vocabulary, sep: str = SEPARATOR
) -> tuple[str, ...]:
    """The classes of a label cell (several separated by ``sep``), each checked."""
    if not cell.strip():
        raise InputError(f"{where}: empty label")
    names = [vocabulary.add(part.strip(), where) for part in cell.split(sep)]
    return tuple(dict.fromkeys(names))
