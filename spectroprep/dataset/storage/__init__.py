"""Storage formats: each a module with a data-file writer, a reader and its checks,
chosen by name from ``plugins.FORMATS``.

The name is stored in dataset.json (``config.storage.format``), so a reader
always knows which module wrote the data. Everything that differs between
formats is in the ``Format`` protocol below; nothing outside the format's own
module names one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from ...config import StorageConfig
from ...errors import DatasetError
from ...plugins import FORMATS
from ..layout import FileRecord

if TYPE_CHECKING:
    from .check.record import DatasetRecord
    from .check.report import Log
    from .check.values import Totals


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
        with ``name="frame_targets"`` the dense frame targets (len(rows), T, C) of a
        dataset built before they were stored as runs."""
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

    def array(self, file: int, name: str) -> np.ndarray:
        """Another per-file array of data file ``file``, whole: the frame targets' runs
        (``dataset/frame_events.py``)."""
        ...

    def close(self) -> None: ...


class Format(Protocol):
    """What a storage format provides (a module, or any object with these names)."""

    Reader: type[Reader]
    OWNED: re.Pattern[str]  # relative paths (posix) of everything the format writes

    def file_name(self, index: int) -> str:
        """Path of data file ``index``, relative to the dataset folder."""
        ...

    def example_path(self, file: str, row: int, example_id: int) -> str:
        """What manifest.csv's "path" names for row ``row`` of data file ``file``."""
        ...

    def examples_per_file(self, storage: StorageConfig) -> int:
        """Most examples a data file holds with these settings."""
        ...

    def chunk_rows(self, storage: StorageConfig) -> int:
        """Rows that are read together (a chunk): shuffled epochs keep runs of whole
        chunks, so that a shuffled read costs what a sequential one does."""
        ...

    def check_storage(self, storage: StorageConfig) -> None:
        """Raise ConfigError if this process cannot read such files (a codec's plugin
        is missing, ...)."""
        ...

    def check_file(self, ds: DatasetRecord, file: int, log: Log, totals: Totals) -> bool:
        """``verify``: check data file ``file`` in full, adding what is wrong to ``log``
        and its label counts to ``totals``; True if its labels are readable and valid."""
        ...

    def advice(self, storage: Mapping[str, Any]) -> list[str]:
        """``bench``: what would make these files read faster, in words with the
        command to run (dataset.json's "storage" settings)."""
        ...

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
        with the label arrays in ``targets`` ("labels", and the frame targets' runs
        "frame_events" and "frame_event_offsets"; any may be absent). Returns its
        xxh3_128 hex digest (``layout.digest_path``), taken from the bytes as they are
        written."""
        ...

    def renumber(self, path: Path, first_id: int) -> None:
        """Give the examples of a written data file the ids ``first_id, first_id + 1,
        ...``, changing nothing else: its size stays (the build keeps the recorded size
        and takes a new digest)."""
        ...


def get_format(name: str) -> Format:
    """The storage format called ``name``."""
    try:
        return cast(Format, FORMATS.get(name))
    except KeyError as exc:
        raise DatasetError(exc.args[0]) from None


def all_formats() -> list[Format]:
    """Every registered format."""
    return [get_format(name) for name in FORMATS.names()]
