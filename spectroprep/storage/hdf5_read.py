"""Reading rows of HDF5 shards, fast, in any process.

An uncompressed /features chunk holds its rows' bytes unchanged (the
fletcher32 checksum follows them), so those rows are read straight from the
file at their chunk's offset, found once per shard: one ``preadv`` per run of
adjacent chunks, no HDF5 call and no fancy indexing on the hot path. That is
several times faster than h5py slicing (benchmarks/RESULTS.md). The chunk
checksums are then left to ``spectroprep verify``; ``verify_checksums=True``
reads through HDF5, which checks every chunk it reads.

Compressed chunks always go through HDF5, with a chunk cache of two chunks:
rows are read in ascending order, so a chunk is never needed again once the
read has passed it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5p, h5z

from ..config import StorageConfig
from ..errors import DatasetError
from ..layout import FileRecord
from .codecs import load_blosc2_filters

_MAX_OPEN = 64  # open shards kept per process
_CACHED_CHUNKS = 2  # compressed chunks HDF5 keeps decoded, per dataset
_CHECKSUM_BYTES = {h5z.FILTER_FLETCHER32: 4}  # filters that leave a chunk's data as it is
_MAX_GAP = 64  # bytes between two rows that one preadv reads past (a checksum)
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024)


@dataclass
class _Shard:
    """One open shard: its datasets by name and, when its feature rows can be read
    directly, the file descriptor and every /features chunk's byte offset."""

    datasets: dict[str, h5py.Dataset]
    fd: int | None = None
    offsets: np.ndarray | None = None  # (chunks,) int64
    chunk_rows: int = 1
    row_bytes: int = 0
    scratch: memoryview = field(default_factory=lambda: memoryview(bytearray(_MAX_GAP)))

    def close(self) -> None:
        self.datasets["features"].file.close()
        if self.fd is not None:
            os.close(self.fd)


