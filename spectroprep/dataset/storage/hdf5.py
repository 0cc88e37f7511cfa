"""HDF5 shards: /features (N, F, T) chunked along N, /labels, the frame targets' runs
(/frame_events, /frame_event_offsets), /example_id.

Feature parameters are stored as attributes of the file, so a shard describes
itself to h5ls/h5dump users. /features carries a fletcher32 checksum per chunk,
so HDF5 itself reports a corrupted chunk when it is read.

A shard is made as a file image in memory (``_ImageFile``), then written with
one call and hashed from memory: HDF5 never writes to the disk itself. The
userblock at its start holds the shard's index of byte offsets (hdf5_index.py).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from ...config import StorageConfig
from ..layout import new_hasher
from .hdf5_codecs import compression_options
from .hdf5_index import index_of, pack, userblock_bytes
from .hdf5_read import Reader as Reader

if TYPE_CHECKING:
    from .check.record import DatasetRecord
    from .check.report import Log
    from .check.values import Totals

OWNED = re.compile(r"shards(/shard-\d+\.h5)?")  # what this format writes
_METADATA_BYTES = 1 << 16  # room for a shard's HDF5 metadata, beside its arrays
_images = threading.local()  # each thread's buffer for shard images


def file_name(index: int) -> str:
    """Relative path of shard ``index`` (0-based, zero-padded)."""
    return f"shards/shard-{index:05d}.h5"


def example_path(file: str, row: int, example_id: int) -> str:
    """Manifest path of an example: its shard."""
    return file


def check_file(ds: DatasetRecord, file: int, log: Log, totals: Totals) -> bool:
    """``verify``'s checks of one shard (hdf5_check.py), imported by verify alone:
    the processes that only read do not pay for them."""
    from .hdf5_check import check_file as check

    return check(ds, file, log, totals)


def examples_per_file(storage: StorageConfig) -> int:
    return storage.shard_examples


def chunk_rows(storage: StorageConfig) -> int:
    return storage.chunk_examples


def check_storage(storage: StorageConfig) -> None:
    compression_options(storage)  # the codec's plugin is needed to read


def advice(storage: Mapping[str, Any]) -> list[str]:
    tips = []
    codec = storage["compression"].partition(":")[0]
    if codec in ("gzip", "lzf", "blosc2-zstd"):
        tips.append(
            f"{codec} decompression costs CPU on every read: re-shard with "
            "`--compression none` (or blosc2-lz4 for smaller files)"
        )
    if storage["chunk_examples"] > 1:
        tips.append(
            f"chunks of {storage['chunk_examples']} examples are read whole for a single "
            "example: re-shard with `--chunk-size 1` for random access"
        )
    return tips


def write(
    path: Path,
    features: np.ndarray,
    targets: Mapping[str, np.ndarray],
    first_id: int,
    attrs: Mapping[str, Any],
    storage: StorageConfig,
) -> str:
    """Write one shard file at ``path``: /features, then the label arrays of
    ``targets``. Returns the file's xxh3_128 hex digest."""
    with image(features, targets, first_id, attrs, storage) as data:
        path.write_bytes(data)
        digest = new_hasher()
        digest.update(data)
    return digest.hexdigest()


def renumber(path: Path, first_id: int) -> None:
    """Give the shard's examples the ids ``first_id, first_id + 1, ...``: /example_id
    is a contiguous array without filters, so only its bytes change, in place."""
    with h5py.File(path, "r") as h5:
        ids = h5["example_id"]
        offset, count, dtype = ids.id.get_offset(), len(ids), ids.dtype
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(np.arange(first_id, first_id + count, dtype=dtype).tobytes())


