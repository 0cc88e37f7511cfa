"""One data file of a new dataset, written by a task on an executor: its examples are
gathered from the source dataset's files (each file's rows read in ascending order
as contiguous runs), converted to the new dtype and written with their labels.

A worker works on one output file at a time (its examples, the runs read and a
converted copy: two to three files' worth), so memory is bounded by the file size
times the number of workers, whatever the size of the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, StorageConfig
from ..dataset.datafile import ShardResult, write_data_file
from ..dataset.frame_events import FRAMES, FrameReader
from ..dataset.layout import FileRecord, os_reason
from ..dataset.storage import Reader, get_format
from ..errors import DatasetError
from ..read.reader import file_runs


@dataclass(frozen=True)
class SourceFiles:
    """The data files of the source dataset, as a worker needs them."""

    root: Path
    files: tuple[FileRecord, ...]
    storage: StorageConfig
    shape: tuple[int, int]  # (bins, frames) of one example
    kind: str  # of labels
    frames: str | None  # how frame targets are stored (frame_events.frame_storage)
    n_classes: int

    @property
    def starts(self) -> np.ndarray:
        """Position of each file's first example, then the number of examples."""
        return np.r_[0, np.cumsum([f.examples for f in self.files])].astype(np.int64)


@dataclass(frozen=True)
class PartTask:
    """Write data file ``index`` of the dataset at ``out``: the source examples at
    ``positions`` (0-based), in this order; its first example is ``first_example``;
    ``sources``: the source (input file or segment) of each of them."""

    out: Path
    index: int
    first_example: int
    positions: np.ndarray
    sources: np.ndarray


def _gather(task: PartTask, src: SourceFiles, reader: Reader) -> tuple[np.ndarray, dict]:
    n = len(task.positions)
    features = np.empty((n, *src.shape), dtype=src.storage.dtype)
    arrays: dict[str, np.ndarray] = {}
    frames = None
    if src.frames is not None:
        frames = FrameReader(reader, src.frames, src.files, (src.shape[1], src.n_classes))
        arrays[FRAMES] = np.empty((n, src.shape[1], src.n_classes), dtype=np.uint8)
    for file, where, rows in file_runs(src.starts, task.positions):
        path = src.root / src.files[file].path
        try:
            features[where] = reader.read(file, rows)
            if src.kind != "none":
                values = reader.labels(file)[rows]
                if "labels" not in arrays:
                    arrays["labels"] = np.empty((n, *values.shape[1:]), dtype=values.dtype)
                arrays["labels"][where] = values
            if frames is not None:
                frames.read_into(file, rows, arrays[FRAMES], where)
        except (OSError, ValueError, KeyError, IndexError) as exc:
            reason = os_reason(exc) if isinstance(exc, OSError) else str(exc)
            raise DatasetError(
                f"{path}: cannot read ({reason}); run spectroprep verify on the source"
            ) from exc
    return features, arrays


def write_part(
    task: PartTask, src: SourceFiles, config: Config, attrs: Mapping[str, Any]
) -> tuple[Path, ShardResult]:
    """Gather and write one data file; returns its dataset folder and its result."""
    fmt = get_format(src.storage.format)
    reader = fmt.Reader(src.root, list(src.files), src.storage, verify_checksums=True)
    try:
        features, arrays = _gather(task, src, reader)
    finally:
        reader.close()
    result = write_data_file(
        task.out,
        config,
        task.index,
        task.first_example,
        features,
        arrays,
        attrs,
        src.n_classes,
        task.sources,
    )
    return task.out, result
