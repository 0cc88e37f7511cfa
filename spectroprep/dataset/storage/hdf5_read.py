"""Reading rows of HDF5 shards, fast, in any process, with a bounded number of
open files whatever the number of shards.

An uncompressed /features (or /frame_targets) chunk holds its rows' bytes
unchanged (the fletcher32 checksum follows them), so those rows are read
straight from the file at offsets the shard's index gives (hdf5_index.py): one
``preadv`` per run of adjacent rows, no HDF5 call and no fancy indexing on the
hot path (docs/performance.md, "Reads at 100k to 1M examples").
The chunk checksums are then left to ``spectroprep verify``;
``verify_checksums=True`` reads through HDF5, which checks every chunk it reads.

Open files are kept in one least-recently-used set of at most ``open_files``
descriptors (``default_open_files``); a shard's index is kept apart from its
descriptor, so reopening a shard costs one ``os.open``.

Compressed chunks always go through HDF5, with a chunk cache of two chunks:
rows are read in ascending order, so a chunk is never needed again once the
read has passed it.
"""

from __future__ import annotations

import os
import resource
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5p

from ...config import StorageConfig
from ...errors import DatasetError, SpectroprepWarning
from ..layout import FileRecord
from .hdf5_codecs import load_blosc2_filters
from .hdf5_index import CHECKSUM_BYTES, MAGIC, ArrayIndex, ShardIndex, index_of, read_index

_CACHED_CHUNKS = 2  # compressed chunks HDF5 keeps decoded, per dataset
_KEPT_INDEXES = 4096  # shard indexes kept per process: 16 MB at 512 one-example chunks
_MAX_GAP = 64  # bytes between two rows that one preadv reads past (a checksum)
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024)
_UNLIMITED = 1 << 16  # the limit assumed when there is none
_SCRATCH = memoryview(bytearray(_MAX_GAP))  # where the bytes between two rows go, unread


def default_open_files() -> int:
    """Files a reader keeps open per process by default: a quarter of the process's
    open-file limit (``ulimit -n``), leaving the rest to the training code, its
    data-loader pipes and other datasets (256 under the common limit of 1,024). No
    fixed cap: reopening costs reads at thousands of shards (docs/performance.md)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, (_UNLIMITED if soft == resource.RLIM_INFINITY else soft) // 4)


@dataclass
class _Handle:
    """A shard's open files: a descriptor for direct reads, an HDF5 file for the rest."""

    fd: int | None = None
    h5: h5py.File | None = None
    datasets: dict[str, h5py.Dataset] | None = None
    index: ShardIndex | None = None  # the shard's index, once read with the descriptor

    @property
    def count(self) -> int:
        return (self.fd is not None) + (self.h5 is not None)

    def close(self) -> None:
        if self.h5 is not None:
            self.h5.close()
        if self.fd is not None:
            os.close(self.fd)


