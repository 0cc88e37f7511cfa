"""``spectroprep verify``: prove that a built dataset is complete and uncorrupted.

Everything is checked through the on-disk format (layout, storage, config):
dataset.json, the data files with their sizes and checksums, the contents of
each HDF5 shard or npy block, and manifest.csv. Only ``recompute`` runs the
feature code, on a random sample of examples. Problems are collected, never
raised: each names its file (relative to the dataset folder) and, where it
applies, the example id.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import json
import math
import os
import posixpath
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path, PurePosixPath
from typing import Any

import h5py
import numpy as np
from numpy.lib import format as npy_format
from threadpoolctl import threadpool_limits

from .config import Config, StorageConfig
from .errors import ConfigError, DatasetError, InputError
from .layout import (
    DATASET_JSON,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_COLUMNS,
    MANIFEST_CSV,
    REJECTED_COLUMNS,
    REJECTED_CSV,
    FileRecord,
    check_inside,
    read_dataset_json,
    sha256_path,
    tree_size,
)
from .naming import natural_key
from .storage import Format, Reader, get_format
from .storage.hdf5 import compression_options

LABEL_KINDS = ("single", "per-window", "multi", "events", "none")
_CLASS_IDS = ("single", "per-window")  # labels (N,) int64; the others (N, C) uint8 multi-hot
_SEPARATOR = ";"  # between the class names of one manifest label (README, Labels)
_LIMIT = 10  # problems of one kind listed per file; the rest are counted in one line
_READ_BYTES = 8 << 20  # bytes of an HDF5 array read at once (whole chunks)
_RTOL = 1e-5  # recomputed features: allowed difference, relative to the example's range
_NPY_HEADERS = {
    (1, 0): npy_format.read_array_header_1_0,
    (2, 0): npy_format.read_array_header_2_0,
}


@dataclass(frozen=True)
class Problem:
    """Something wrong with a dataset (or, as a warning, something not checked)."""

    file: str | None  # relative to the dataset folder, with ":line" for manifest rows
    example: int | None  # example id
    message: str

    def line(self) -> str:
        """``file: example N: message``, leaving out what is unknown."""
        example = None if self.example is None else f"example {self.example}"
        return ": ".join(part for part in (self.file, example, self.message) if part)


@dataclass
class Report:
    """What ``verify`` found: the dataset's size, its problems, and warnings."""

    examples: int
    files: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found (warnings do not count)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: each problem's fields plus its ``line``."""

        def entries(items: list[Problem]) -> list[dict[str, Any]]:
            return [{**asdict(p), "line": p.line()} for p in items]

        return {
            "ok": self.ok,
            "examples": self.examples,
            "files": self.files,
            "problems": entries(self.problems),
            "warnings": entries(self.warnings),
        }


class _Log:
    """Collects problems and warnings; lists at most _LIMIT of one kind per file, so a
    corrupted shard of 10,000 examples gives a few lines, not 10,000."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._seen: Counter[tuple[str | None, str]] = Counter()

    def add(
        self,
        file: str | None,
        example: int | None,
        message: str,
        *,
        kind: str | None = None,
        scope: str | None = None,
    ) -> None:
        """Record a problem; ``kind`` and ``scope`` (default: the message and the file)
        decide which problems count as repeats of each other."""
        key = (scope or file, kind or message)
        self._seen[key] += 1
        if self._seen[key] <= _LIMIT:
            self.problems.append(Problem(file, example, message))

    def warn(self, file: str | None, example: int | None, message: str) -> None:
        self.warnings.append(Problem(file, example, message))

    def report(self, examples: int, files: int) -> Report:
        more = [
            Problem(scope, None, f"{n - _LIMIT} more problem(s) of this kind: {kind}")
            for (scope, kind), n in self._seen.items()
            if n > _LIMIT
        ]
        return Report(examples, files, self.problems + more, self.warnings)


@dataclass
class _Tally:
    """Examples of one file that fail one value check: one problem, at the first of them."""

    what: str
    count: int = 0
    first: int | None = None
    where: str | None = None
    notes: set[str] = field(default_factory=set)

    def add(self, bad: np.ndarray, first_id: int, where: str, *notes: str) -> None:
        """``bad``: one flag per example, the first having id ``first_id``."""
        n = int(np.count_nonzero(bad))
        if not n:
            return
        self.count += n
        self.notes.update(notes)
        if self.first is None:
            self.first, self.where = first_id + int(np.argmax(bad)), where

    def report(self, log: _Log, scope: str) -> None:
        if self.first is None:
            return
        message = self.what + (f" ({', '.join(sorted(self.notes))})" if self.notes else "")
        if self.count > 1:
            message += f"; {self.count - 1} more example(s) in {scope}"
        log.add(self.where, self.first, message)


def _non_finite(block: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per example of ``block`` (n, ...): has it a NaN or inf; and which of the two occur."""
    bad = ~np.isfinite(block).reshape(len(block), -1).all(axis=1)
    if not bad.any():
        return bad, []
    values = block[bad]
    return bad, [
        name for name, test in (("NaN", np.isnan), ("inf", np.isinf)) if test(values).any()
    ]


