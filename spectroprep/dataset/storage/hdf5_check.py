"""HDF5 shards: attributes, members, example ids, the layout and filters of each chunked
array, the index of row offsets in the userblock against HDF5's own records, and every
value read once, chunk by chunk, so that a chunk failing its checksum is found and
named."""

from __future__ import annotations

import functools
import io
import json
import math
import os
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from ...config import StorageConfig
from ...errors import DatasetError
from ..frame_events import EVENTS, OFFSETS
from ..layout import FORMAT_NAME, FORMAT_VERSION
from .check.record import DatasetRecord
from .check.report import Log, Tally
from .check.values import Totals, check_frame_runs, check_frames, check_labels, non_finite
from .hdf5_codecs import compression_options
from .hdf5_index import ShardIndex, index_of, read_index

_READ_BYTES = 8 << 20  # bytes of an HDF5 array read at once (whole chunks)


def check_file(ds: DatasetRecord, index: int, log: Log, totals: Totals) -> bool:
    """One HDF5 shard: attributes, datasets, layout, ids, and every value read once."""
    record = ds.files[index]
    rel, n, first = record.path, record.examples, ds.first_ids[index]
    try:
        h5 = h5py.File(ds.root / rel, "r")
    except OSError as exc:
        log.add(rel, None, f"HDF5 cannot open it ({exc})")
        totals.complete = False
        return False
    with h5:
        _check_attrs(ds, h5.attrs, rel, log)
        _check_index(ds, h5, rel, log)
        wanted = {"features", "example_id", *ds.arrays()}
        for name in sorted(set(h5) - wanted):
            log.add(rel, None, f"unexpected member /{name}")
        arrays = {}
        for name in sorted(wanted):
            if isinstance(h5.get(name), h5py.Dataset):
                arrays[name] = h5[name]
            else:
                log.add(rel, None, f"no /{name} dataset")
        if "example_id" in arrays:
            _check_ids(arrays["example_id"], n, first, rel, log)
        if "features" in arrays:
            _check_h5_features(ds, arrays["features"], index, log, totals)
        if "frame_targets" in arrays:
            _check_h5_frames(ds, arrays["frame_targets"], index, log, totals)
        if ds.kind == "events" and not ds.dense_frames:
            _check_h5_runs(ds, arrays, index, log, totals)
        if "labels" not in arrays:
            totals.complete = False
            return False
        try:
            labels = np.asarray(arrays["labels"][()])
        except OSError as exc:
            log.add(rel, None, f"/labels cannot be read ({exc})")
            totals.complete = False
            return False
        return check_labels(ds, labels, rel, index, log, totals)


def _check_index(ds: DatasetRecord, h5: h5py.File, rel: str, log: Log) -> None:
    """The userblock's index of row offsets, which readers trust, against HDF5's own
    chunk records; a shard written before the index existed gets a warning."""
    fd = os.open(ds.root / rel, os.O_RDONLY)
    try:
        stored = read_index(fd, rel)
    except (DatasetError, OSError) as exc:
        log.add(rel, None, f"unreadable index of row offsets ({exc})")
        return
    finally:
        os.close(fd)
    if stored is None:
        log.warn(
            rel,
            None,
            "no index of row offsets (an earlier spectroprep wrote it): readers open it "
            "slowly; `spectroprep shard` rewrites it with one",
            kind="no index of row offsets",
        )
        return
    actual = index_of(h5)
    if _index_fields(stored) != _index_fields(actual):
        log.add(rel, None, "its index of row offsets disagrees with HDF5's chunk records")


def _index_fields(index: ShardIndex) -> tuple[Any, ...]:
    arrays = tuple(
        (name, a.offsets.tolist(), a.chunk_rows, a.row_bytes)
        for name, a in sorted(index.arrays.items())
    )
    labels = (index.labels_at, index.labels_dtype.itemsize, index.labels_columns)
    return arrays, labels if index.labels_at >= 0 else None


def _expected_attrs(ds: DatasetRecord) -> dict[str, Any]:
    """The attributes a shard of this dataset carries (describe.shard_attrs)."""
    attrs: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "label_kind": ds.kind,
        "classes": json.dumps(ds.classes),
    }
    tool = ds.info.get("provenance", {}).get("tool")
    if tool is not None:
        attrs["tool"] = tool
    for section, values in ds.info["config"].items():
        for key, value in values.items():
            attrs[f"{section}.{key}"] = json.dumps(value) if isinstance(value, list) else value
    return attrs


def _check_attrs(ds: DatasetRecord, attrs: Any, rel: str, log: Log) -> None:
    for key, want in _expected_attrs(ds).items():
        if key not in attrs:
            log.add(rel, None, f"attribute {key} is missing", kind="attributes")
            continue
        got = attrs[key]
        got = got.item() if isinstance(got, np.generic) else got
        got = got.tolist() if isinstance(got, np.ndarray) else got
        got = got.decode(errors="replace") if isinstance(got, bytes) else got
        if got != want:
            log.add(
                rel,
                None,
                f"attribute {key} is {got!r}, dataset.json records {want!r}",
                kind="attributes",
            )


def _check_ids(dset: h5py.Dataset, n: int, first: int, rel: str, log: Log) -> None:
    if dset.shape != (n,) or dset.dtype != np.int64:
        log.add(rel, None, f"/example_id is {dset.dtype} {dset.shape}, expected int64 ({n},)")
        return
    try:
        ids = dset[()]
    except OSError as exc:
        log.add(rel, None, f"/example_id cannot be read ({exc})")
        return
    wrong = np.flatnonzero(ids != np.arange(first, first + n))
    if wrong.size:
        row = int(wrong[0])
        log.add(rel, first + row, f"/example_id holds {ids[row]} ({wrong.size} row(s) wrong)")


