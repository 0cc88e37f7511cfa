"""HDF5 shards: /features (N, F, T) chunked along N, /labels, /frame_targets, /example_id.

Feature parameters are stored as attributes of the file, so a shard describes
itself to h5ls/h5dump users. /features carries a fletcher32 checksum per chunk,
so HDF5 itself reports a corrupted chunk when it is read.

Shards are written through a file object that keeps a failed write (a full
disk) from HDF5, which would crash the process on closing the file (h5py
issue 914), and raises it once HDF5 is done.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..config import StorageConfig
from .codecs import compression_options
from .hdf5_read import Reader as Reader

OWNED = re.compile(r"shards(/shard-\d+\.h5)?")  # what this format writes


def file_name(index: int) -> str:
    """Relative path of shard ``index`` (0-based, zero-padded)."""
    return f"shards/shard-{index:05d}.h5"


def example_path(file: str, row: int, example_id: int) -> str:
    """Manifest path of an example: its shard."""
    return file


def write(
    path: Path,
    features: np.ndarray,
    targets: Mapping[str, np.ndarray],
    first_id: int,
    attrs: Mapping[str, Any],
    storage: StorageConfig,
) -> None:
    """Write one shard file at ``path``: /features, then /labels and /frame_targets
    when ``targets`` has them."""
    # numpy's float16 conversion is ~4x faster than HDF5's (PERFORMANCE.md)
    data = np.ascontiguousarray(features, dtype=storage.dtype)
    n = len(data)
    file = _GuardedFile(path)
    with file, h5py.File(file, "w") as h5:
        # track_times=False keeps the bytes identical from run to run
        for name, array in (("features", data), ("frame_targets", targets.get("frame_targets"))):
            if array is None:
                continue
            h5.create_dataset(
                name,
                data=array,
                chunks=(min(storage.chunk_examples, n), *array.shape[1:]),
                fletcher32=True,
                track_times=False,
                **compression_options(storage),
            )
        if "labels" in targets:
            h5.create_dataset("labels", data=targets["labels"], track_times=False)
        ids = np.arange(first_id, first_id + n, dtype=np.int64)
        h5.create_dataset("example_id", data=ids, track_times=False)
        file_attrs = h5.attrs  # made anew by each h5.attrs access
        for key, value in attrs.items():
            file_attrs[key] = value


class _GuardedFile(io.RawIOBase):
    """A file for h5py to write through that never lets a failed write reach HDF5.

    HDF5 crashes the process when a write fails and the file is then closed
    (h5py issue 914). This file keeps the first OSError and drops later writes,
    so HDF5 finishes normally; ``close`` then raises the error.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._pos = self._end = 0
        self._error: OSError | None = None

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
        view = memoryview(data).cast("B")
        if self._error is None:
            try:
                done = 0
                while done < len(view):
                    done += os.pwrite(self._fd, view[done:], self._pos + done)
            except OSError as exc:
                self._error = exc
        self._pos += len(view)
        self._end = max(self._end, self._pos)
        return len(view)

    def readinto(self, out: Any) -> int:
        view = memoryview(out).cast("B")
        n = max(0, min(len(view), self._end - self._pos))
        got = os.preadv(self._fd, [view[:n]], self._pos) if n and self._error is None else 0
        view[got:n] = bytes(n - got)  # what a failed write never put there
        self._pos += n
        return n

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self._error is None:
            try:
                os.ftruncate(self._fd, size)
            except OSError as exc:
                self._error = exc
        self._end = size
        return size

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
            super().close()
        if self._error is not None:
            raise self._error