@contextmanager
def image(
    features: np.ndarray,
    targets: Mapping[str, np.ndarray],
    first_id: int,
    attrs: Mapping[str, Any],
    storage: StorageConfig,
) -> Iterator[memoryview]:
    """The bytes of a shard file, made in memory; valid inside the block only (the
    calling thread's buffer then holds the next shard)."""
    # numpy's float16 conversion is faster than HDF5's (docs/performance.md)
    data = np.ascontiguousarray(features, dtype=storage.dtype)
    n = len(data)
    chunk_rows = min(storage.chunk_examples, n)
    userblock = userblock_bytes(-(-n // chunk_rows))
    size = data.nbytes + sum(a.nbytes for a in targets.values()) + _METADATA_BYTES + userblock
    file = _ImageFile(_image_buffer(size))
    # no chunk cache: every chunk is written whole and once, so caching it only adds work
    with file, h5py.File(file, "w", rdcc_nbytes=0, userblock_size=userblock) as h5:
        # track_times=False keeps the bytes identical from run to run
        h5.create_dataset(
            "features",
            data=data,
            chunks=(chunk_rows, *data.shape[1:]),
            fletcher32=True,
            track_times=False,
            **compression_options(storage),
        )
        for name, array in targets.items():
            h5.create_dataset(name, data=array, track_times=False)
        ids = np.arange(first_id, first_id + n, dtype=np.int64)
        h5.create_dataset("example_id", data=ids, track_times=False)
        file_attrs = h5.attrs  # made anew by each h5.attrs access
        for key, value in attrs.items():
            file_attrs[key] = value
        index = index_of(h5)  # the data is placed: chunks never move once written
    with file.image() as view:
        view[:userblock] = pack(index, userblock)
        yield view


def _image_buffer(size: int) -> bytearray:
    """The calling thread's buffer for shard images, of at least ``size`` bytes: kept
    between shards, as a fresh one costs more in page faults than the shard's copy."""
    buffer: bytearray = getattr(_images, "buffer", bytearray())
    if len(buffer) < size:
        buffer = _images.buffer = bytearray(size)
    return buffer


class _ImageFile(io.RawIOBase):
    """A file in memory for h5py to write a shard into (in ``buffer``, which grows
    as needed); bytes never written read as zeros, as in a sparse file.

    HDF5 thus never meets a failed disk write, which crashes the process when the
    file is then closed (h5py issue 914): the image is written to the disk in one
    call afterwards. A failed allocation is kept from HDF5 the same way: later
    writes are dropped and ``close`` raises it.
    """

    def __init__(self, buffer: bytearray) -> None:
        self._buffer = buffer
        self._pos = self._end = 0
        self._error: MemoryError | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._end}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def write(self, data: Any) -> int:
        with memoryview(data) as view, view.cast("B") as raw:
            n = len(raw)
            if self._error is None:
                try:
                    self._zeros_to(self._pos)
                    self._reserve(self._pos + n)
                    with memoryview(self._buffer) as buffer:  # a bytearray would copy raw first
                        buffer[self._pos : self._pos + n] = raw
                except MemoryError as exc:
                    self._error = exc
        self._pos += n
        self._end = max(self._end, self._pos)
        return n

    def readinto(self, out: Any) -> int:
        with memoryview(out) as view, view.cast("B") as raw, memoryview(self._buffer) as buffer:
            n = max(0, min(len(raw), self._end - self._pos))
            raw[:n] = buffer[self._pos : self._pos + n] if self._error is None else bytes(n)
        self._pos += n
        return n

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self._error is None:
            try:
                self._zeros_to(size)
            except MemoryError as exc:
                self._error = exc
        self._end = size
        return size

    def _reserve(self, size: int) -> None:
        if size > len(self._buffer):
            self._buffer.extend(bytes(max(size - len(self._buffer), len(self._buffer) // 2)))

    def _zeros_to(self, end: int) -> None:
        """Zeros from the image's end to ``end``, where HDF5 left a gap (the buffer
        may still hold an earlier shard's bytes there)."""
        if end > self._end:
            self._reserve(end)
            self._buffer[self._end : end] = bytes(end - self._end)
            self._end = end

    def image(self) -> memoryview:
        """The file's bytes (a view, to be released before the next shard)."""
        return memoryview(self._buffer)[: self._end]

    def close(self) -> None:
        super().close()
        if self._error is not None:
            raise self._error
