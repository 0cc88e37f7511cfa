"""source_statistics.npz: present, as dataset.json records it (size and digest), of
the dataset's shape, each source within one file of manifest.csv, and, merged, equal
to the statistics dataset.json records when they are the dataset's own."""

from __future__ import annotations

import numpy as np

from ..dataset.layout import DIGEST, SOURCE_STATISTICS, digest_path
from ..dataset.manifest_table import read_manifest_table
from ..dataset.source_stats import KEY, records_own_statistics, shape_problem
from ..dataset.stats import GroupStats
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log
from ..errors import DatasetError

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
    _check_files_of_sources(ds, arrays["example_source"], log)
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


def _check_files_of_sources(ds: DatasetRecord, example_source: np.ndarray, log: Log) -> None:
    """Every source's examples come from one file of manifest.csv (a segment is part of
    one); an unreadable manifest is reported by its own check."""
    try:
        files = read_manifest_table(ds.root, ds.info).source.codes
    except DatasetError:
        return
    pairs = np.unique(np.stack([example_source, files.astype(np.int64)]), axis=1)
    mixed = np.flatnonzero(np.bincount(pairs[0]) > 1)
    if len(mixed):
        log.add(
            SOURCE_STATISTICS,
            None,
            f"source {int(mixed[0])} holds examples of more than one file of manifest.csv "
            f"({len(mixed)} such source(s))",
        )
