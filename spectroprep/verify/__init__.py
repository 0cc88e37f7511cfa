"""``spectroprep verify``: prove that a built dataset is complete and uncorrupted.

Everything is checked through the on-disk format (layout, storage, config):

- dataset.json: readable, of this format version, its fields well-formed
  (``dataset.storage.check.record``);
- the data files it lists: where the format puts them, present, with the recorded size
  and digest (xxh3_128; sha256 in datasets written before); and no other file in the
  folder, a leftover build journal named as such (``files``);
- source_statistics.npz: as dataset.json records it, of the dataset's shape, and merging
  to its statistics (``source_stats``);
- the contents of each data file, by its format's ``check_file`` (for HDF5 shards
  ``dataset/storage/hdf5_check.py``, for npy blocks ``npy_check.py``): layout, example
  ids, finite features, valid labels and frame targets, whose counts must match
  dataset.json's (``dataset.storage.check.values``);
- manifest.csv, row by row (``manifest``), and rejected.csv's rows (``rejected``);
- and, as warnings, what is probably a mistake though not damage (``quality``).

Only ``recompute`` runs the feature code, on a random sample of examples. Problems are
collected, never raised: each names its file (relative to the dataset folder) and,
where it applies, the example id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset.storage.check.record import DatasetRecord, load_dataset
from ..dataset.storage.check.report import Log, Problem, Report
from ..dataset.storage.check.values import Totals
from ..errors import ConfigError
from .files import check_files, check_unlisted
from .manifest import check_manifest
from .quality import check_quality
from .recompute import pick_examples, recompute_examples
from .rejected import check_rejected
from .source_stats import check_source_statistics

__all__ = ["Problem", "Report", "verify"]


def verify(path: str | Path, recompute: int = 0, seed: int = 0) -> Report:
    """Check the dataset at ``path``: dataset.json, every data file (listed, unmodified,
    readable, well-formed, finite features, valid labels), nothing unlisted, and
    manifest.csv. ``recompute`` examples, picked at random with ``seed``, are also
    recomputed from their source audio and compared with what is stored."""
    log = Log()
    ds = load_dataset(Path(path), log)
    if ds is None:
        return log.report(0, 0)
    present = check_files(ds, log)
    check_source_statistics(ds, log)
    check_unlisted(ds, log)
    totals = Totals(
        np.zeros(len(ds.classes), dtype=np.int64), np.zeros(len(ds.classes), dtype=np.int64)
    )
    labelled = _check_contents(ds, present, log, totals)
    totals.compare(ds, log)
    wanted = pick_examples(ds.examples, recompute, seed)
    picked, mostly_padding = check_manifest(ds, labelled, wanted, log)
    check_rejected(ds, log)
    check_quality(ds, totals, mostly_padding, log)
    recomputed = recompute_examples(ds, picked, log) if picked else None
    report = log.report(ds.examples, len(ds.files))
    report.recomputed = recomputed
    return report


def _check_contents(ds: DatasetRecord, present: list[int], log: Log, totals: Totals) -> set[int]:
    """Check every present data file; returns those whose labels can be read and are
    valid, so that the manifest's labels can be compared with them."""
    totals.complete = len(present) == len(ds.files)
    try:
        ds.fmt.check_storage(ds.config.storage)
    except ConfigError as exc:
        log.add(None, None, f"cannot read the data files: {exc}")
        totals.complete = False
        return set()
    return {i for i in present if ds.fmt.check_file(ds, i, log, totals)}
