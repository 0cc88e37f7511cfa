"""Writing one data file (HDF5 shard or npy block) and what is reported of it: the
last step of every build and shard task, in the worker process."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..version import __version__
from .frame_events import encoded
from .layout import DIGEST, FORMAT_NAME, FORMAT_VERSION, FileRecord, atomic_path, tree_size
from .stats import BinStats, GroupStats, constant_rows, feature_stats
from .storage import get_format


def file_sizes(total: int, most: int) -> list[int]:
    """Examples per file when ``total`` examples go into files of at most ``most``:
    as few files as that allows, equal in size to one example. Equal files keep
    worker processes evenly loaded (512, 512, 512, 264 would leave one of two
    workers a shard behind) and give every reader of a ShardSampler a fair share."""
    files = -(-total // most)
    small, extra = divmod(total, files) if files else (0, 0)
    return [small + 1] * extra + [small] * (files - extra)


def shard_attrs(config: Config, kind: str, classes: Sequence[str]) -> dict[str, Any]:
    """Attributes that make each HDF5 shard self-describing."""
    attrs: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tool": f"spectroprep {__version__}",
        "label_kind": kind,
        "classes": json.dumps(list(classes)),
    }
    for section, values in config.to_dict().items():
        for key, value in values.items():
            attrs[f"{section}.{key}"] = json.dumps(value) if isinstance(value, list) else value
    return attrs


def count_labels(arrays: Mapping[str, np.ndarray], n_classes: int) -> dict[str, np.ndarray]:
    """Examples per class ("per_class") and, for events, active frames per class
    ("active_frames") in the label arrays of some examples."""
    counts = {}
    labels = arrays.get("labels")
    if labels is not None and labels.ndim == 1:
        counts["per_class"] = np.bincount(labels, minlength=n_classes)
    elif labels is not None:
        counts["per_class"] = labels.sum(axis=0, dtype=np.int64)
    if "frame_targets" in arrays:
        counts["active_frames"] = arrays["frame_targets"].sum(axis=(0, 1), dtype=np.int64)
    return counts


@dataclass(frozen=True)
class ShardResult:
    """What a worker reports of a shard: its record, its label counts per class,
    the statistics of its features as stored (of all, and of each source), and the
    sources it left out because they failed to decode ((name, message naming the
    file) pairs)."""

    record: FileRecord
    counts: dict[str, np.ndarray]
    stats: BinStats
    sources: GroupStats
    left_out: tuple[tuple[str, str], ...] = ()
    constant: int = 0  # examples whose features are one value all over (silence, padding)


def write_data_file(
    root: Path,
    config: Config,
    index: int,
    first_example: int,
    features: np.ndarray,
    arrays: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
    n_classes: int,
    example_source: np.ndarray,
) -> ShardResult:
    """Write data file ``index`` of the dataset at ``root`` (atomically): ``features``
    in the stored dtype, the label arrays (frame targets as their runs), ids from
    ``first_example + 1``;
    ``example_source``: each example's source, whose statistics are kept apart. The
    file's digest is taken from the bytes as they are written, never read back."""
    features = features.astype(config.storage.dtype, copy=False)
    fmt = get_format(config.storage.format)
    rel = fmt.file_name(index)
    final = root / rel
    final.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(final) as tmp:
        digest = fmt.write(tmp, features, encoded(arrays), first_example + 1, attrs, config.storage)
    record = FileRecord(rel, len(features), tree_size(final), **{DIGEST: digest})
    stats, sources = feature_stats(features, example_source)
    constant = int(constant_rows(features).sum())
    return ShardResult(record, count_labels(arrays, n_classes), stats, sources, constant=constant)


def label_counts(results: Sequence[ShardResult], classes: Sequence[str]) -> dict[str, Any]:
    """Per-class example counts (and active frames, for events) summed over the files."""
    totals: dict[str, Any] = {}
    for result in results:
        for name, values in result.counts.items():
            totals[name] = totals.get(name, 0) + np.asarray(values)
    return {
        name: dict(zip(classes, np.asarray(values).tolist(), strict=True))
        for name, values in totals.items()
    }