def _open_features(h5: h5py.File) -> h5py.Dataset:
    """/features with a chunk cache sized from its chunks: two chunks when
    compressed, none when not (a cache only slows uncompressed random reads)."""
    plain = h5["features"]
    if plain.chunks is None:
        return plain
    chunk_bytes = int(np.prod(plain.chunks)) * plain.dtype.itemsize
    compressed = any(code not in _CHECKSUM_BYTES for code in _filters(plain))
    del plain  # the cache is set when the dataset is first opened
    dapl = h5p.create(h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(101, _CACHED_CHUNKS * chunk_bytes if compressed else 0, 1.0)
    # readonly, as h5py makes it for a file opened "r": it then keeps the shape and
    # type instead of asking HDF5 at every read (twice the speed of one-row reads)
    return h5py.Dataset(h5py.h5d.open(h5.id, b"features", dapl=dapl), readonly=True)


def _filters(ds: h5py.Dataset) -> list[int]:
    """The HDF5 filter ids of a dataset's chunks."""
    dcpl = ds.id.get_create_plist()
    return [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]


def _chunk_offsets(ds: h5py.Dataset) -> np.ndarray | None:
    """Byte offset of every chunk of ``ds`` in chunk order, when every chunk holds
    its rows' bytes as they are (only checksum filters, native byte order, whole
    (F, T) planes, all chunks written); else None."""
    if ds.chunks is None or ds.chunks[1:] != ds.shape[1:] or not ds.dtype.isnative:
        return None
    codecs = _filters(ds)
    if any(code not in _CHECKSUM_BYTES for code in codecs):
        return None
    stored = int(np.prod(ds.chunks)) * ds.dtype.itemsize + sum(_CHECKSUM_BYTES[c] for c in codecs)
    n_chunks = -(-ds.shape[0] // ds.chunks[0])
    offsets = np.full(n_chunks, -1, dtype=np.int64)

    def note(info: Any) -> None:
        if info.size == stored and info.filter_mask == 0:
            offsets[info.chunk_offset[0] // ds.chunks[0]] = info.byte_offset

    if hasattr(ds.id, "chunk_iter"):
        ds.id.chunk_iter(note)
    else:  # HDF5 older than 1.12.3
        for i in range(ds.id.get_num_chunks()):
            note(ds.id.get_chunk_info(i))
    return None if (offsets < 0).any() else offsets


class Reader:
    """Reads rows of a dataset's shards; files open lazily, once per process.

    Safe to share between threads (a training loop and its prefetch thread);
    pickles without open files.
    """

    def __init__(
        self,
        root: Path,
        files: list[FileRecord],
        storage: StorageConfig,
        verify_checksums: bool = False,
    ) -> None:
        self._paths = [root / f.path for f in files]
        if storage.compression.startswith("blosc2"):
            load_blosc2_filters()
        self._direct = not verify_checksums
        self._open: OrderedDict[int, _Shard] = OrderedDict()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _shard(self, file: int) -> _Shard:
        with self._lock:
            if self._pid != os.getpid():
                # inherited through fork: never share HDF5 handles between processes
                self._open = OrderedDict()
                self._pid = os.getpid()
            shard = self._open.get(file)
            if shard is None:
                shard = self._open[file] = self._open_shard(file)
                if len(self._open) > _MAX_OPEN:
                    self._open.popitem(last=False)[1].close()
            else:
                self._open.move_to_end(file)
            return shard

    def _open_shard(self, file: int) -> _Shard:
        features = _open_features(h5py.File(self._paths[file], "r"))
        shard = _Shard({"features": features})
        offsets = _chunk_offsets(features) if self._direct else None
        if offsets is not None:
            shard.fd = os.open(self._paths[file], os.O_RDONLY)
            shard.offsets = offsets
            shard.chunk_rows = features.chunks[0]
            shard.row_bytes = int(np.prod(features.shape[1:])) * features.dtype.itemsize
        return shard

    def _dataset(self, shard: _Shard, name: str) -> h5py.Dataset:
        ds = shard.datasets.get(name)
        if ds is None:
            ds = shard.datasets[name] = shard.datasets["features"].file[name]
        return ds

    def read(self, file: int, rows: np.ndarray, name: str = "features") -> np.ndarray:
        """Rows ``rows`` (ascending) of /features, or of /frame_targets."""
        ds = self._dataset(self._shard(file), name)
        out = np.empty((len(rows), *ds.shape[1:]), dtype=ds.dtype)
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
        shard = self._shard(file)
        if name == "features" and shard.offsets is not None and out.flags.c_contiguous:
            self._read_direct(file, shard, rows, out, where)
            return
        ds = self._dataset(shard, name)
        if len(rows) == 1:
            out[where[0]] = ds[rows[0] : rows[0] + 1][0]
            return
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(rows)], strict=True):
            out[where[lo:hi]] = ds[rows[lo] : rows[hi - 1] + 1]

    def _read_direct(
        self, file: int, shard: _Shard, rows: np.ndarray, out: np.ndarray, where: np.ndarray
    ) -> None:
        assert shard.offsets is not None and shard.fd is not None
        size = shard.row_bytes
        if out.dtype.itemsize * out[0].size != size:
            raise ValueError(f"rows of {self._paths[file]} have {size} bytes, out has others")
        target = out.reshape(-1).view(np.uint8).data
        offsets = shard.offsets[rows // shard.chunk_rows] + (rows % shard.chunk_rows) * size
        buffers: list[memoryview] = []
        start = end = 0
        for offset, slot in zip(offsets.tolist(), where.tolist(), strict=True):
            gap = offset - end
            if buffers and not (0 <= gap <= _MAX_GAP and len(buffers) < _IOV_MAX - 1):
                self._preadv(file, shard.fd, buffers, start)
                buffers = []
            if not buffers:
                start = offset
            elif gap:
                buffers.append(shard.scratch[:gap])
            buffers.append(target[slot * size : (slot + 1) * size])
            end = offset + size
        if buffers:
            self._preadv(file, shard.fd, buffers, start)

    def _preadv(self, file: int, fd: int, buffers: list[memoryview], offset: int) -> None:
        wanted = sum(len(b) for b in buffers)
        if os.preadv(fd, buffers, offset) != wanted:
            raise DatasetError(f"{self._paths[file]}: file is shorter than its chunk index")

    def labels(self, file: int) -> np.ndarray:
        return np.asarray(self._dataset(self._shard(file), "labels")[()])

    def close(self) -> None:
        with self._lock:
            for shard in self._open.values():
                shard.close()
            self._open.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_open=OrderedDict(), _pid=None)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
