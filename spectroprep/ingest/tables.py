"""The tables a build reads (listings, labels, metadata, events), as users and
public corpora ship them: CSV or TSV, the delimiter (``,`` ``;`` or tab) found
from the header line, a UTF-8 byte-order mark and CRLF line ends allowed, header
names matched without regard to case. Every row must have as many cells as the
header; each error names the file and line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

_DELIMITERS = (",", "\t", ";")  # a tie goes to the first
_QUOTED = re.compile(r'"[^"]*"')


@dataclass(frozen=True)
class Columns:
    """Which columns of a table hold what (names match without regard to case)."""

    path: str = "path"  # the audio file, relative to the audio root (or its base name)
    label: str = "label"  # the class, or several joined by ``label_sep``
    label_sep: str = ";"
    metadata: tuple[str, ...] | None = None  # carried into manifest.csv; None: see callers
    start: str | None = None  # with ``end``: each row is a segment of its file (seconds)
    end: str | None = None


def delimiter_of(header: str) -> str:
    """The delimiter of a table whose header line is ``header``: the one of tab,
    ";" and "," that the line holds most often outside quotes ("," when none)."""
    bare = _QUOTED.sub("", header)
    counts = {d: bare.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(path: Path, required: Sequence[str] = ()) -> list[tuple[int, dict[str, str]]]:
    """Rows of a table with a header, each with its line number, as {column: cell}.

    A column in ``required`` is found whatever its case in the header and keyed
    by the name asked for; the other columns keep the header's names. A
    tab-separated table takes quotes as plain characters (as DCASE metadata has
    them).
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            delimiter = delimiter_of(f.readline())
            f.seek(0)
            if delimiter == "\t":
                reader = csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE)
            else:  # strict: an unclosed quote is an error, not the rest of the file in a cell
                reader = csv.reader(f, delimiter=delimiter, strict=True)
            try:
                header = [c.strip() for c in next(reader, [])]
                names = _column_names(path, header, required)
                return [
                    (reader.line_num, _row(path, reader.line_num, names, cells))
                    for cells in reader
                    if cells  # a blank line
                ]
            except csv.Error as exc:
                # line_num counts the lines read, the bad one too
                raise InputError(f"{path}:{reader.line_num}: not a valid table ({exc})") from exc
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc


def _column_names(path: Path, header: list[str], required: Sequence[str]) -> list[str]:
    """The header's names, those in ``required`` spelled as asked."""
    by_lower: dict[str, int] = {}
    for i, name in enumerate(header):
        if name.lower() in by_lower:
            first = header[by_lower[name.lower()]]
            raise InputError(f"{path}:1: column {name!r} is in the header twice ({first!r})")
        by_lower[name.lower()] = i
    missing = [c for c in required if c.lower() not in by_lower]
    if missing:
        shown = ",".join(header)
        hint = ""
        if len(header) == 1 and any(d in header[0] for d in " |:"):
            hint = "; the delimiter must be a comma, a semicolon or a tab"
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (header: {shown}{hint})")
    names = list(header)
    for wanted in required:
        names[by_lower[wanted.lower()]] = wanted
    return names


def _row(path: Path, line: int, names: list[str], cells: list[str]) -> dict[str, str]:
    if len(cells) != len(names):
        how = "missing" if len(cells) < len(names) else "extra"
        raise InputError(
            f"{path}:{line}: {len(cells)} cell(s) where the header has {len(names)} "
            f"({how} cell(s): a value left out or a delimiter too many)"
        )
    return dict(zip(names, cells, strict=True))


def not_utf8(path: Path) -> InputError:
    """The error for a text file that is not UTF-8, naming the line of the first bad byte."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return InputError(f"{path}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    return InputError(f"{path}: not UTF-8 text")
