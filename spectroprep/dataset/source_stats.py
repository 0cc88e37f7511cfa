"""source_statistics.npz: the statistics of each source of a dataset (each input file,
or segment of one), and the source of each example, so that any subset of whole
sources (a fold, a split) is normalised with its own statistics by a merge of a
few arrays, with no pass over the features (``stats.GroupStats``).

The file holds ``example_source`` (N,) int64, the row of each example's source,
and per source ``count`` (S,) int64, ``mean`` and ``m2`` (S, F) float64;
dataset.json lists it under "source_statistics" with its size and digest.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from .layout import DIGEST, SOURCE_STATISTICS, atomic_path, digest_path
from .stats import GroupStats

KEY = "source_statistics"  # its entry in dataset.json
_ARRAYS = ("example_source", "count", "mean", "m2")


def write_source_statistics(root: Path, groups: GroupStats) -> dict[str, Any]:
    """Write the statistics of ``groups`` (numbered 0..S-1 in source order) into
    ``root``, atomically; returns dataset.json's entry for the file."""
    groups = groups.renumbered()
    arrays = {
        "example_source": groups.example_group,
        "count": groups.count,
        "mean": groups.mean,
        "m2": groups.m2,
    }
    path = root / SOURCE_STATISTICS
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, values in arrays.items():
            # a fixed member time (np.savez stamps the clock): equal builds, equal bytes
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, values, allow_pickle=False)
    return {
        "path": SOURCE_STATISTICS,
        "sources": len(groups),
        "bytes": path.stat().st_size,
        DIGEST: digest_path(path),
    }


def read_source_statistics(root: Path, info: Mapping[str, Any]) -> GroupStats:
    """The per-source statistics of the dataset at ``root``, checked against
    dataset.json (``verify`` checks their digest)."""
    entry = info.get(KEY)
    if entry is None:
        raise DatasetError(
            f"{root}: has no per-source statistics (built by an older spectroprep): "
            "rebuild it, or re-shard it with spectroprep shard, to normalise a subset"
        )
    path = root / SOURCE_STATISTICS
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAYS}
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"{path}: unreadable ({exc}; run spectroprep verify)") from exc
    problem = shape_problem(arrays, info)
    if problem:
        raise DatasetError(f"{path}: {problem} (run spectroprep verify)")
    sources = len(arrays["count"])
    return GroupStats(
        arrays["example_source"],
        np.arange(sources),
        arrays["count"],
        arrays["mean"],
        arrays["m2"],
    )


def records_own_statistics(info: Mapping[str, Any]) -> bool:
    """Whether dataset.json's statistics are the dataset's own, not those of the training
    split that a split made by ``shard`` records."""
    split = (info.get("derivation") or {}).get("split")
    return not split or split.get("statistics_from") == split.get("name")


def shape_problem(arrays: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> str | None:
    """What is wrong with the arrays of the file for the dataset ``info`` describes."""
    examples = sum(f["examples"] for f in info["files"])
    bins, frames = info["features"]["shape"]
    example_source, count = arrays["example_source"], arrays["count"]
    sources = len(count)
    if example_source.shape != (examples,) or example_source.dtype.kind != "i":
        return f"example_source is {example_source.dtype} {example_source.shape}, not ({examples},)"
    for name in ("mean", "m2"):
        if arrays[name].shape != (sources, bins):
            return f"{name} has shape {arrays[name].shape}, not ({sources}, {bins})"
    if examples and (example_source.min() < 0 or example_source.max() >= sources):
        return f"example_source holds rows outside 0..{sources - 1}"
    per_source = np.bincount(example_source, minlength=sources) * frames
    if count.shape != (sources,) or not np.array_equal(per_source, count):
        return "count differs from the examples of each source times their frames"
    if not (np.isfinite(arrays["mean"]).all() and np.isfinite(arrays["m2"]).all()):
        return "holds values that are not finite"
    return None