def _filters(dset: h5py.Dataset) -> tuple[tuple[int, str, tuple[int, ...]], ...]:
    """(code, name, parameters) of each filter of a dataset, in pipeline order."""
    plist = dset.id.get_create_plist()
    filters = (plist.get_filter(k) for k in range(plist.get_nfilters()))
    return tuple((code, name.decode(), tuple(values)) for code, _, values, name in filters)


@functools.lru_cache(maxsize=32)
def _expected_filters(
    storage: StorageConfig, shape: tuple[int, ...], dtype: str, chunks: tuple[int, ...]
) -> tuple[tuple[int, str, tuple[int, ...]], ...]:
    """The filters the writer gives such an array, made by h5py in memory from the same
    options: codecs that adapt their parameters to the chunk (Blosc2 records its size)
    are then compared exactly."""
    with h5py.File(io.BytesIO(), "w") as h5:
        dset = h5.create_dataset(
            "x",
            shape=shape,
            dtype=dtype,
            chunks=chunks,
            fletcher32=True,
            **compression_options(storage),
        )
        return _filters(dset)


def _show(filters: tuple[tuple[int, str, tuple[int, ...]], ...]) -> str:
    return ", ".join(f"{name}{list(values) if values else ''}" for _, name, values in filters)


def _check_layout(
    ds: DatasetRecord,
    dset: h5py.Dataset,
    rel: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    log: Log,
) -> bool:
    """Shape, dtype, chunks and filters of a chunked array (/features, /frame_targets).
    False when the shape is wrong: its rows cannot be matched with examples."""
    name = dset.name
    if dset.shape != shape:
        log.add(rel, None, f"{name} has shape {dset.shape}, expected {shape}")
        return False
    if dset.dtype != dtype:
        log.add(rel, None, f"{name} is {dset.dtype}, expected {dtype}")
    chunks = (min(ds.config.storage.chunk_examples, shape[0]), *shape[1:])
    if dset.chunks != chunks:
        log.add(rel, None, f"{name} is chunked {dset.chunks}, expected {chunks}")
        return True
    got = _filters(dset)
    want = _expected_filters(ds.config.storage, shape, dset.dtype.str, chunks)
    if got != want:
        log.add(
            rel,
            None,
            f"{name} has filters [{_show(got)}], storage config gives [{_show(want)}]",
        )
    return True


def _scan(dset: h5py.Dataset, rel: str, first: int, log: Log) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of a chunked array, read whole chunks at a time. A chunk that
    fails its fletcher32 checksum (or cannot be decompressed) is one problem, naming the
    examples it holds, and reading carries on after it."""
    n = dset.shape[0]
    step = dset.chunks[0] if dset.chunks else 1
    chunk_bytes = step * dset.dtype.itemsize * math.prod(dset.shape[1:])
    per_read = max(1, _READ_BYTES // max(chunk_bytes, 1)) * step
    for lo in range(0, n, per_read):
        hi = min(n, lo + per_read)
        try:
            block = dset[lo:hi]
        except OSError:
            # one read spans several chunks: find the bad ones chunk by chunk
            yield from _scan_chunks(dset, lo, hi, step, rel, first, log)
            continue
        yield lo, block


def _scan_chunks(
    dset: h5py.Dataset, start: int, stop: int, step: int, rel: str, first: int, log: Log
) -> Iterator[tuple[int, np.ndarray]]:
    for lo in range(start, stop, step):
        hi = min(stop, lo + step)
        try:
            block = dset[lo:hi]
        except OSError as exc:
            ids = f"examples {first + lo}..{first + hi - 1}" if hi - lo > 1 else "example"
            log.add(
                rel,
                first + lo,
                f"{dset.name} chunk ({ids}) fails its checksum ({exc})",
                kind=f"{dset.name} chunks failing their checksum",
            )
            continue
        yield lo, block


def _check_h5_features(
    ds: DatasetRecord, dset: h5py.Dataset, index: int, log: Log, totals: Totals
) -> None:
    record, first = ds.files[index], ds.first_ids[index]
    if not _check_layout(ds, dset, record.path, (record.examples, *ds.shape), ds.dtype, log):
        return
    tally = Tally("features not finite")
    for lo, block in _scan(dset, record.path, first, log):
        bad, kinds = non_finite(block)
        tally.add(bad, first + lo, record.path, *kinds)
        totals.note_constant(block, first + lo)
    tally.report(log, record.path)


def _check_h5_frames(
    ds: DatasetRecord, dset: h5py.Dataset, index: int, log: Log, totals: Totals
) -> None:
    record, first = ds.files[index], ds.first_ids[index]
    shape = ds.frame_shape(record.examples)
    if not _check_layout(ds, dset, record.path, shape, np.dtype(np.uint8), log):
        totals.complete = False
        return
    tally = Tally("frame targets hold values other than 0 and 1")
    for lo, block in _scan(dset, record.path, first, log):
        check_frames(block, first + lo, record.path, tally, totals)
    tally.report(log, record.path)


def _check_h5_runs(
    ds: DatasetRecord, arrays: dict[str, h5py.Dataset], index: int, log: Log, totals: Totals
) -> None:
    """/frame_events and /frame_event_offsets (their absence is reported already)."""
    record = ds.files[index]
    try:
        runs = {name: np.asarray(arrays[name][()]) for name in (OFFSETS, EVENTS)}
    except KeyError:
        totals.complete = False
        return
    except OSError as exc:
        log.add(record.path, None, f"the frame targets' runs cannot be read ({exc})")
        totals.complete = False
        return
    check_frame_runs(ds, runs, record.examples, record.path, log, totals)
