"""Frame targets stored as their runs of active frames, so that their size follows
the events, not frames x classes: AudioSet's 527 classes over 1,000 frames of a
10-s example are 527,000 bytes dense, and a few dozen as runs.

Each data file holds, in place of a dense (N, T, C) uint8 array:

* ``frame_events`` (E, 3) int32: one row per run of active frames of one class in
  one example, ``[class, first frame, end frame)``, examples in order, and within
  an example by class, then frame;
* ``frame_event_offsets`` (N + 1,) int64: example ``r``'s runs are rows
  ``offsets[r]:offsets[r + 1]``.

Readers decode them into the same (B, T, C) uint8 arrays as before. Datasets built
before (dataset.json's ``labels.frames.storage`` absent) keep a dense
``frame_targets`` array, which readers still read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import DatasetError

FRAMES = "frame_targets"  # the dense array: what readers return, and older datasets store
EVENTS, OFFSETS = "frame_events", "frame_event_offsets"
STORAGE = "runs"  # dataset.json's labels.frames.storage for this layout
_ENCODED_AT_ONCE = 16  # examples: 8.4 MB of dense (1001, 527) targets


def frame_storage(labels: Mapping[str, Any]) -> str:
    """How a dataset stores its frame targets: "runs", or "dense" (built before runs)."""
    storage = labels.get("frames", {}).get("storage", "dense")
    if storage not in ("dense", STORAGE):
        raise DatasetError(
            f"dataset.json: labels.frames.storage {storage!r} is neither 'runs' nor 'dense' "
            "(written by a newer spectroprep?)"
        )
    return str(storage)


def stored_arrays(kind: str, storage: str = STORAGE) -> tuple[str, ...]:
    """The label arrays each data file of a dataset with label kind ``kind`` holds."""
    frames = () if kind != "events" else (FRAMES,) if storage == "dense" else (OFFSETS, EVENTS)
    return (*(("labels",) if kind != "none" else ()), *frames)


def encode(frames: np.ndarray) -> dict[str, np.ndarray]:
    """The runs of (N, T, C) 0/1 frame targets: {OFFSETS: ..., EVENTS: ...}. A few
    examples at a time: the temporaries are several times the dense array's size."""
    n = len(frames)
    counts = np.zeros(n, dtype=np.int64)
    events = []
    for lo in range(0, n, _ENCODED_AT_ONCE):
        block = frames[lo : lo + _ENCODED_AT_ONCE]
        k, t, c = block.shape
        padded = np.zeros((k, c, t + 2), dtype=np.int8)
        padded[:, :, 1:-1] = block.transpose(0, 2, 1)
        steps = np.diff(padded, axis=2)
        # row-major order pairs each run's start with its stop: same example and class
        starts, stops = np.argwhere(steps == 1), np.argwhere(steps == -1)
        events.append(np.column_stack([starts[:, 1], starts[:, 2], stops[:, 2]]))
        counts[lo : lo + k] = np.bincount(starts[:, 0], minlength=k)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    runs = np.concatenate(events) if events else np.zeros((0, 3))
    return {OFFSETS: offsets, EVENTS: runs.astype(np.int32).reshape(-1, 3)}


