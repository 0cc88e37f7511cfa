"""Finding the input audio: a folder (recursive) or a CSV listing, in natural order."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import soundfile as sf

from ..errors import InputError
from ..naming import natural_sorted

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
class Inputs:
    """Audio files to build from, as paths relative to ``root``, natural-sorted."""

    root: Path
    files: tuple[str, ...]
    # the listing's label column, if any: {name: ("listing:line", label cell)}
    listed_labels: dict[str, tuple[str, str]] | None = None

    def path(self, name: str) -> Path:
        return self.root / name


class InputMatcher:
    """Finds the input file a table row names: its path relative to the audio root,
    or its base name when no other input has it."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.known = set(inputs.files)
        self.by_base: dict[str, list[str]] = {}
        for name in inputs.files:
            self.by_base.setdefault(PurePosixPath(name).name, []).append(name)

    def match(self, filename: str, where: str) -> str:
        """The input's name, or an error naming ``where`` (e.g. "labels.csv:7")."""
        if filename in self.known:
            return filename
        candidates = self.by_base.get(filename, [])
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


def find_inputs(audio: str | Path) -> Inputs:
    """Scan a folder for audio files, read a CSV that lists them (column ``path``),
    or take a single audio file."""
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
        return _read_listing(audio)
    raise InputError(f"{audio}: no such folder or file")


def _read_listing(listing: Path) -> Inputs:
    root = listing.parent
    labels: dict[str, tuple[str, str]] = {}  # every listed name: (where, label cell)
    rows = read_table(listing, required=("path",))
    for line, row in rows:
        name = row["path"].strip()
        if not name:
            raise InputError(f"{listing}:{line}: empty path")
        if name in labels:
            raise InputError(f"{listing}:{line}: {name} is listed twice")
        if not (root / name).is_file():
            raise InputError(f"{listing}:{line}: {name}: no such file")
        labels[name] = (f"{listing}:{line}", row.get("label", ""))
    if not labels:
        raise InputError(f"{listing}: lists no audio files")
    has_labels = "label" in rows[0][1]
    return Inputs(root, tuple(natural_sorted(labels)), labels if has_labels else None)


def rows_by_input(
    path: Path, inputs: Inputs, required: tuple[str, ...]
) -> dict[str, tuple[str, dict[str, str]]]:
    """A table with one row per input file (its ``path`` column, matched as
    InputMatcher does): {input name: (where, row)}; empty paths and a second row
    for one input are errors naming the line."""
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    matcher = InputMatcher(inputs)
    for line, row in read_table(path, required=("path", *required)):
        where = f"{path}:{line}"
        if not row["path"].strip():
            raise InputError(f"{where}: empty path")
        name = matcher.match(row["path"].strip(), where)
        if name in rows:
            raise InputError(f"{where}: {name} has a row already ({rows[name][0]})")
        rows[name] = (where, row)
    return rows


def read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a UTF-8 table with a header, each with its line number; checks columns.

    Comma-separated CSV, or tab-separated when the header line holds a tab (then
    quotes are plain characters, as in DCASE metadata). Header names are stripped.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            tabs = "\t" in f.readline()
            f.seek(0)
            if tabs:
                reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            else:
                reader = csv.DictReader(f)
            try:
                columns = [c.strip() for c in reader.fieldnames or []]
                reader.fieldnames = columns
                missing = [c for c in required if c not in columns]
                if missing:
                    raise InputError(
                        f"{path}: missing column(s) {', '.join(missing)} "
                        f"(header: {','.join(columns)})"
                    )
                return [
                    (reader.line_num, {k: (v or "") for k, v in row.items() if k}) for row in reader
                ]
            except csv.Error as exc:
                # line_num counts the lines completed before the bad one
                line = reader.line_num + 1
                raise InputError(f"{path}:{line}: not a valid table ({exc})") from exc
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc


def not_utf8(path: Path) -> InputError:
    """The error for a text file that is not UTF-8, naming the line of the first bad byte."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return InputError(f"{path}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    return InputError(f"{path}: not UTF-8 text")
