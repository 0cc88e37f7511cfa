"""Finding the input audio: a folder (recursive) or a CSV listing, in natural order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import soundfile as sf

from ..errors import InputError
from ..naming import natural_key, natural_sorted
from .tables import Columns, read_table

# Header-less or non-audio containers libsndfile lists but a folder scan should skip.
_NOT_SCANNED = {"raw", "mat4", "mat5", "wavex", "nist", "ircam", "svx"}
_ALIASES = {"aiff": ("aif", "aifc"), "ogg": ("oga", "opus"), "au": ("snd",), "ircam": ("sf",)}


def audio_extensions() -> frozenset[str]:
    """File extensions (lower case, no dot) of the formats this libsndfile reads."""
    formats = {name.lower() for name in sf.available_formats()}
    exts = {f for f in formats if f not in _NOT_SCANNED}
    for fmt, aliases in _ALIASES.items():
        if fmt in formats:
            exts.update(aliases)
    return frozenset(exts)


@dataclass(frozen=True)
class Segment:
    """A part of a file that a table row selects, in seconds."""

    file: str  # relative to the audio root
    start: float
    end: float
    where: str  # the row: "table.csv:7"


@dataclass(frozen=True)
class Inputs:
    """Audio files to build from, as paths relative to ``root``, natural-sorted; or
    segments of them, each named "file@start-end"."""

    root: Path
    files: tuple[str, ...]
    # the listing's label column, if any: {name: ("listing:line", label cell)}
    listed_labels: dict[str, tuple[str, str]] | None = None
    listing: Path | None = None  # the table that lists the files, if one does
    segments: dict[str, Segment] | None = None  # by name, when the inputs are segments
    scanned: tuple[str, ...] = ()  # with segments: every file found, for tables to name

    def path(self, name: str) -> Path:
        segment = self.segments.get(name) if self.segments else None
        return self.root / (segment.file if segment else name)


class InputMatcher:
    """Finds the input file a table row names: its path relative to the audio root,
    or its base name when no other input has it, or (as FSD50K's and AudioSet's
    tables name clips) that base name without its extension."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        files = inputs.files
        if inputs.segments:  # tables name the files, not their segments
            files = inputs.scanned
        self.known = set(files)
        self.by_base: dict[str, list[str]] = {}
        for name in files:
            path = PurePosixPath(name)
            self.by_base.setdefault(path.name, []).append(name)
            if path.suffix:
                self.by_base.setdefault(str(path.parent / path.stem), []).append(name)
                self.by_base.setdefault(path.stem, []).append(name)

    def match(self, filename: str, where: str) -> str:
        """The input's name, or an error naming ``where`` (e.g. "labels.csv:7")."""
        if filename in self.known:
            return filename
        candidates = list(dict.fromkeys(self.by_base.get(filename, [])))
        if len(candidates) == 1:
            return candidates[0]
        if not filename.isprintable():
            filename = repr(filename)  # keep the message on one line
        if candidates:
            raise InputError(
                f"{where}: {filename} matches {len(candidates)} input files "
                f"({', '.join(candidates[:3])}); give its path relative to {self.inputs.root}"
            )
        raise InputError(
            f"{where}: {filename} is not among the input audio (paths are relative to "
            f"{self.inputs.root})"
        )


