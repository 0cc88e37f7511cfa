"""Labels of the input files: clip classes, event annotations, per-window arrays, or none.

Labels are read in two steps, both before anything is written. ``read_labels``
parses and checks the label files (each error names the file and, for tables,
the line) and returns a pending label source; after the header pass its
``bind`` matches it to the sources: event times become sample positions,
per-window arrays are checked against each file's window count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ...errors import InputError
from ...naming import natural_sorted
from ..sources import Inputs, not_utf8, rows_by_input

if TYPE_CHECKING:
    from ...builder.tasks import Source
    from ...config import Config

SEPARATOR = ";"  # between the classes of a multi-label cell, and in manifest.csv
NO_EVENTS = np.zeros((0, 3), dtype=np.int64)
MAX_CLASS_ID = 999_999  # per-window class ids above this are surely not class ids


@dataclass(frozen=True, eq=False)
class FileLabels:
    """The labels of one input file, in the form its kind needs."""

    classes: tuple[int, ...] = ()  # clip labels: one class id (single) or several (multi)
    # events: rows (start, stop, class) in samples at the target rate, [start, stop),
    # clipped to the file, overlapping events of one class merged
    events: np.ndarray = field(default_factory=lambda: NO_EVENTS)
    windows: np.ndarray | None = None  # per-window class ids, one per window

    def digest(self) -> str:
        """sha256 of these labels: equal digests give equal label arrays."""
        h = hashlib.sha256(repr(self.classes).encode())
        for array in (self.events, self.windows):
            if array is not None:
                array = np.ascontiguousarray(array)
                h.update(f"{array.dtype.str}{array.shape}".encode() + array.tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class LabelSet:
    """The class list and every input file's labels, aligned with the sources."""

    kind: str
    classes: tuple[str, ...]
    files: tuple[FileLabels, ...]

    def names(self, label: np.ndarray) -> str:
        """Manifest text of one stored label: a class name, or names joined by ";"."""
        if label.ndim == 0:
            return self.classes[int(label)]
        return SEPARATOR.join(self.classes[i] for i in np.flatnonzero(label))


class PendingLabels(Protocol):
    """Label files read and checked, waiting for the header pass."""

    @property
    def kind(self) -> str: ...

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        """Labels of ``sources`` (the inputs, or some of them), in order."""
        ...


# -- class vocabulary --------------------------------------------------------


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

    def add(self, name: str, where: str) -> str:
        """Check ``name`` (found at ``where``) and remember it."""
        check_class_name(name, where)
        if self.fixed is not None and name not in self._known:
            raise InputError(f"{where}: class {name!r} is not in {self.origin}")
        self._seen.add(name)
        return name

    def classes(self) -> tuple[str, ...]:
        """The class list: the fixed order, else the names seen in natural order."""
        return self.fixed if self.fixed is not None else tuple(natural_sorted(self._seen))


