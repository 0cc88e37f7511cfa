"""npy blocks: each example's .npy file and the block's label arrays, their headers read
before the data, never unpickled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ..frame_events import EVENTS, OFFSETS
from .check.record import DatasetRecord
from .check.report import Log, Tally
from .check.values import Totals, check_frame_runs, check_frames, check_labels, non_finite

_NPY_HEADERS = {
    (1, 0): npy_format.read_array_header_1_0,
    (2, 0): npy_format.read_array_header_2_0,
}


def check_file(ds: DatasetRecord, index: int, log: Log, totals: Totals) -> bool:
    """One npy block: nothing in its folder but its files, each example's file, then
    its label arrays."""
    record, first = ds.files[index], ds.first_ids[index]
    _check_members(ds, index, log)
    tally = Tally("features not finite")
    for row in range(record.examples):
        example = first + row
        rel = ds.fmt.example_path(record.path, row, example)
        x = _load_npy(ds.root, rel, example, record.path, log, (ds.shape, ds.dtype))
        if x is not None:
            bad, kinds = non_finite(x[None])
            tally.add(bad, example, rel, *kinds)
            totals.note_constant(x[None], example)
    tally.report(log, record.path)
    if ds.kind == "events" and ds.dense_frames:
        _check_npy_frames(ds, index, log, totals)
    elif ds.kind == "events":
        _check_npy_runs(ds, index, log, totals)
    if ds.kind == "none":
        return False
    where = f"{record.path}/labels.npy"
    labels = _load_npy(ds.root, where, None, record.path, log)
    if labels is None:
        totals.complete = False
        return False
    return check_labels(ds, labels, where, index, log, totals)


def _check_members(ds: DatasetRecord, index: int, log: Log) -> None:
    """Files (or folders) in the block's folder that the block does not hold."""
    record, first = ds.files[index], ds.first_ids[index]
    members = {f"{name}.npy" for name in ds.arrays()} | {
        Path(ds.fmt.example_path(record.path, row, first + row)).name
        for row in range(record.examples)
    }
    entries = sorted((ds.root / record.path).iterdir(), key=lambda e: (not e.is_dir(), e.name))
    for entry in entries:
        if entry.is_dir() or entry.name not in members:
            log.unlisted(f"{record.path}/{entry.name}", record.path, folder=entry.is_dir())


def _check_npy_frames(ds: DatasetRecord, index: int, log: Log, totals: Totals) -> None:
    record = ds.files[index]
    where = f"{record.path}/frame_targets.npy"
    shape = ds.frame_shape(record.examples)
    frames = _load_npy(ds.root, where, None, record.path, log, (shape, np.dtype(np.uint8)))
    if frames is None:
        totals.complete = False
        return
    tally = Tally("frame targets hold values other than 0 and 1")
    check_frames(frames, ds.first_ids[index], where, tally, totals)
    tally.report(log, where)


def _check_npy_runs(ds: DatasetRecord, index: int, log: Log, totals: Totals) -> None:
    record = ds.files[index]
    runs = {}
    for name in (OFFSETS, EVENTS):
        values = _load_npy(ds.root, f"{record.path}/{name}.npy", None, record.path, log)
        if values is None:
            totals.complete = False
            return
        runs[name] = values
    where = f"{record.path}/{EVENTS}.npy"
    check_frame_runs(ds, runs, record.examples, where, log, totals)


def _load_npy(
    root: Path,
    rel: str,
    example: int | None,
    block: str,
    log: Log,
    expect: tuple[tuple[int, ...], np.dtype] | None = None,
) -> np.ndarray | None:
    """An .npy file, never unpickled. Its header (format version 1 or 2) is read first
    and must give the ``expect``ed (shape, dtype) when given. None, and a problem, when
    the file is missing, unreadable or not as expected."""
    try:
        with (root / rel).open("rb") as f:
            version = npy_format.read_magic(f)
            if version not in _NPY_HEADERS:
                raise ValueError(f"npy format version {version[0]}.{version[1]}")
            shape, _, dtype = _NPY_HEADERS[version](f)
            if expect is not None and (shape, dtype) != expect:
                log.add(
                    rel,
                    example,
                    f"holds {dtype} {shape}, expected {expect[1]} {expect[0]}",
                    kind="wrong shape or dtype",
                    scope=block,
                )
                return None
            f.seek(0)
            return np.load(f, allow_pickle=False)
    except FileNotFoundError:
        log.add(rel, example, "missing", kind="missing files", scope=block)
    except (OSError, ValueError, EOFError) as exc:
        log.add(rel, example, f"not a readable .npy file ({exc})", kind="unreadable", scope=block)
    return None
