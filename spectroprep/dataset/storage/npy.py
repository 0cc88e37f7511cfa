"""npy blocks: blocks/block-K/id-N.npy, one file per example, and labels.npy and
the frame targets' runs, frame_events.npy and frame_event_offsets.npy, per block
(when the dataset has them; frame_targets.npy, dense, in datasets built before).

Numbers are unpadded, hence the natural sort everywhere. Files load with
``allow_pickle=False``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...config import StorageConfig
from ...naming import natural_sorted
from ..layout import FileRecord, Hasher, member_header, new_hasher

if TYPE_CHECKING:
    from .check.record import DatasetRecord
    from .check.report import Log
    from .check.values import Totals

# what we write (frame_targets.npy: dense frame targets, before their runs)
OWNED = re.compile(
    r"blocks(/block-\d+(/(id-\d+|labels|frame_targets|frame_events|frame_event_offsets)\.npy)?)?"
)


def file_name(index: int) -> str:
    """Relative path of block ``index`` (0-based in, 1-based unpadded name)."""
    return f"blocks/block-{index + 1}"


def example_path(file: str, row: int, example_id: int) -> str:
    """Manifest path of an example: its own .npy file."""
    return f"{file}/id-{example_id}.npy"


def check_file(ds: DatasetRecord, file: int, log: Log, totals: Totals) -> bool:
    """``verify``'s checks of one block (npy_check.py), imported by verify alone:
    the processes that only read do not pay for them."""
    from .npy_check import check_file as check

    return check(ds, file, log, totals)


def examples_per_file(storage: StorageConfig) -> int:
    return storage.block_size


def chunk_rows(storage: StorageConfig) -> int:
    return 1


def check_storage(storage: StorageConfig) -> None:
    """npy blocks are never compressed: nothing more is needed to read them."""


def advice(storage: Mapping[str, Any]) -> list[str]:
    return [
        "npy blocks read one file per example: convert to HDF5 shards with "
        "`spectroprep shard DATASET --out NEW --format hdf5`"
    ]


def write(
    path: Path,
    features: np.ndarray,
    targets: Mapping[str, np.ndarray],
    first_id: int,
    attrs: Mapping[str, Any],
    storage: StorageConfig,
) -> str:
    """Write one block folder at ``path``. Returns its xxh3_128 hex digest, as
    ``layout.digest_path`` makes it: taken in as the files are written."""
    path.mkdir()
    files = {
        Path(example_path("", row, first_id + row)).name: example
        for row, example in enumerate(np.asarray(features, dtype=storage.dtype))
    }
    files.update((f"{name}.npy", array) for name, array in targets.items())
    digest = new_hasher()
    for name in natural_sorted(files):
        digest.update(member_header(name))
        _save(path / name, files[name], digest)
    return digest.hexdigest()


def renumber(path: Path, first_id: int) -> None:
    """Give the block's examples the ids ``first_id, first_id + 1, ...``: their files
    are renamed, in an order in which no new name is still taken."""
    old = sorted(int(p.stem.removeprefix("id-")) for p in path.glob("id-*.npy"))
    moves = [(i, first_id + row) for row, i in enumerate(old)]
    for i, new in moves if first_id < old[0] else reversed(moves):
        (path / f"id-{i}.npy").rename(path / f"id-{new}.npy")


def _save(path: Path, array: np.ndarray, digest: Hasher) -> None:
    """``np.save`` through one plain write (a full disk then raises an OSError with
    the system's reason; numpy's own file write only says how many bytes it wrote),
    the bytes also going to ``digest``."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    with buffer.getbuffer() as data:
        path.write_bytes(data)
        digest.update(data)


class Reader:
    """Reads examples of a dataset's npy blocks (which carry no checksums)."""

    def __init__(
        self,
        root: Path,
        files: list[FileRecord],
        storage: StorageConfig,
        verify_checksums: bool = False,
        open_files: int | None = None,  # each read opens and closes its file
    ) -> None:
        self._root = root
        self._files = [f.path for f in files]
        counts = np.array([f.examples for f in files], dtype=np.int64)
        self._first_ids = np.r_[0, np.cumsum(counts)[:-1]] + 1

    def _load(self, path: Path) -> np.ndarray:
        return np.asarray(np.load(path, allow_pickle=False))

    def read(self, file: int, rows: np.ndarray, name: str = "features") -> np.ndarray:
        """Examples ``rows`` of a block, or their rows of another per-block array."""
        block = self._files[file]
        if name != "features":
            array = np.load(self._root / block / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            return np.array(array[rows])
        first = int(self._first_ids[file])
        return np.stack(
            [self._load(self._root / example_path(block, int(r), first + int(r))) for r in rows]
        )

    def read_into(
        self,
        file: int,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        """Put example ``rows[k]`` of a block (or its row of another array) into
        ``out[where[k]]``."""
        if name != "features":
            out[where] = self.read(file, rows, name)
            return
        block = self._files[file]
        first = int(self._first_ids[file])
        for row, slot in zip(rows.tolist(), where.tolist(), strict=True):
            out[slot] = self._load(self._root / example_path(block, row, first + row))

    def gather(
        self,
        files: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        """Put example ``rows[k]`` of block ``files[k]`` (or its row of another array)
        into ``out[where[k]]``."""
        for file in np.unique(files).tolist():
            mine = np.flatnonzero(files == file)
            order = mine[np.argsort(rows[mine], kind="stable")]
            self.read_into(file, rows[order], out, where[order], name)

    def labels(self, file: int) -> np.ndarray:
        return self._load(self._root / self._files[file] / "labels.npy")

    def array(self, file: int, name: str) -> np.ndarray:
        """The block's array ``name`` (frame_events, ...), whole."""
        return self._load(self._root / self._files[file] / f"{name}.npy")

    def close(self) -> None:
        """Nothing stays open between reads."""
