"""Storage formats: each a module with a shard writer and a reader, chosen by name.

The name is stored in dataset.json (``config.storage.format``), so a reader
always knows which module wrote the data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...config import StorageConfig
from ...errors import DatasetError
from ..layout import FileRecord
from . import hdf5, npy


class Reader(Protocol):
    """Reads rows of the data files of one dataset, opening files lazily."""

    def __init__(
        self,
        root: Path,
        files: list[FileRecord],
        storage: StorageConfig,
        verify_checksums: bool = False,
        open_files: int | None = None,
    ) -> None:
        """``open_files``: most files kept open at once in a process (None: the
        format's default)."""
        ...

    def read(self, file: int, rows: np.ndarray, name: str = "features") -> np.ndarray:
        """Ascending ``rows`` of data file ``file``: features (len(rows), F, T), or
        with ``name="frame_targets"`` frame targets (len(rows), T, C)."""
        ...

    def read_into(
        self,
        file: int,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        """Put row ``rows[k]`` (ascending) of data file ``file`` into ``out[where[k]]``."""
        ...

    def gather(
        self,
        files: np.ndarray,
        rows: np.ndarray,
        out: np.ndarray,
        where: np.ndarray,
        name: str = "features",
    ) -> None:
        """Put row ``rows[k]`` of data file ``files[k]`` into ``out[where[k]]`` (any
        order, any number of files)."""
        ...

    def labels(self, file: int) -> np.ndarray:
        """The label array of data file ``file``."""
        ...

    def close(self) -> None: ...


class Format(Protocol):
    """What a storage module provides."""

    Reader: type[Reader]
    OWNED: re.Pattern[str]  # relative paths (posix) of everything the format writes

    def file_name(self, index: int) -> str: ...

    def example_path(self, file: str, row: int, example_id: int) -> str: ...

    def write(
        self,
        path: Path,
        features: np.ndarray,
        targets: Mapping[str, np.ndarray],
        first_id: int,
        attrs: Mapping[str, Any],
        storage: StorageConfig,
    ) -> str:
        """Write one data file (or block folder) at ``path``, which does not exist yet,
        with the label arrays in ``targets`` ("labels", "frame_targets"; either may be
        absent). Returns its xxh3_128 hex digest (``layout.digest_path``), taken from
        the bytes as they are written."""
        ...

    def renumber(self, path: Path, first_id: int) -> None:
        """Give the examples of a written data file the ids ``first_id, first_id + 1,
        ...``, changing nothing else."""
        ...


FORMATS: dict[str, Format] = {"hdf5": hdf5, "npy": npy}  # type: ignore[dict-item]


def get_format(name: str) -> Format:
    """The storage module called ``name``."""
    try:
        return FORMATS[name]
    except KeyError:
        raise DatasetError(
            f"unknown storage format {name!r} (known: {', '.join(FORMATS)})"
        ) from None
