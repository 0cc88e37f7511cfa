"""A shard's own index of where its rows are: the byte offsets of the chunks of
/features and /frame_targets and of the /labels array, written into the HDF5
userblock (bytes HDF5 reserves at the start of a file and never reads).

With it a reader opens a shard with one ``os.open`` and one ``pread`` and reads
rows with ``preadv``; no HDF5 call, and no work that grows with the chunk count
(HDF5's own chunk index takes a Python callback per chunk to walk). HDF5 tools
read the file as usual. Layout (little-endian int64 after the 16-byte magic)::

    magic  b"spectroprep idx\\0"
    header version, userblock bytes, labels offset (-1: none), labels item bytes,
           labels columns (0: one per row), then per indexed array (features,
           frame_targets): chunks, rows per chunk, bytes per row (0 chunks: absent)
    body   the chunk offsets of features, then of frame_targets

A shard written before the index existed starts with the HDF5 signature
instead; its offsets then come from HDF5's chunk index (``chunk_offsets``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
from h5py import h5z

from ...errors import DatasetError

MAGIC = b"spectroprep idx\x00"
VERSION = 1
INDEXED = ("features", "frame_targets")  # chunked arrays whose rows are read directly
_HEADER = 5 + 3 * len(INDEXED)  # int64 fields after the magic
_HEAD_BYTES = len(MAGIC) + 8 * _HEADER
CHECKSUM_BYTES = {h5z.FILTER_FLETCHER32: 4}  # filters that leave a chunk's data as it is


@dataclass(frozen=True)
class ArrayIndex:
    """Where the rows of one chunked array are: row r is ``row_bytes`` bytes at
    ``offsets[r // chunk_rows] + (r % chunk_rows) * row_bytes``."""

    offsets: np.ndarray  # (chunks,) int64
    chunk_rows: int
    row_bytes: int


@dataclass(frozen=True)
class ShardIndex:
    """Byte offsets of the directly readable arrays of one shard."""

    arrays: dict[str, ArrayIndex]
    labels_at: int = -1  # byte offset of /labels, -1 when the shard has none
    labels_dtype: np.dtype = np.dtype("<i8")
    labels_columns: int = 0


def userblock_bytes(chunks: int) -> int:
    """Userblock size for an index of ``chunks`` chunk offsets: a power of two, at
    least 512, as HDF5 requires."""
    return max(512, 1 << (_HEAD_BYTES + 8 * chunks - 1).bit_length())


def chunk_offsets(ds: h5py.Dataset) -> ArrayIndex | None:
    """Where HDF5 put the chunks of ``ds``, when every chunk holds its rows' bytes as
    they are (only checksum filters, native byte order, whole rows, all chunks
    written); else None. Walks HDF5's chunk index: one Python call per chunk."""
    if ds.chunks is None or ds.chunks[1:] != ds.shape[1:] or not ds.dtype.isnative:
        return None
    dcpl = ds.id.get_create_plist()
    codecs = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
    if any(code not in CHECKSUM_BYTES for code in codecs):
        return None
    row_bytes = int(np.prod(ds.shape[1:])) * ds.dtype.itemsize
    stored = ds.chunks[0] * row_bytes + sum(CHECKSUM_BYTES[c] for c in codecs)
    offsets = np.full(-(-ds.shape[0] // ds.chunks[0]), -1, dtype=np.int64)

    def note(info: Any) -> None:
        if info.size == stored and info.filter_mask == 0:
            offsets[info.chunk_offset[0] // ds.chunks[0]] = info.byte_offset

    if hasattr(ds.id, "chunk_iter"):
        ds.id.chunk_iter(note)
    else:  # HDF5 older than 1.12.3
        for i in range(ds.id.get_num_chunks()):
            note(ds.id.get_chunk_info(i))
    return None if (offsets < 0).any() else ArrayIndex(offsets, ds.chunks[0], row_bytes)


def index_of(h5: h5py.File) -> ShardIndex:
    """The index of an open shard, from HDF5's own records."""
    arrays = {}
    for name in INDEXED:
        if name in h5:
            found = chunk_offsets(h5[name])
            if found is not None:
                arrays[name] = found
    if "labels" not in h5:
        return ShardIndex(arrays)
    labels = h5["labels"]
    at = labels.id.get_offset()
    columns = labels.shape[1] if labels.ndim == 2 else 0
    # an empty array has no storage, and so no offset
    return ShardIndex(arrays, -1 if at is None else at, labels.dtype, columns)


def pack(index: ShardIndex, size: int) -> bytes:
    """The userblock of ``size`` bytes that holds ``index``."""
    header = [VERSION, size, index.labels_at, index.labels_dtype.itemsize, index.labels_columns]
    bodies = []
    for name in INDEXED:
        found = index.arrays.get(name)
        if found is None:
            header += [0, 0, 0]
        else:
            header += [len(found.offsets), found.chunk_rows, found.row_bytes]
            bodies.append(found.offsets)
    data = MAGIC + np.array(header, dtype="<i8").tobytes()
    data += b"".join(np.asarray(b, dtype="<i8").tobytes() for b in bodies)
    if len(data) > size:
        raise ValueError(f"a shard index of {len(data)} bytes does not fit {size}")
    return data + bytes(size - len(data))


def read_index(fd: int, name: str) -> ShardIndex | None:
    """The index in the userblock of the open file ``fd`` (``name`` for messages), or
    None when the shard has none (written before the index existed)."""
    head = os.pread(fd, _HEAD_BYTES, 0)
    if not head.startswith(MAGIC):
        return None
    if len(head) < _HEAD_BYTES:
        raise DatasetError(f"{name}: shard index cut short")
    fields = np.frombuffer(head, dtype="<i8", offset=len(MAGIC)).tolist()
    version, size, labels_at, item, columns = fields[:5]
    if version != VERSION:
        raise DatasetError(f"{name}: shard index version {version}, this spectroprep reads 1")
    shapes = [fields[5 + 3 * k : 8 + 3 * k] for k in range(len(INDEXED))]
    total = sum(chunks for chunks, _, _ in shapes)
    body = os.pread(fd, 8 * total, _HEAD_BYTES)
    if len(body) != 8 * total or _HEAD_BYTES + 8 * total > size:
        raise DatasetError(f"{name}: shard index cut short")
    offsets = np.frombuffer(body, dtype="<i8")
    arrays, at = {}, 0
    for array, (chunks, chunk_rows, row_bytes) in zip(INDEXED, shapes, strict=True):
        if chunks:
            arrays[array] = ArrayIndex(offsets[at : at + chunks], chunk_rows, row_bytes)
            at += chunks
    dtype = np.dtype("<i8" if item == 8 else "u1")
    return ShardIndex(arrays, labels_at, dtype, columns)
