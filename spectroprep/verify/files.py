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
    check_inside,
    digest_path,
    tree_size,
)
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
    """Every file in the folder is dataset.json, manifest.csv, rejected.csv, a listed
    data file, or a file the format keeps inside a listed data folder (npy block). A
    build journal is named as what an interrupted build left."""
    listed = {record.path: i for i, record in enumerate(ds.files)}
    folders = {str(p) for rel in listed for p in PurePosixPath(rel).parents if str(p) != "."}
    for dirpath, dirnames, filenames in os.walk(ds.root):
        here = Path(dirpath).relative_to(ds.root).as_posix()
        index = listed.get(here)
        members = _folder_members(ds, index) if index is not None else set()
        for name in sorted(dirnames):
            rel = posixpath.join(here, name) if here != "." else name
            if rel not in folders and rel not in listed:
                log.add(rel, None, "folder not part of the dataset", kind="unlisted", scope=here)
                dirnames.remove(name)  # one line for the folder, not one per file in it
        for name in sorted(filenames):
            rel = posixpath.join(here, name) if here != "." else name
            top_level = here == "." and name in (DATASET_JSON, MANIFEST_CSV, REJECTED_CSV)
            if rel == JOURNAL:
                log.add(rel, None, _LEFT_OVER)
            elif not (top_level or rel in listed or name in members):
                log.add(
                    rel,
                    None,
                    "not part of the dataset (dataset.json does not list it)",
                    kind="unlisted",
                    scope=here,
                )


def _folder_members(ds: DatasetRecord, index: int) -> set[str]:
    """Names of the files the format writes in data folder ``index`` (an npy block)."""
    record, first = ds.files[index], ds.first_ids[index]
    names = {
        posixpath.basename(ds.fmt.example_path(record.path, row, first + row))
        for row in range(record.examples)
    }
    return names | {f"{name}.npy" for name in ds.arrays()}
