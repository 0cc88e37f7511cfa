"""The data files dataset.json lists (where the format puts them, inside the folder,
present, with the recorded size and digest), and any file in the folder it does not list."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path, PurePosixPath

from ..dataset.layout import (
    DATASET_JSON,
    JOURNAL,
    MANIFEST_CSV,
    REJECTED_CSV,
    SOURCE_STATISTICS,
    check_inside,
    digest_path,
    tree_size,
)
from ..dataset.source_stats import KEY
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log
from ..errors import DatasetError

_LEFT_OVER = "left over from an interrupted build (run the build again with --resume to finish it)"


def check_files(ds: DatasetRecord, log: Log) -> list[int]:
    """Each listed data file: where the format puts it, inside the folder, present, with
    the recorded size and digest (of the algorithm it names). Returns the indices of
    those present."""
    present = []
    for i, record in enumerate(ds.files):
        rel = record.path
        if rel != ds.fmt.file_name(i):
            log.add(
                rel, None, f"listed as data file {i}, which the format names {ds.fmt.file_name(i)}"
            )
        try:
            path = check_inside(ds.root, rel)
        except DatasetError:
            log.add(rel, None, "listed in dataset.json but leads out of the dataset folder")
            continue
        if not path.exists():
            log.add(rel, None, "listed in dataset.json but missing")
            continue
        present.append(i)
        size = tree_size(path)
        if size != record.bytes:
            log.add(rel, None, f"{size} bytes, dataset.json says {record.bytes}")
        if digest_path(path, record.algorithm) != record.digest:
            log.add(
                rel, None, f"{record.algorithm} differs from dataset.json (changed since the build)"
            )
    return present


def check_unlisted(ds: DatasetRecord, log: Log) -> None:
    """Every file in the folder is dataset.json, manifest.csv, rejected.csv,
    source_statistics.npz (when dataset.json lists it) or a listed data file; what is
    inside a data file that is a folder (an npy block) is the format's to check
    (``Format.check_file``). A build journal is named as what an interrupted build left."""
    listed = {record.path for record in ds.files}
    folders = {str(p) for rel in listed for p in PurePosixPath(rel).parents if str(p) != "."}
    for dirpath, dirnames, filenames in os.walk(ds.root):
        here = Path(dirpath).relative_to(ds.root).as_posix()
        if here in listed:
            dirnames.clear()
            continue
        for name in sorted(dirnames):
            rel = posixpath.join(here, name) if here != "." else name
            if rel not in folders and rel not in listed:
                if here == "." and not _holds_data(ds.root / name):
                    log.note(rel, _USERS + " folder")
                else:
                    log.unlisted(rel, here, folder=True)
                dirnames.remove(name)  # one line for the folder, not one per file in it
        for name in sorted(filenames):
            rel = posixpath.join(here, name) if here != "." else name
            top_level = here == "." and (
                name in (DATASET_JSON, MANIFEST_CSV, REJECTED_CSV)
                or (name == SOURCE_STATISTICS and KEY in ds.info)
            )
            if rel == JOURNAL:
                log.add(rel, None, _LEFT_OVER)
            elif here == "." and not top_level and not _looks_like_data(name):
                log.note(rel, _USERS + " file")
            elif not (top_level or rel in listed):
                log.unlisted(rel, here)


# a README or notes a user keeps beside the data: not the format's, so not checked
_USERS = "not part of the dataset, left alone: a user's"
_DATA_SUFFIXES = {".h5", ".hdf5", ".npy", ".npz", ".csv", ".json", ".tmp", ".part"}


def _looks_like_data(name: str) -> bool:
    """A file at the top that could pass for part of a dataset, and so is a problem."""
    return PurePosixPath(name).suffix.lower() in _DATA_SUFFIXES


def _holds_data(folder: Path) -> bool:
    return any(_looks_like_data(p.name) for p in folder.rglob("*") if p.is_file())