@dataclass(frozen=True)
class _Dataset:
    """A dataset as its dataset.json describes it."""

    root: Path
    info: dict[str, Any]
    config: Config
    fmt: Format
    files: list[FileRecord]
    shape: tuple[int, int]  # (bins, frames) of one example
    kind: str
    classes: list[str]
    first_ids: list[int]  # id of each file's first example

    @property
    def examples(self) -> int:
        return sum(f.examples for f in self.files)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.storage.dtype)

    def locate(self, example: int) -> tuple[int, int]:
        """(data file, row in it) of example id ``example`` (1..examples)."""
        file = bisect.bisect_right(self.first_ids, example) - 1
        return file, example - self.first_ids[file]

    def label_shape(self, n: int) -> tuple[int, ...]:
        return (n,) if self.kind in _CLASS_IDS else (n, len(self.classes))

    def label_dtype(self) -> np.dtype:
        return np.dtype(np.int64 if self.kind in _CLASS_IDS else np.uint8)

    def arrays(self) -> list[str]:
        """The label arrays each data file holds: "labels", "frame_targets"."""
        return [
            *(["labels"] if self.kind != "none" else []),
            *(["frame_targets"] if self.kind == "events" else []),
        ]


@dataclass
class _Totals:
    """Label counts over all data files, compared with dataset.json's counts."""

    per_class: np.ndarray
    active_frames: np.ndarray
    complete: bool = True  # False once a label array is missing or unreadable

    def compare(self, ds: _Dataset, log: _Log) -> None:
        if not self.complete or ds.kind == "none":
            return
        counts = ds.info.get("counts", {})
        found = {"per_class": self.per_class}
        if ds.kind == "events":
            found["active_frames"] = self.active_frames
        for name, values in found.items():
            recorded = counts.get(name, {})
            for cls, value in zip(ds.classes, values.tolist(), strict=True):
                if recorded.get(cls) != value:
                    log.add(
                        DATASET_JSON,
                        None,
                        f"counts.{name}[{cls!r}] is {recorded.get(cls)!r}, "
                        f"the label arrays hold {value}",
                        kind=f"counts.{name}",
                    )


def verify(path: str | Path, recompute: int = 0, seed: int = 0) -> Report:
    """Check the dataset at ``path``: dataset.json, every data file (listed, unmodified,
    readable, well-formed, finite features, valid labels), nothing unlisted, and
    manifest.csv. ``recompute`` examples, picked at random with ``seed``, are also
    recomputed from their source audio and compared with what is stored."""
    log = _Log()
    ds = _load(Path(path), log)
    if ds is None:
        return log.report(0, 0)
    present = _check_files(ds, log)
    _check_unlisted(ds, log)
    totals = _Totals(
        np.zeros(len(ds.classes), dtype=np.int64), np.zeros(len(ds.classes), dtype=np.int64)
    )
    labelled = _check_contents(ds, present, log, totals)
    totals.compare(ds, log)
    wanted = _sample(ds.examples, recompute, seed)
    picked = _check_manifest(ds, labelled, wanted, log)
    _check_rejected(ds, log)
    if picked:
        _recompute(ds, picked, log)
    return log.report(ds.examples, len(ds.files))


# -- dataset.json ----------------------------------------------------------------


def _strip(message: str, *prefixes: Path) -> str:
    """An error message without its leading absolute path: problems name files relatively."""
    for prefix in prefixes:
        message = message.removeprefix(f"{prefix}: ")
    return message