def shown_name(name: str) -> str:
    """``name`` as printable text: bytes of a non-UTF-8 file name become \\xNN escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def find_inputs(audio: str | Path, columns: Columns | None = None) -> Inputs:
    """Scan a folder for audio files, read a table that lists them (its path column,
    and a label column if it has one), or take a single audio file."""
    audio = Path(audio)
    exts = audio_extensions()
    if audio.is_dir():
        names = [
            p.relative_to(audio).as_posix()
            for p in audio.rglob("*")
            if p.is_file() and p.suffix[1:].lower() in exts and not p.name.startswith(".")
        ]
        if not names:
            raise InputError(
                f"{audio}: no audio files found (looked for {', '.join(sorted(exts))})"
            )
        return Inputs(audio, tuple(natural_sorted(names)))
    if audio.is_file() and audio.suffix[1:].lower() in exts:
        return Inputs(audio.parent, (audio.name,))
    if audio.is_file():
        return _read_listing(audio, columns or Columns())
    raise InputError(f"{audio}: no such folder or file")


def _read_listing(listing: Path, columns: Columns) -> Inputs:
    root = listing.parent
    labels: dict[str, tuple[str, str]] = {}  # every listed name: (where, label cell)
    rows = read_table(listing, required=(columns.path,))
    label = (
        next((c for c in rows[0][1] if c.lower() == columns.label.lower()), None) if rows else None
    )
    for line, row in rows:
        where = f"{listing}:{line}"
        name = relative_path(row[columns.path], where)
        if name in labels:
            raise InputError(f"{where}: {name} is listed twice")
        if not (root / name).is_file():
            raise InputError(f"{where}: {name}: no such file in {root}")
        labels[name] = (where, row[label] if label else "")
    if not labels:
        raise InputError(f"{listing}: lists no audio files")
    return Inputs(root, tuple(natural_sorted(labels)), labels if label else None, listing)


def relative_path(cell: str, where: str) -> str:
    """A table's path cell as a path inside the audio root (posix), or an error."""
    name = cell.strip()
    if not name:
        raise InputError(f"{where}: empty path")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise InputError(f"{where}: {name} is outside the audio root (give a path inside it)")
    return str(path)


def rows_by_input(
    path: Path, inputs: Inputs, required: tuple[str, ...], path_column: str = "path"
) -> dict[str, tuple[str, dict[str, str]]]:
    """A table with one row per input file (its path column, matched as
    InputMatcher does): {input name: (where, row)}; empty paths, paths outside the
    audio root and a second row for one input are errors naming the line."""
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    matcher = InputMatcher(inputs)
    for line, row in read_table(path, required=(path_column, *required)):
        where = f"{path}:{line}"
        name = matcher.match(relative_path(row[path_column], where), where)
        if name in rows:
            raise InputError(f"{where}: {name} has a row already ({rows[name][0]})")
        rows[name] = (where, row)
    return rows


def segments_of(
    table: Path, inputs: Inputs, columns: Columns, labelled: bool = True
) -> tuple[Inputs, dict[str, dict[str, str]]]:
    """The segments a table's rows select (its path, start and end columns, in
    seconds), with their label cells (the label column is required when
    ``labelled``), as inputs; and each segment's row. A file may have many
    segments, which may overlap; one segment listed twice, start >= end, or a time
    that is not a number is an error naming the line."""
    assert columns.start is not None and columns.end is not None
    required = (columns.path, columns.start, columns.end, *(columns.metadata or ()))
    if labelled:
        required += (columns.label,)
    matcher = InputMatcher(inputs)
    segments: dict[str, Segment] = {}
    labels: dict[str, tuple[str, str]] = {}
    rows: dict[str, dict[str, str]] = {}
    label = None
    for line, row in read_table(table, required=required):
        where = f"{table}:{line}"
        if label is None:
            label = next((c for c in row if c.lower() == columns.label.lower()), "")
        file = matcher.match(relative_path(row[columns.path], where), where)
        start, end = (_seconds(row[c], c, where) for c in (columns.start, columns.end))
        if not start < end:
            raise InputError(f"{where}: start {start:g} s is not before end {end:g} s")
        name = f"{file}@{start:g}-{end:g}"  # 1-2 and 1.0-2.0 are one segment
        if name in segments:
            raise InputError(f"{where}: repeats the segment of {segments[name].where}")
        segments[name] = Segment(file, start, end, where)
        labels[name] = (where, row[label] if label else "")
        rows[name] = row
    if not segments:
        raise InputError(f"{table}: lists no segments")
    # a file's segments in time order, so that example ids follow the recording
    names = tuple(
        sorted(
            segments,
            key=lambda n: (natural_key(segments[n].file), segments[n].start, segments[n].end),
        )
    )
    segmented = Inputs(inputs.root, names, labels if label else None, table, segments, inputs.files)
    return segmented, rows


def _seconds(text: str, column: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {column} {text.strip()!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise InputError(f"{where}: {column} {text.strip()} is not a time >= 0")
    return value
