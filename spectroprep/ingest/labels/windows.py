"""Per-window label arrays: ``<name>-lbl.npy`` beside each input, one class id per window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import InputError
from ..audio.file import output_length
from ..segments import windows_of

if TYPE_CHECKING:
    from ...config import Config
    from ..headers import Source
from .model import FileLabels, LabelSet
from .vocabulary import Vocabulary

MAX_CLASS_ID = 999_999  # per-window class ids above this are surely not class ids


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


def _segment_labels(
    source: Source, config: Config, files: dict[Path, tuple[Path, np.ndarray]]
) -> tuple[Path, np.ndarray]:
    """The labels of a source's windows: a whole file's array, or, for a segment, the
    part of its file's array (one label per window of the file) that its windows are.
    A segment must start on the file's window grid, so that each of its windows starts
    where one of the file's does (a last window the segment's end pads is labelled as
    the file's window there)."""
    if source.segment_of is None:
        return _load_window_labels(source.path, source.windows)
    if source.path not in files:
        samples = output_length(source.info, config.audio)
        files[source.path] = _load_window_labels(source.path, windows_of(samples, config))
    path, values = files[source.path]
    first, off_grid = divmod(source.offset, config.hop_samples)
    if off_grid:
        raise InputError(
            f"{path}: labels the windows of {source.file}, but its segment {source.name} "
            f"starts {source.offset / config.audio.sample_rate:g} s in, off the window grid "
            f"(a multiple of segment.hop = {config.segment.hop:g} s)"
        )
    if first + source.windows > len(values):
        raise InputError(
            f"{path}: {len(values)} labels, but segment {source.name} needs windows "
            f"{first} to {first + source.windows - 1}"
        )
    return path, values[first : first + source.windows]


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
        files: dict[Path, tuple[Path, np.ndarray]] = {}  # a file of many segments: read once
        arrays = [_segment_labels(s, config, files) for s in sources]
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