def _load(root: Path, log: _Log) -> _Dataset | None:
    """The dataset's description, or None (and a problem) when dataset.json is unusable."""
    if not root.is_dir():
        log.add(None, None, f"{root}: no such folder")
        return None
    try:
        info = read_dataset_json(root)
    except DatasetError as exc:
        log.add(DATASET_JSON, None, _strip(str(exc), root / DATASET_JSON, root))
        return None
    try:
        config = Config.from_recorded(info["config"], DATASET_JSON)
        fmt = get_format(config.storage.format)
        files = [FileRecord(**f) for f in info["files"]]
        bins, frames = info["features"]["shape"]
        dtype = info["features"]["dtype"]
        kind, classes = info["labels"]["kind"], list(info["labels"]["classes"])
    except (ConfigError, DatasetError) as exc:
        log.add(DATASET_JSON, None, _strip(str(exc), Path(DATASET_JSON)))
        return None
    except (KeyError, TypeError, ValueError) as exc:
        log.add(DATASET_JSON, None, f"malformed ({type(exc).__name__}: {exc})")
        return None
    malformed = [
        f"files[{i}]"
        for i, f in enumerate(files)
        if not (isinstance(f.path, str) and _whole(f.examples, 1) and _whole(f.bytes, 0))
    ]
    if not _whole(bins, 1) or not _whole(frames, 1):
        malformed.append("features.shape")
    if kind not in LABEL_KINDS or not all(isinstance(c, str) for c in classes):
        malformed.append("labels")
    if malformed:
        log.add(DATASET_JSON, None, f"malformed: {', '.join(malformed)}")
        return None
    first_ids = list(accumulate((f.examples for f in files), initial=1))[:-1]
    ds = _Dataset(root, info, config, fmt, files, (bins, frames), kind, classes, first_ids)
    if dtype != config.storage.dtype:
        log.add(DATASET_JSON, None, f"features.dtype {dtype!r} but storage.dtype {ds.dtype}")
    counts = info.get("counts", {})
    for key, value in (("examples", ds.examples), ("files", len(files))):
        if counts.get(key) != value:
            log.add(DATASET_JSON, None, f"counts.{key} is {counts.get(key)!r}, files lists {value}")
    return ds


