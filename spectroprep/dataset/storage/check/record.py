"""dataset.json as verify reads it: every field it needs, checked before any data file
is opened."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

from ....columns import MANIFEST_COLUMNS
from ....config import Config
from ....errors import ConfigError, DatasetError
from ...frame_events import frame_storage, stored_arrays
from ...layout import DATASET_JSON, FileRecord, read_dataset_json
from .. import Format, get_format
from .report import Log

LABEL_KINDS = ("single", "per-window", "multi", "events", "none")
CLASS_IDS = ("single", "per-window")  # labels (N,) int64; the others (N, C) uint8 multi-hot


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset as its dataset.json describes it."""

    root: Path
    info: dict[str, Any]
    config: Config
    fmt: Format
    files: list[FileRecord]
    shape: tuple[int, int]  # (bins, frames) of one example
    kind: str
    classes: list[str]
    first_ids: list[int]  # id of each file's first example

    @property
    def examples(self) -> int:
        return sum(f.examples for f in self.files)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.storage.dtype)

    def locate(self, example: int) -> tuple[int, int]:
        """(data file, row in it) of example id ``example`` (1..examples)."""
        file = bisect.bisect_right(self.first_ids, example) - 1
        return file, example - self.first_ids[file]

    def label_shape(self, n: int) -> tuple[int, ...]:
        return (n,) if self.kind in CLASS_IDS else (n, len(self.classes))

    def label_dtype(self) -> np.dtype:
        return np.dtype(np.int64 if self.kind in CLASS_IDS else np.uint8)

    def frame_shape(self, n: int) -> tuple[int, int, int]:
        """Shape of the frame targets of ``n`` examples (events): (n, frames, classes)."""
        return (n, self.shape[1], len(self.classes))

    def arrays(self) -> tuple[str, ...]:
        """The label arrays each data file holds: "labels", the frame targets' runs
        (or, built before those, the dense frame targets)."""
        return stored_arrays(self.kind, frame_storage(self.info["labels"]))

    @property
    def dense_frames(self) -> bool:
        """Whether the frame targets are stored dense (a dataset built before runs)."""
        return frame_storage(self.info["labels"]) == "dense"


def _strip(message: str, *prefixes: Path) -> str:
    """An error message without its leading absolute path: problems name files relatively."""
    for prefix in prefixes:
        message = message.removeprefix(f"{prefix}: ")
    return message


def load_dataset(root: Path, log: Log) -> DatasetRecord | None:
    """The dataset's description, or None (and a problem) when dataset.json is unusable."""
    if not root.is_dir():
        log.add(None, None, f"{root}: no such folder")
        return None
    try:
        info = read_dataset_json(root)
    except DatasetError as exc:
        log.add(DATASET_JSON, None, _strip(str(exc), root / DATASET_JSON, root))
        return None
    try:
        config = Config.from_recorded(info["config"], DATASET_JSON)
        fmt = get_format(config.storage.format)
        files = [FileRecord(**f) for f in info["files"]]
        bins, frames = info["features"]["shape"]
        dtype = info["features"]["dtype"]
        kind, classes = info["labels"]["kind"], list(info["labels"]["classes"])
        if kind == "events":
            frame_storage(info["labels"])  # one this version reads
    except (ConfigError, DatasetError) as exc:
        log.add(DATASET_JSON, None, _strip(str(exc), Path(DATASET_JSON)))
        return None
    except (KeyError, TypeError, ValueError) as exc:
        log.add(DATASET_JSON, None, f"malformed ({type(exc).__name__}: {exc})")
        return None
    malformed = [
        f"files[{i}]"
        for i, f in enumerate(files)
        if not (isinstance(f.path, str) and _whole(f.examples, 1) and _whole(f.bytes, 0))
    ]
    if not _whole(bins, 1) or not _whole(frames, 1):
        malformed.append("features.shape")
    if kind not in LABEL_KINDS or not all(isinstance(c, str) for c in classes):
        malformed.append("labels")
    if not _manifest_columns_ok(info.get("manifest", {}).get("columns", MANIFEST_COLUMNS)):
        malformed.append("manifest.columns")
    if malformed:
        log.add(DATASET_JSON, None, f"malformed: {', '.join(malformed)}")
        return None
    first_ids = list(accumulate((f.examples for f in files), initial=1))[:-1]
    ds = DatasetRecord(root, info, config, fmt, files, (bins, frames), kind, classes, first_ids)
    if dtype != config.storage.dtype:
        log.add(DATASET_JSON, None, f"features.dtype {dtype!r} but storage.dtype {ds.dtype}")
    counts = info.get("counts", {})
    for key, value in (("examples", ds.examples), ("files", len(files))):
        if counts.get(key) != value:
            log.add(DATASET_JSON, None, f"counts.{key} is {counts.get(key)!r}, files lists {value}")
    return ds


def _manifest_columns_ok(columns: object) -> bool:
    """The fixed manifest columns, then distinct metadata columns."""
    return (
        isinstance(columns, list | tuple)
        and all(isinstance(c, str) for c in columns)
        and tuple(columns[: len(MANIFEST_COLUMNS)]) == MANIFEST_COLUMNS
        and len(set(columns)) == len(columns)
    )


def _whole(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least