def encoded(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Label arrays as a data file stores them: dense frame targets as their runs."""
    stored = {name: a for name, a in arrays.items() if name != FRAMES}
    if FRAMES in arrays:
        stored.update(encode(arrays[FRAMES]))
    return stored


def decode_into(
    offsets: np.ndarray, events: np.ndarray, rows: np.ndarray, out: np.ndarray, where: np.ndarray
) -> None:
    """Frame targets of ``rows`` of one data file into ``out[where]`` (B, T, C) uint8,
    from the file's runs."""
    out[where] = 0
    lo, hi = offsets[rows], offsets[rows + 1]
    lengths = hi - lo
    total = int(lengths.sum())
    if not total:
        return
    before = np.cumsum(lengths) - lengths
    picked = events[np.arange(total) + np.repeat(lo - before, lengths)]
    slots = np.repeat(where, lengths)
    for slot, (cls, first, end) in zip(slots.tolist(), picked.tolist(), strict=True):
        out[slot, first:end, cls] = 1


def runs_problem(offsets: np.ndarray, events: np.ndarray, n: int, t: int, c: int) -> str | None:
    """What is wrong with the runs of a data file of ``n`` examples of ``t`` frames
    and ``c`` classes, or None."""
    if offsets.shape != (n + 1,) or offsets.dtype.kind != "i":
        return f"{OFFSETS} is {offsets.dtype} {offsets.shape}, expected int64 ({n + 1},)"
    if events.ndim != 2 or events.shape[1:] != (3,) or events.dtype.kind != "i":
        return f"{EVENTS} is {events.dtype} {events.shape}, expected int32 (E, 3)"
    if offsets[0] != 0 or offsets[-1] != len(events) or (np.diff(offsets) < 0).any():
        return f"{OFFSETS} do not run from 0 to the {len(events)} runs in ascending order"
    cls, first, end = events.T
    if len(events) and ((cls < 0) | (cls >= c) | (first < 0) | (first >= end) | (end > t)).any():
        return f"{EVENTS} hold a run outside {c} classes and {t} frames"
    example = np.repeat(np.arange(n), np.diff(offsets))
    same = example[1:] == example[:-1]
    before = (cls[1:] < cls[:-1]) | ((cls[1:] == cls[:-1]) & (first[1:] <= end[:-1]))
    if (same & before).any():
        row = int(np.flatnonzero(same & before)[0]) + 1
        return (
            f"{EVENTS} row {row} does not follow the run before it (runs of an example "
            "go by class, then frame, apart)"
        )
    return None


def active_frames(events: np.ndarray, c: int) -> np.ndarray:
    """Active frames per class in some runs: (C,) int64."""
    return np.bincount(events[:, 0], weights=events[:, 2] - events[:, 1], minlength=c).astype(
        np.int64
    )


class FrameReader:
    """Frame targets of a dataset's data files as dense (B, T, C) uint8 arrays, whatever
    their storage, read through ``reader`` (a storage format's Reader). Each file's runs
    are kept once read: a few bytes per example, against a read per batch and file."""

    def __init__(self, reader: Any, storage: str, files: Sequence[Any], shape: tuple[int, int]):
        """``files``: the dataset's FileRecords; ``shape``: (frames, classes)."""
        self._reader = reader
        self._dense = storage == "dense"
        self._files = [(f.path, f.examples) for f in files]
        self._shape = shape
        self._runs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def read_into(self, file: int, rows: np.ndarray, out: np.ndarray, where: np.ndarray) -> None:
        """Row ``rows[k]`` (ascending) of data file ``file`` into ``out[where[k]]``."""
        if self._dense:
            self._reader.read_into(file, rows, out, where, FRAMES)
            return
        runs = self._runs.get(file)
        if runs is None:
            runs = self._runs[file] = self._load(file)
        decode_into(*runs, rows, out, where)

    def _load(self, file: int) -> tuple[np.ndarray, np.ndarray]:
        """A data file's runs, checked: a wrong one would decode silently wrong."""
        path, examples = self._files[file]
        offsets, events = self._reader.array(file, OFFSETS), self._reader.array(file, EVENTS)
        problem = runs_problem(offsets, events, examples, *self._shape)
        if problem:
            raise DatasetError(f"{path}: {problem} (run spectroprep verify)")
        return offsets, events

    def gather(
        self, files: np.ndarray, rows: np.ndarray, out: np.ndarray, where: np.ndarray
    ) -> None:
        """Row ``rows[k]`` of data file ``files[k]`` into ``out[where[k]]``, any order."""
        if self._dense:
            self._reader.gather(files, rows, out, where, FRAMES)
            return
        for file in np.unique(files).tolist():
            mine = np.flatnonzero(files == file)
            self.read_into(file, rows[mine], out, where[mine])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_runs": {}}


def with_frame_storage(labels: Mapping[str, Any]) -> dict[str, Any]:
    """dataset.json's "labels" of a dataset written now: frame targets (if any) as runs."""
    if "frames" not in labels:
        return dict(labels)
    return {**labels, "frames": {**labels["frames"], "storage": STORAGE}}