def split_cell(cell: str, where: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The classes of a label cell (several separated by ";"), each checked."""
    if not cell.strip():
        raise InputError(f"{where}: empty label")
    names = [vocabulary.add(part.strip(), where) for part in cell.split(SEPARATOR)]
    return tuple(dict.fromkeys(names))


# -- clip labels ---------------------------------------------------------------


@dataclass(frozen=True)
class ClipLabels:
    """One set of classes per file: multi-label when asked or when any file has several,
    else single-label."""

    kind: str
    classes: tuple[str, ...]
    file_classes: dict[str, tuple[int, ...]]  # every input's class ids, by name

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        files = tuple(FileLabels(classes=self.file_classes[s.name]) for s in sources)
        return LabelSet(self.kind, self.classes, files)


def _clip_labels(
    inputs: Inputs,
    cells: dict[str, tuple[str, str]],
    origin: str,
    vocabulary: Vocabulary,
    multi_label: bool,
) -> ClipLabels:
    """``cells``: {input name: (where, label cell)} covering every input file."""
    by_name = {name: split_cell(cell, where, vocabulary) for name, (where, cell) in cells.items()}
    unlabelled = [name for name in inputs.files if name not in cells]
    if unlabelled:
        raise InputError(
            f"{inputs.path(unlabelled[0])}: no label in {origin} "
            f"({len(unlabelled)} input file(s) have none)"
        )
    classes = vocabulary.classes()
    ids = {c: i for i, c in enumerate(classes)}
    file_classes = {name: tuple(ids[c] for c in by_name[name]) for name in inputs.files}
    kind = "multi" if multi_label or any(len(c) > 1 for c in file_classes.values()) else "single"
    return ClipLabels(kind, classes, file_classes)


def _cells_from_csv(path: Path, inputs: Inputs) -> dict[str, tuple[str, str]]:
    rows = rows_by_input(path, inputs, required=("label",))
    return {name: (where, row["label"]) for name, (where, row) in rows.items()}


def _cells_from_folders(inputs: Inputs) -> dict[str, tuple[str, str]]:
    cells = {}
    for name in inputs.files:
        parent = PurePosixPath(name).parent
        if parent == PurePosixPath("."):
            raise InputError(
                f"{inputs.path(name)}: --labels-from-folders needs each file in a class folder"
            )
        cells[name] = (str(inputs.path(name)), parent.name)
    return cells


# -- per-window label arrays -----------------------------------------------------


def window_label_path(audio: Path) -> Path:
    """``<name>-lbl.npy`` beside ``<name>.<ext>``."""
    return audio.with_name(f"{audio.stem}-lbl.npy")


def _load_window_labels(audio: Path, windows: int) -> tuple[Path, np.ndarray]:
    path = window_label_path(audio)
    if not path.is_file() and windows == 0:
        return path, np.zeros(0, dtype=np.int64)  # a file without windows needs no labels
    if not path.is_file():
        raise InputError(f"{path}: no such file (the per-window labels of {audio.name})")
    with path.open("rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise InputError(f"{path}: not a .npy file")
    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise InputError(f"{path}: holds Python objects, which are never unpickled") from None
        raise InputError(f"{path}: not a readable .npy array ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from exc
    if values.ndim != 1:
        raise InputError(
            f"{path}: expected one label per window, got an array of shape {values.shape}"
        )
    if len(values) != windows:
        raise InputError(
            f"{path}: {len(values)} labels, but the audio gives {windows} windows "
            f"with this segment config"
        )
    return path, values


def _as_class_ids(values: np.ndarray, path: Path) -> np.ndarray:
    """Integer class ids from an integer, boolean or whole-valued float array."""
    if values.dtype.kind not in "iubf":
        raise InputError(f"{path}: labels of type {values.dtype} (expected class ids or names)")
    wide = values.astype(np.float64)  # also holds uint64 ids too large for int64
    not_ids = ~np.isfinite(wide) | (wide != np.round(wide))
    if not_ids.any():
        w = int(np.flatnonzero(not_ids)[0])
        raise InputError(f"{path}: window {w}: label {values[w]} is not a class id")
    out_of_range = (wide < 0) | (wide > MAX_CLASS_ID)
    if out_of_range.any():
        w = int(np.flatnonzero(out_of_range)[0])
        raise InputError(
            f"{path}: window {w}: class id {values[w]} is out of range (0 to {MAX_CLASS_ID})"
        )
    return values.astype(np.int64)


@dataclass(frozen=True)
class WindowLabelFiles:
    """``<name>-lbl.npy`` arrays beside the audio, loaded once window counts are known."""

    root: Path
    vocabulary: tuple[str, ...] | None
    origin: str
    kind: str = "per-window"

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        owners: dict[Path, Path] = {}
        for s in sources:
            other = owners.setdefault(window_label_path(s.path), s.path)
            if other != s.path:
                raise InputError(
                    f"{window_label_path(s.path)}: would label both {other.name} and "
                    f"{s.path.name}; per-window labels need one audio file per name"
                )
        arrays = [_load_window_labels(s.path, s.windows) for s in sources]
        named = [path for path, values in arrays if len(values) and values.dtype.kind == "U"]
        numbered = [path for path, values in arrays if len(values) and values.dtype.kind != "U"]
        if named and numbered:
            raise InputError(
                f"{numbered[0]}: holds class ids while {named[0]} holds class names; use one kind"
            )
        if named:
            return self._bind_names(arrays)
        ids = [
            (path, _as_class_ids(values, path) if len(values) else values.astype(np.int64))
            for path, values in arrays
        ]
        top = max((int(v.max()) for _, v in ids if len(v)), default=-1)
        if self.vocabulary is not None:
            for path, values in ids:
                if len(values) and values.max() >= len(self.vocabulary):
                    bad = int(np.flatnonzero(values >= len(self.vocabulary))[0])
                    raise InputError(
                        f"{path}: window {bad}: class id {values[bad]} is not in {self.origin} "
                        f"({len(self.vocabulary)} classes)"
                    )
            classes = self.vocabulary
        else:
            classes = tuple(str(i) for i in range(top + 1))
        if not classes:
            raise InputError(f"{self.root}: the per-window label files hold no labels")
        return LabelSet(self.kind, classes, tuple(FileLabels(windows=v) for _, v in ids))

    def _bind_names(self, arrays: list[tuple[Path, np.ndarray]]) -> LabelSet:
        vocabulary = Vocabulary(self.vocabulary, self.origin)
        per_file = []  # (names in the file, each window's index into them)
        for path, values in arrays:
            names, first, inverse = np.unique(values, return_index=True, return_inverse=True)
            for name, w in zip(names.tolist(), first.tolist(), strict=True):
                vocabulary.add(name, f"{path}: window {w}")
            per_file.append((names.tolist(), inverse))
        classes = vocabulary.classes()
        ids = {c: i for i, c in enumerate(classes)}
        files = tuple(
            FileLabels(windows=np.array([ids[n] for n in names], dtype=np.int64)[inverse])
            for names, inverse in per_file
        )
        return LabelSet(self.kind, classes, files)


# -- no labels -------------------------------------------------------------------


@dataclass(frozen=True)
class NoLabels:
    """An unlabelled build (for inference): no label arrays at all."""

    kind: str = "none"

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        return LabelSet(self.kind, (), tuple(FileLabels() for _ in sources))


# -- choosing the label source ---------------------------------------------------


def read_labels(
    inputs: Inputs,
    *,
    labels: str | Path | None = None,
    labels_from_folders: bool = False,
    events: str | Path | None = None,
    labels_per_window: bool = False,
    classes: str | Path | None = None,
    multi_label: bool = False,
) -> PendingLabels:
    """Read and check the one label source given (or the listing's label column, used
    when no other is given). ``multi_label`` stores clip labels multi-hot even when
    every file has one class (so that separately built splits agree)."""
    given = [
        flag
        for flag, value in (
            ("--labels", labels is not None),
            ("--labels-from-folders", labels_from_folders),
            ("--events", events is not None),
            ("--labels-per-window", labels_per_window),
        )
        if value
    ]
    if len(given) > 1:
        raise InputError(f"give one label source, not {' and '.join(given)}")
    fixed = read_classes(classes) if classes is not None else None
    vocabulary = Vocabulary(fixed, str(classes))
    if multi_label and (events is not None or labels_per_window):
        raise InputError("--multi-label applies to clip labels (--labels, --labels-from-folders)")
    if events is not None:
        from .events import read_events

        return read_events(Path(events), inputs, vocabulary)
    if labels_per_window:
        return WindowLabelFiles(inputs.root, fixed, str(classes))
    if labels is not None:
        cells, origin = _cells_from_csv(Path(labels), inputs), str(labels)
    elif labels_from_folders:
        cells, origin = _cells_from_folders(inputs), "folder names"
    elif inputs.listed_labels is not None:
        cells, origin = inputs.listed_labels, "the listing's label column"
    elif fixed is not None:
        raise InputError(f"{classes}: --classes needs labels (--labels, --events, ...)")
    elif multi_label:
        raise InputError("--multi-label needs clip labels (--labels, --labels-from-folders)")
    else:
        return NoLabels()
    return _clip_labels(inputs, cells, origin, vocabulary, multi_label)