def _open_features(h5: h5py.File) -> h5py.Dataset:
    """/features with a chunk cache sized from its chunks: two chunks when
    compressed, none when not (a cache only slows uncompressed random reads)."""
    plain = h5["features"]
    if plain.chunks is None:
        return plain
    chunk_bytes = int(np.prod(plain.chunks)) * plain.dtype.itemsize
    dcpl = plain.id.get_create_plist()
    filters = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
    compressed = any(code not in CHECKSUM_BYTES for code in filters)
    del plain  # the cache is set when the dataset is first opened
    dapl = h5p.create(h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(101, _CACHED_CHUNKS * chunk_bytes if compressed else 0, 1.0)
    # readonly, as h5py makes it for a file opened "r": it then keeps the shape and
    # type instead of asking HDF5 at every read (twice the speed of one-row reads)
    return h5py.Dataset(h5py.h5d.open(h5.id, b"features", dapl=dapl), readonly=True)


def _note_missing_index(root: Path, first: Path) -> None:
    """Warn, once per dataset opened, when its shards have no index of row offsets."""
    try:
        fd = os.open(first, os.O_RDONLY)
    except OSError:
        return  # reported by the first read, which names the file
    try:
        indexed = os.pread(fd, len(MAGIC), 0) == MAGIC
    finally:
        os.close(fd)
    if not indexed:
        warnings.warn(
            f"{root}: its shards have no index of row offsets (an earlier spectroprep "
            "built them), so each opens slowly the first time; `spectroprep shard "
            f"{root} --out NEW` rewrites them with one",
            SpectroprepWarning,
            stacklevel=5,  # the caller of open_dataset
        )


class Reader:
    """Reads rows of a dataset's shards; files open lazily, per process, at most
    ``open_files`` at a time (``default_open_files()`` when None).

    Safe to share between threads (a training loop and its prefetch thread);
    pickles without open files.
    """

    def __init__(
        self,
        root: Path,
        files: list[FileRecord],
        storage: StorageConfig,
        verify_checksums: bool = False,
        open_files: int | None = None,
    ) -> None:
        self._paths = [root / f.path for f in files]
        self._examples = [f.examples for f in files]
        if storage.compression.startswith("blosc2"):
            load_blosc2_filters()
        self._direct = not verify_checksums
        if open_files is not None and open_files < 1:
            raise ValueError(f"open_files must be at least 1, not {open_files}")
        self._budget = open_files or default_open_files()
        self._open: OrderedDict[int, _Handle] = OrderedDict()
        self._held = 0  # descriptors held by self._open
        self._indexes: OrderedDict[int, ShardIndex] = OrderedDict()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        if self._direct and self._paths:
            _note_missing_index(root, self._paths[0])

    # -- open files, within the budget -------------------------------------------------

    def _own_process(self) -> None:
        """Forget handles inherited through fork: never share descriptors or HDF5
        handles between processes (HDF5's are left alone: closing them here could
        touch the parent's file state). Caller holds the lock."""
        if self._pid != os.getpid():
            for handle in self._open.values():
                if handle.fd is not None:
                    os.close(handle.fd)  # this process's copy: the budget holds here too
            self._open, self._held, self._pid = OrderedDict(), 0, os.getpid()

    def _handle(self, file: int) -> _Handle:
        """The shard's handle, most recently used; caller holds the lock."""
        handle = self._open.get(file)
        if handle is None:
            handle = self._open[file] = _Handle()
        else:
            self._open.move_to_end(file)
        return handle

    def _make_room(self) -> None:
        """Close least recently used shards until one more file fits; the shard being
        opened is the most recent, last in line, and stays."""
        while self._held >= self._budget and len(self._open) > 1:
            handle = self._open.popitem(last=False)[1]
            self._held -= handle.count
            handle.close()

    def _fd(self, file: int) -> int:
        handle = self._handle(file)
        if handle.fd is None:
            self._make_room()
            try:
                handle.fd = os.open(self._paths[file], os.O_RDONLY)
            except OSError as exc:
                raise DatasetError(f"{self._paths[file]}: cannot open ({exc.strerror})") from None
            self._held += 1
        return handle.fd

    def _h5(self, file: int, name: str) -> h5py.Dataset:
        handle = self._handle(file)
        if handle.h5 is None:
            self._make_room()
            handle.h5 = h5py.File(self._paths[file], "r")
            handle.datasets = {"features": _open_features(handle.h5)}
            self._held += 1
        assert handle.datasets is not None
        ds = handle.datasets.get(name)
        if ds is None:
            ds = handle.datasets[name] = handle.h5[name]
        return ds

    def _index(self, file: int) -> ShardIndex:
        """The shard's index: from its userblock, or for a shard without one from
        HDF5's chunk index (slowly, once per process while it stays kept)."""
        index = self._indexes.get(file)
        if index is not None:
            self._indexes.move_to_end(file)
            return index
        index = read_index(self._fd(file), str(self._paths[file]))
        if index is None:  # written before shards had an index
            index = index_of(self._h5(file, "features").file)
        self._indexes[file] = index
        if len(self._indexes) > _KEPT_INDEXES:
            self._indexes.popitem(last=False)
        return index

    # -- reads --------------------------------------------------------------------------

    def read(self, file: int, rows: np.ndarray, name: str = "features") -> np.ndarray:
        """Rows ``rows`` (ascending) of /features, or of /frame_targets."""
        with self._lock:
            self._own_process()
            ds = self._h5(file, name)
            shape, dtype = ds.shape[1:], ds.dtype
        out = np.empty((len(rows), *shape), dtype=dtype)
        self.read_into(file, rows, out, np.arange(len(rows)), name)
        return out

    def read_into(
        self,
        file: int,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        """Put row ``rows[k]`` (ascending) of /features, or of /frame_targets, into
        ``out[where[k]]``."""
        with self._lock:
            self._own_process()
            self._read_sorted([file] * len(rows), rows.tolist(), where.tolist(), out, name)

    def gather(
        self,
        files: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        """Put row ``rows[k]`` of data file ``files[k]`` into ``out[where[k]]``: file
        by file, each file's rows in ascending order."""
        order = np.lexsort((rows, files))
        with self._lock:
            self._own_process()
            self._read_sorted(
                files[order].tolist(), rows[order].tolist(), where[order].tolist(), out, name
            )

    def _read_sorted(
        self, files: list[int], rows: list[int], slots: list[int], out: np.ndarray, name: str
    ) -> None:
        """Rows sorted by file, then row, into ``out`` at ``slots``; caller holds the lock.

        One loop over the rows: a new file costs a lookup, adjacent rows (at most
        _MAX_GAP bytes apart) share one ``preadv``. A batch spread over many shards
        thus costs little more than one from a few, and rows that cannot be read
        directly (compressed, or ``verify_checksums``) go through HDF5 afterwards.
        """
        direct = self._direct and out.flags.c_contiguous and len(out) > 0
        raw = out.reshape(-1).view(np.uint8).data if direct else None
        size = out[0].nbytes if len(out) else 0
        through_h5: list[tuple[int, int, int]] = []
        source: tuple[int, ArrayIndex] | None = None
        buffers: list[memoryview] = []
        file = fd = -1
        start = end = 0
        for row_file, row, slot in zip(files, rows, slots, strict=True):
            if row_file != file:
                if buffers:
                    self._preadv(file, fd, buffers, start, end - start)
                    buffers = []
                file = row_file
                source = self._direct_source(file, name, size) if raw is not None else None
            if source is None:
                through_h5.append((file, row, slot))
                continue
            fd, found = source
            chunk, within = divmod(row, found.chunk_rows)
            offset = int(found.offsets[chunk]) + within * size
            gap = offset - end
            if buffers and not (0 <= gap <= _MAX_GAP and len(buffers) < _IOV_MAX - 1):
                self._preadv(file, fd, buffers, start, end - start)
                buffers = []
            if not buffers:
                start = offset
            elif gap:
                buffers.append(_SCRATCH[:gap])
            assert raw is not None
            buffers.append(raw[slot * size : (slot + 1) * size])
            end = offset + size
        if buffers:
            self._preadv(file, fd, buffers, start, end - start)
        if through_h5:
            self._read_h5(through_h5, out, name)

    def _direct_source(self, file: int, name: str, size: int) -> tuple[int, ArrayIndex] | None:
        """The descriptor of a shard and where the rows of its array ``name`` are, or
        None when they cannot be read directly. An open shard whose index came with
        its descriptor takes one lookup."""
        handle = self._open.get(file)
        if handle is not None and handle.index is not None:
            self._open.move_to_end(file)
        else:
            index = self._index(file)
            self._fd(file)
            handle = self._open[file]
            handle.index = index
        assert handle.fd is not None and handle.index is not None
        found = handle.index.arrays.get(name)
        if found is None:
            return None
        if found.row_bytes != size:
            raise ValueError(
                f"rows of {self._paths[file]} have {found.row_bytes} bytes, out has {size}"
            )
        return handle.fd, found

    def _read_h5(self, rows: list[tuple[int, int, int]], out: np.ndarray, name: str) -> None:
        """(file, row, slot) rows, sorted, through HDF5 (checksums checked, compressed
        chunks): one slice per run of consecutive rows of a file."""
        lo = 0
        while lo < len(rows):
            file, first, _ = rows[lo]
            hi = lo + 1
            while hi < len(rows) and rows[hi][:2] == (file, first + hi - lo):
                hi += 1
            ds = self._h5(file, name)
            out[[slot for _, _, slot in rows[lo:hi]]] = ds[first : first + hi - lo]
            lo = hi

    def _preadv(
        self, file: int, fd: int, buffers: list[memoryview], offset: int, wanted: int
    ) -> None:
        if os.preadv(fd, buffers, offset) != wanted:
            raise DatasetError(f"{self._paths[file]}: file is shorter than its chunk index")

    def labels(self, file: int) -> np.ndarray:
        with self._lock:
            self._own_process()
            index = self._index(file) if self._direct else None
            if index is None or index.labels_at < 0:
                return np.asarray(self._h5(file, "labels")[()])
            shape = (self._examples[file], index.labels_columns)[: 2 if index.labels_columns else 1]
            labels = np.empty(shape, dtype=index.labels_dtype)
            raw = labels.reshape(-1).view(np.uint8).data
            self._preadv(file, self._fd(file), [raw], index.labels_at, labels.nbytes)
            return labels

    def array(self, file: int, name: str) -> np.ndarray:
        """The shard's array ``/name`` (frame_events, ...), whole, through HDF5."""
        with self._lock:
            self._own_process()
            try:
                return np.asarray(self._h5(file, name)[()])
            except (KeyError, OSError) as exc:
                raise DatasetError(f"{self._paths[file]}: cannot read /{name} ({exc})") from None

    def close(self) -> None:
        with self._lock:
            for handle in self._open.values():
                handle.close()
            self._open.clear()
            self._held = 0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_open=OrderedDict(), _held=0, _indexes=OrderedDict(), _pid=None)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
