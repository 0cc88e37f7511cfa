"""source_statistics.npz: present, as dataset.json records it (size and digest), of
the dataset's shape, and, merged, equal to the statistics dataset.json records when
they are the dataset's own."""

from __future__ import annotations

import numpy as np

from ..dataset.layout import DIGEST, SOURCE_STATISTICS, digest_path
from ..dataset.source_stats import KEY, records_own_statistics, shape_problem
from ..dataset.stats import GroupStats
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log

_ARRAYS = ("example_source", "count", "mean", "m2")


def check_source_statistics(ds: DatasetRecord, log: Log) -> None:
    """Check the file dataset.json lists under "source_statistics", if it lists one."""
    entry = ds.info.get(KEY)
    if entry is None:
        return
    path = ds.root / SOURCE_STATISTICS
    if not isinstance(entry, dict) or entry.get("path") != SOURCE_STATISTICS:
        log.add(None, None, f"dataset.json: {KEY} is not an entry for {SOURCE_STATISTICS}")
        return
    if not path.is_file():
        log.add(SOURCE_STATISTICS, None, "listed in dataset.json but missing")
        return
    if path.stat().st_size != entry.get("bytes") or digest_path(path) != entry.get(DIGEST):
        log.add(SOURCE_STATISTICS, None, "size or digest differs from dataset.json (changed)")
        return
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAYS}
    except (OSError, KeyError, ValueError) as exc:
        log.add(SOURCE_STATISTICS, None, f"unreadable ({exc})")
        return
    problem = shape_problem(arrays, ds.info)
    if problem:
        log.add(SOURCE_STATISTICS, None, problem)
        return
    if records_own_statistics(ds.info) and "statistics" in ds.info:
        groups = GroupStats(
            arrays["example_source"],
            np.arange(len(arrays["count"])),
            arrays["count"],
            arrays["mean"],
            arrays["m2"],
        )
        merged = groups.merged().to_dict()
        recorded = ds.info["statistics"]
        for name in ("mean", "std"):
            if not np.allclose(merged[name], recorded[name], rtol=1e-7, atol=1e-7):
                log.add(
                    SOURCE_STATISTICS,
                    None,
                    f"the sources' statistics merge to another {name} than dataset.json's",
                )
