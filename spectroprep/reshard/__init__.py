"""``spectroprep shard``: re-lay out, convert, shuffle and split a built dataset.

The parent reads the source's dataset.json and manifest (as arrays), plans which
source examples go into which new data file, and runs one task per new file on
an executor (``execute``, by default worker processes): each gathers its examples
from the source files, converts them and writes the file (``parts``), so memory
stays bounded by a few files. The parent then writes each new dataset's
manifest.csv and, last, its dataset.json, whose statistics are recomputed from
what was written: the training split's, in every split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..dataset.frame_events import frame_storage
from ..dataset.layout import (
    DATASET_JSON,
    FileRecord,
    read_dataset_json,
    remove_path,
    tree_size,
)
from ..dataset.manifest_table import ManifestTable, read_manifest_table
from ..dataset.output import output_folder
from ..dataset.source_stats import KEY, read_source_statistics
from ..dataset.storage import get_format
from ..errors import BuildInterrupted, DatasetError, InputError
from ..execute import Executor, choose_executor
from .options import new_config
from .parts import SourceFiles
from .plan import SplitRequest, plan
from .split import parse_ratios, parse_split_map
from .write import Job

__all__ = ["Sharded", "shard"]


@dataclass(frozen=True)
class Sharded:
    """What ``shard`` wrote: each new dataset's folder by split name ("" without a
    split); for a split, the ratios asked (None for a split by column), the shares
    achieved and the split whose statistics all record (None: each its own)."""

    datasets: dict[str, Path]
    ratios: dict[str, float] | None
    shares: dict[str, Any] | None
    statistics_from: str | None


def _source_files(src: Path) -> tuple[dict[str, Any], Config, SourceFiles]:
    if not src.is_dir():
        raise InputError(f"{src}: no such dataset folder")
    info = read_dataset_json(src)
    config = Config.from_recorded(info["config"], str(src / DATASET_JSON))
    files = tuple(FileRecord(**f) for f in info["files"])
    for record in files:
        path = src / record.path
        size = tree_size(path) if path.exists() else None
        if size != record.bytes:
            found = "missing" if size is None else f"{size} bytes, dataset.json says {record.bytes}"
            raise DatasetError(f"{path}: {found} (run spectroprep verify)")
    kind = info["labels"]["kind"]
    bins, frames = info["features"]["shape"]
    shape = (int(bins), int(frames))
    n_classes = len(info["labels"]["classes"])
    storage = frame_storage(info["labels"]) if kind == "events" else None
    return info, config, SourceFiles(src, files, config.storage, shape, kind, storage, n_classes)


def example_sources(src: Path, info: dict[str, Any], table: ManifestTable) -> np.ndarray:
    """The source of each example: as source_statistics.npz records it, or, in a dataset
    built before that file, its source file (the manifest's ``source``)."""
    if KEY in info:
        return read_source_statistics(src, info).example_group
    return table.source.codes.astype(np.int64)


def _check_apart(src: Path, out: Path) -> None:
    a, b = src.resolve(), out.resolve()
    if a == b or b.is_relative_to(a) or a.is_relative_to(b):
        raise InputError(f"{out}: the output must be outside {src}, and {src} outside it")


def _request(
    split: str | None,
    group_by: str,
    stratify: bool,
    split_column: str | None,
    split_map: str | None,
    train_split: str,
) -> SplitRequest | None:
    if split is not None and split_column is not None:
        raise InputError("--split and --split-column exclude each other")
    if split_map is not None and split_column is None:
        raise InputError("--split-map applies to --split-column")
    if split is None and split_column is None:
        if stratify or group_by != "source":
            raise InputError("--stratify and --group-by apply to --split")
        return None
    if split is None:
        if stratify or group_by != "source":
            raise InputError("--stratify and --group-by apply to --split, not --split-column")
        column_map = parse_split_map(split_map) if split_map is not None else None
        return SplitRequest(column=split_column, column_map=column_map, train=train_split)
    return SplitRequest(parse_ratios(split), group_by, stratify, train=train_split)


def shard(
    src: str | Path,
    out: str | Path,
    *,
    format: str | None = None,
    shard_size: int | str | None = None,
    block_size: int | str | None = None,
    chunk_size: int | None = None,
    compression: str | None = None,
    dtype: str | None = None,
    shuffle: bool = False,
    seed: int = 0,
    split: str | None = None,
    group_by: str = "source",
    stratify: bool = False,
    split_column: str | None = None,
    split_map: str | None = None,
    train_split: str = "train",
    jobs: int | None = None,
    executor: Executor | None = None,
    overwrite: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> Sharded:
    """Write the examples of the dataset ``src`` as a new dataset in ``out``.

    Layout: ``format``, ``shard_size`` and ``block_size`` (examples, or bytes as
    "256MB"), ``chunk_size`` (examples per HDF5 chunk), ``compression``, ``dtype``;
    the source's settings where not given. ``shuffle`` orders the examples by a
    permutation drawn with ``seed``. ``split`` ("train=0.8,val=0.1,test=0.1") writes
    one dataset per split into ``out/NAME``, every group of ``group_by`` ("source"
    or a metadata column) in one split, class shares near the ratios when
    ``stratify``; ``split_column`` splits by the values of a manifest column
    instead, one split per value, or as ``split_map`` ("train=1,2,3;val=4;test=5",
    ending ";rest=NAME" to take the values it does not name) merges them. Every
    split records the statistics of ``train_split`` (its own when there is no such
    split). The data files are written by ``executor`` or, instead,
    by ``jobs`` worker processes (default: one per core). Returns the datasets written.
    """
    src, out = Path(src), Path(out)
    request = _request(split, group_by, stratify, split_column, split_map, train_split)
    info, src_config, files = _source_files(src)
    _check_apart(src, out)
    config = new_config(
        src_config,
        files.shape,
        format=format,
        shard_size=shard_size,
        block_size=block_size,
        chunk_size=chunk_size,
        compression=compression,
        dtype=dtype,
    )
    table = read_manifest_table(src, info)
    reader = get_format(src_config.storage.format).Reader(
        src, list(files.files), files.storage, verify_checksums=True
    )
    try:
        planned = plan(
            table,
            files,
            reader.labels,
            request,
            shuffle=shuffle,
            seed=seed,
            classes=info["labels"]["classes"],
        )
    finally:
        reader.close()
    job = Job(
        src=src,
        out=out,
        info=info,
        files=files,
        config=config,
        table=table,
        example_source=example_sources(src, info, table),
        planned=planned,
        request=request,
        shuffle=shuffle,
        seed=seed,
        command=command,
    )
    existed = out.exists()
    replacing = False
    try:
        with output_folder(out, overwrite) as replacing:
            try:
                job.write(choose_executor(jobs, executor, [SourceFiles.__module__]), progress)
            except BaseException:
                if not replacing:
                    _remove_new(out, existed)
                raise
    except KeyboardInterrupt:
        kept = "the earlier dataset is back in place" if replacing else "nothing was kept"
        raise BuildInterrupted(f"interrupted; {kept} in {out}") from None
    ratios = request.ratios if request is not None else None
    datasets = dict(zip(job.names, job.folders, strict=True))
    return Sharded(datasets, ratios, planned.shares, job.train)


def _remove_new(out: Path, existed: bool) -> None:
    """Delete what a failed shard wrote into ``out`` (empty, or absent, before)."""
    if not existed:
        remove_path(out)
    elif out.is_dir():
        for entry in out.iterdir():
            remove_path(entry)