def _whole(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


# -- data files: listed, present, unmodified; nothing else -------------------------


def _check_files(ds: _Dataset, log: _Log) -> list[int]:
    """Each listed data file: where the format puts it, inside the folder, present, with
    the recorded size and sha256. Returns the indices of those present."""
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
        if sha256_path(path) != record.sha256:
            log.add(rel, None, "sha256 differs from dataset.json (changed since the build)")
    return present


def _check_unlisted(ds: _Dataset, log: _Log) -> None:
    """Every file in the folder is dataset.json, manifest.csv, rejected.csv, a listed
    data file, or a file the format keeps inside a listed data folder (npy block)."""
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
            if not (top_level or rel in listed or name in members):
                log.add(
                    rel,
                    None,
                    "not part of the dataset (dataset.json does not list it)",
                    kind="unlisted",
                    scope=here,
                )


def _folder_members(ds: _Dataset, index: int) -> set[str]:
    """Names of the files the format writes in data folder ``index`` (an npy block)."""
    record, first = ds.files[index], ds.first_ids[index]
    names = {
        posixpath.basename(ds.fmt.example_path(record.path, row, first + row))
        for row in range(record.examples)
    }
    return names | {f"{name}.npy" for name in ds.arrays()}


# -- data file contents ---------------------------------------------------------


def _check_contents(ds: _Dataset, present: list[int], log: _Log, totals: _Totals) -> set[int]:
    """Check every present data file; returns those whose labels can be read and are
    valid, so that the manifest's labels can be compared with them."""
    totals.complete = len(present) == len(ds.files)
    if ds.config.storage.format == "hdf5":
        try:
            compression_options(ds.config.storage)  # the codec's plugin is needed to read
        except ConfigError as exc:
            log.add(None, None, f"cannot read the shards: {exc}")
            totals.complete = False
            return set()
        check = _check_shard
    else:
        check = _check_block
    return {i for i in present if check(ds, i, log, totals)}


def _check_labels(
    ds: _Dataset, labels: np.ndarray, where: str, index: int, log: _Log, totals: _Totals
) -> bool:
    """Shape, dtype and values of the labels of data file ``index``; False if unusable."""
    n, first = ds.files[index].examples, ds.first_ids[index]
    shape, dtype = ds.label_shape(n), ds.label_dtype()
    if labels.shape != shape or labels.dtype != dtype:
        log.add(
            where,
            None,
            f"labels are {labels.dtype} {labels.shape}, expected {dtype} {shape} "
            f"for label kind {ds.kind!r}",
        )
        totals.complete = False
        return False
    c = len(ds.classes)
    if ds.kind in _CLASS_IDS:
        # -1 marks an unlabelled example; the manifest check wants an empty label there
        bad = (labels < -1) | (labels >= c)
        what = f"label {labels[np.argmax(bad)]} is not a class id (0..{c - 1}, or -1 for none)"
    else:
        bad = np.asarray((labels > 1).any(axis=1))
        what = "multi-hot label holds values other than 0 and 1"
    tally = _Tally(what)
    tally.add(bad, first, where)
    tally.report(log, where)
    if bad.any():
        totals.complete = False
        return False
    if ds.kind in _CLASS_IDS:
        totals.per_class += np.bincount(labels[labels >= 0], minlength=c)
    else:
        totals.per_class += labels.sum(axis=0, dtype=np.int64)
    return True


def _check_frames(
    block: np.ndarray, first_id: int, where: str, tally: _Tally, totals: _Totals
) -> None:
    """Frame targets of some examples: 0 or 1 only; their active frames are counted."""
    bad = np.asarray((block > 1).reshape(len(block), -1).any(axis=1))
    tally.add(bad, first_id, where)
    if bad.any():
        totals.complete = False
    else:
        totals.active_frames += block.sum(axis=(0, 1), dtype=np.int64)


# -- HDF5 shards


def _check_shard(ds: _Dataset, index: int, log: _Log, totals: _Totals) -> bool:
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
            _check_h5_features(ds, arrays["features"], index, log)
        if "frame_targets" in arrays:
            _check_h5_frames(ds, arrays["frame_targets"], index, log, totals)
        if "labels" not in arrays:
            totals.complete = False
            return False
        try:
            labels = np.asarray(arrays["labels"][()])
        except OSError as exc:
            log.add(rel, None, f"/labels cannot be read ({exc})")
            totals.complete = False
            return False
        return _check_labels(ds, labels, rel, index, log, totals)


def _expected_attrs(ds: _Dataset) -> dict[str, Any]:
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


def _check_attrs(ds: _Dataset, attrs: Any, rel: str, log: _Log) -> None:
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


def _check_ids(dset: h5py.Dataset, n: int, first: int, rel: str, log: _Log) -> None:
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
    ds: _Dataset, dset: h5py.Dataset, rel: str, shape: tuple[int, ...], dtype: np.dtype, log: _Log
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


def _scan(dset: h5py.Dataset, rel: str, first: int, log: _Log) -> Iterator[tuple[int, np.ndarray]]:
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
    dset: h5py.Dataset, start: int, stop: int, step: int, rel: str, first: int, log: _Log
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


def _check_h5_features(ds: _Dataset, dset: h5py.Dataset, index: int, log: _Log) -> None:
    record, first = ds.files[index], ds.first_ids[index]
    if not _check_layout(ds, dset, record.path, (record.examples, *ds.shape), ds.dtype, log):
        return
    tally = _Tally("features not finite")
    for lo, block in _scan(dset, record.path, first, log):
        bad, kinds = _non_finite(block)
        tally.add(bad, first + lo, record.path, *kinds)
    tally.report(log, record.path)


def _check_h5_frames(
    ds: _Dataset, dset: h5py.Dataset, index: int, log: _Log, totals: _Totals
) -> None:
    record, first = ds.files[index], ds.first_ids[index]
    shape = (record.examples, ds.shape[1], len(ds.classes))
    if not _check_layout(ds, dset, record.path, shape, np.dtype(np.uint8), log):
        totals.complete = False
        return
    tally = _Tally("frame targets hold values other than 0 and 1")
    for lo, block in _scan(dset, record.path, first, log):
        _check_frames(block, first + lo, record.path, tally, totals)
    tally.report(log, record.path)


# -- npy blocks


def _check_block(ds: _Dataset, index: int, log: _Log, totals: _Totals) -> bool:
    """One npy block: each example's file, then its label arrays."""
    record, first = ds.files[index], ds.first_ids[index]
    tally = _Tally("features not finite")
    for row in range(record.examples):
        example = first + row
        rel = ds.fmt.example_path(record.path, row, example)
        x = _load_npy(ds.root, rel, example, record.path, log, (ds.shape, ds.dtype))
        if x is not None:
            bad, kinds = _non_finite(x[None])
            tally.add(bad, example, rel, *kinds)
    tally.report(log, record.path)
    if ds.kind == "events":
        _check_npy_frames(ds, index, log, totals)
    if ds.kind == "none":
        return False
    where = f"{record.path}/labels.npy"
    labels = _load_npy(ds.root, where, None, record.path, log)
    if labels is None:
        totals.complete = False
        return False
    return _check_labels(ds, labels, where, index, log, totals)


def _check_npy_frames(ds: _Dataset, index: int, log: _Log, totals: _Totals) -> None:
    record = ds.files[index]
    where = f"{record.path}/frame_targets.npy"
    shape = (record.examples, ds.shape[1], len(ds.classes))
    frames = _load_npy(ds.root, where, None, record.path, log, (shape, np.dtype(np.uint8)))
    if frames is None:
        totals.complete = False
        return
    tally = _Tally("frame targets hold values other than 0 and 1")
    _check_frames(frames, ds.first_ids[index], where, tally, totals)
    tally.report(log, where)


def _load_npy(
    root: Path,
    rel: str,
    example: int | None,
    block: str,
    log: _Log,
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


# -- manifest.csv -----------------------------------------------------------------


class _StoredLabels:
    """The stored labels of one data file at a time, as manifest label text."""

    def __init__(self, ds: _Dataset, usable: set[int]) -> None:
        self._ds, self._usable = ds, usable
        self._reader: Reader | None = None  # opened on first use: unlabelled data needs none
        self._file = -1
        self._labels = np.zeros(0)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def text(self, file: int, row: int) -> str | None:
        """The manifest label example ``row`` of ``file`` should have; None if unknown."""
        if file not in self._usable:
            return None
        if file != self._file:
            try:
                if self._reader is None:
                    ds = self._ds
                    self._reader = ds.fmt.Reader(ds.root, ds.files, ds.config.storage)
                self._labels = self._reader.labels(file)
            except (OSError, ValueError, KeyError):
                self._usable.discard(file)
                return None
            self._file = file
        value = self._labels[row]
        classes = self._ds.classes
        if value.ndim == 0:
            return classes[int(value)] if value >= 0 else ""
        return _SEPARATOR.join(classes[k] for k in np.flatnonzero(value))


class _ManifestCheck:
    """Checks manifest.csv row by row; per-id state is one integer array, not rows."""

    def __init__(self, ds: _Dataset, labels: _StoredLabels, wanted: set[int], log: _Log) -> None:
        self.ds, self.labels, self.wanted, self.log = ds, labels, wanted, log
        self.line_of = np.zeros(ds.examples + 1, dtype=np.int64)  # 0: no row yet
        self.rows = 0
        self.last_id = 0
        self.last_path = ""
        self.last_key: Any = None
        self.files = {record.path: i for i, record in enumerate(ds.files)}
        self.per_file: Counter[int] = Counter()
        self.classes = set(ds.classes)
        self.picked: dict[int, tuple[str, float]] = {}  # recompute: id -> (source, start)

    def add(self, where: str, example: int | None, message: str, kind: str) -> None:
        self.log.add(where, example, message, kind=kind, scope=MANIFEST_CSV)

    def row(self, line: int, fields: list[str]) -> None:
        self.rows += 1
        where = f"{MANIFEST_CSV}:{line}"
        if len(fields) != len(MANIFEST_COLUMNS):
            self.add(
                where, None, f"{len(fields)} fields, expected {len(MANIFEST_COLUMNS)}", "fields"
            )
            return
        text_id, path, text_index, label, source, text_start, text_duration = fields
        try:
            example, index = int(text_id), int(text_index)
            start, duration = float(text_start), float(text_duration)
        except ValueError:
            self.add(
                where, None, "id and index must be integers, start and duration numbers", "numbers"
            )
            return
        file = self.files.get(path, self.files.get(posixpath.dirname(path)))
        if file is not None:
            self.per_file[file] += 1
        if not self._check_id(where, line, example):
            return
        file, row = self.ds.locate(example)
        self._check_path(where, example, path, index, file, row)
        self._check_label(where, example, label, file, row)
        length = self.ds.config.segment.length
        if not (start >= 0 and 0 < duration <= length + 1e-6):
            self.add(
                where,
                example,
                f"start {text_start} s and duration {text_duration} s are not a "
                f"window of at most {length} s",
                "times",
            )
        if example in self.wanted:
            self.picked[example] = (source, start)

    def _check_id(self, where: str, line: int, example: int) -> bool:
        n = self.ds.examples
        if not 1 <= example <= n:
            self.add(where, example, f"id outside 1..{n}", "ids out of range")
            return False
        if self.line_of[example]:
            self.add(where, example, f"repeats line {self.line_of[example]}", "repeated ids")
            return False
        self.line_of[example] = line
        if example != self.last_id + 1:
            self.add(
                where, example, f"follows id {self.last_id}: ids go 1..{n} in order", "id order"
            )
        self.last_id = example
        return True

    def _check_path(
        self, where: str, example: int, path: str, index: int, file: int, row: int
    ) -> None:
        record = self.ds.files[file]
        expected = self.ds.fmt.example_path(record.path, row, example)
        if path != expected:
            try:
                check_inside(self.ds.root, path)
            except DatasetError:
                self.add(where, example, f"path {path} leads out of the dataset folder", "paths")
                return
            self.add(where, example, f"path {path}, but the example is in {expected}", "paths")
            return
        if index != row:
            self.add(
                where, example, f"index {index}, but the example is row {row} of {path}", "index"
            )
        if path != self.last_path:
            key = natural_key(path)
            if self.last_key is not None and key < self.last_key:
                self.add(
                    where,
                    example,
                    f"path {path} sorts before {self.last_path} above it (natural order)",
                    "order",
                )
            self.last_path, self.last_key = path, key

    def _check_label(self, where: str, example: int, label: str, file: int, row: int) -> None:
        if self.ds.kind == "none":
            if label:
                self.add(where, example, f"label {label!r} in an unlabelled dataset", "labels")
            return
        unknown = [name for name in label.split(_SEPARATOR) if label and name not in self.classes]
        if unknown:
            self.add(where, example, f"label {unknown[0]!r} is not in the class list", "labels")
            return
        stored = self.labels.text(file, row)
        if stored is not None and stored != label:
            self.add(
                where,
                example,
                f"label {label!r}, but {self.ds.files[file].path} stores {stored!r}",
                "labels",
            )

    def finish(self) -> None:
        n = self.ds.examples
        if self.rows != n:
            self.add(
                MANIFEST_CSV, None, f"{self.rows} rows, dataset.json counts {n} examples", "rows"
            )
        missing = np.flatnonzero(self.line_of[1:] == 0) + 1
        if missing.size:
            more = f" (nor for {missing.size - 1} more id(s))" if missing.size > 1 else ""
            self.add(MANIFEST_CSV, int(missing[0]), f"no row{more}", "missing ids")
        for i, record in enumerate(self.ds.files):
            if self.per_file[i] != record.examples:
                self.add(
                    MANIFEST_CSV,
                    None,
                    f"{self.per_file[i]} rows name {record.path}, "
                    f"which dataset.json says holds {record.examples} examples",
                    "rows per file",
                )


def _check_manifest(
    ds: _Dataset, labelled: set[int], wanted: set[int], log: _Log
) -> dict[int, tuple[str, float]]:
    """Stream manifest.csv through the row checks; returns (source, start) of the
    examples in ``wanted`` that have a valid row."""
    path = ds.root / MANIFEST_CSV
    if not path.is_file():
        log.add(MANIFEST_CSV, None, "missing")
        return {}
    labels = _StoredLabels(ds, labelled)
    check = _ManifestCheck(ds, labels, wanted, log)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = next(rows, [])
            if tuple(header) != MANIFEST_COLUMNS:
                log.add(
                    f"{MANIFEST_CSV}:1",
                    None,
                    f"columns {','.join(header)}, expected {','.join(MANIFEST_COLUMNS)}",
                )
                return {}
            for fields in rows:
                check.row(rows.line_num, fields)
    except (UnicodeDecodeError, csv.Error) as exc:
        log.add(MANIFEST_CSV, None, f"unreadable ({exc})")
        return {}
    finally:
        labels.close()
    check.finish()
    return check.picked


def _check_rejected(ds: _Dataset, log: _Log) -> None:
    """rejected.csv has one row per rejected input that dataset.json counts."""
    expected = ds.info.get("counts", {}).get("rejected", 0)
    path = ds.root / REJECTED_CSV
    if not path.is_file():
        if expected:
            log.add(
                REJECTED_CSV, None, f"missing, dataset.json counts {expected} rejected input(s)"
            )
        return
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            if tuple(next(rows, [])) != REJECTED_COLUMNS:
                log.add(REJECTED_CSV, None, f"columns are not {','.join(REJECTED_COLUMNS)}")
                return
            count = sum(1 for _ in rows)
    except (UnicodeDecodeError, csv.Error) as exc:
        log.add(REJECTED_CSV, None, f"unreadable ({exc})")
        return
    if count != expected:
        log.add(
            REJECTED_CSV, None, f"{count} rows, dataset.json counts {expected} rejected input(s)"
        )


# -- recompute ----------------------------------------------------------------------


def _sample(examples: int, count: int, seed: int) -> set[int]:
    """``count`` distinct example ids (all of them at most), picked with ``seed``."""
    if count <= 0 or examples == 0:
        return set()
    picked = np.random.default_rng(seed).choice(examples, size=min(count, examples), replace=False)
    return {int(i) + 1 for i in picked}


def _recompute(ds: _Dataset, picked: dict[int, tuple[str, float]], log: _Log) -> None:
    """Recompute the picked examples from their source audio and compare. A source that
    is gone or unreadable is a warning: the dataset may well outlive its audio."""
    root = ds.info.get("provenance", {}).get("inputs", {}).get("root")
    if not isinstance(root, str):
        log.warn(
            DATASET_JSON, None, "records no audio root (provenance.inputs.root): not recomputed"
        )
        return
    try:
        reader = ds.fmt.Reader(ds.root, ds.files, ds.config.storage)
    except ConfigError:
        return  # the shards' codec is missing, already a problem
    try:
        # one BLAS thread, as the build ran: the same sums in the same order
        with threadpool_limits(limits=1, user_api="blas"):
            for example, (source, start) in sorted(picked.items()):
                _recompute_one(ds, reader, Path(root), example, source, start, log)
    finally:
        reader.close()


def _recompute_one(
    ds: _Dataset,
    reader: Reader,
    audio_root: Path,
    example: int,
    source: str,
    start: float,
    log: _Log,
) -> None:
    file, row = ds.locate(example)
    where = ds.fmt.example_path(ds.files[file].path, row, example)
    try:
        stored = reader.read(file, np.array([row]))[0]
    except (OSError, ValueError, KeyError):
        return  # a problem of its data file, already reported
    try:
        computed = _features(ds, audio_root / source, source, start)
    except InputError as exc:
        log.warn(None, example, f"not recomputed: {exc}")
        return
    except ValueError as exc:  # the recorded shape does not fit the recorded config
        log.add(where, example, f"cannot recompute ({exc})")
        return
    diff = np.abs(stored.astype(np.float64) - computed)
    span = float(np.ptp(computed)) or float(np.abs(computed).max()) or 1.0
    allowed = _RTOL * span
    if stored.dtype == np.float16:
        # float16 rounding moves each value by up to half its spacing
        allowed = allowed + 0.5 * np.spacing(np.abs(stored)).astype(np.float64)
    if not (diff <= allowed).all():
        worst = float(np.nanmax(diff)) if not np.isnan(diff).all() else math.nan
        log.add(
            where,
            example,
            f"features differ from those recomputed from {source} at {start:g} s "
            f"(max difference {worst:.3g})",
            kind="recomputed features differ",
        )


def _features(ds: _Dataset, path: Path, name: str, start: float) -> np.ndarray:
    """The example's features computed again from its source, in float64."""
    # the feature code, needed only here: verify's other checks read the format alone
    from .audio import output_length, probe
    from .plan import Region
    from .tasks import Source, region_features

    if not path.is_file():
        raise InputError(f"source {path} is gone")
    config = ds.config
    info = probe(path)
    samples = output_length(info, config.audio.sample_rate)
    window = round(start * config.audio.sample_rate / config.hop_samples)
    if window * config.hop_samples >= samples:
        raise InputError(f"{path}: too short now for the window at {start:g} s")
    out = np.empty((1, *ds.shape), dtype=np.float32)
    region_features(
        Source(name, path, info, samples, window + 1), Region(0, window, 1), config, out
    )
    return out[0].astype(np.float64)
