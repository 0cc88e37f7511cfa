"""manifest.csv, streamed row by row: ids, paths, indices, labels (also against the
stored ones) and times; then the ids without a row and the rows per data file."""

from __future__ import annotations

import csv
import posixpath
from collections import Counter
from typing import Any

import numpy as np

from ..columns import MANIFEST_COLUMNS
from ..dataset.layout import MANIFEST_CSV, check_inside
from ..dataset.manifest import extra_columns
from ..dataset.storage import Reader
from ..dataset.storage.check.record import DatasetRecord
from ..dataset.storage.check.report import Log
from ..errors import DatasetError
from ..naming import natural_key

_SEPARATOR = ";"  # between the class names of one manifest label (README, Labels)


class _StoredLabels:
    """The stored labels of one data file at a time, as manifest label text."""

    def __init__(self, ds: DatasetRecord, usable: set[int]) -> None:
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
                    self._reader = ds.fmt.Reader(
                        ds.root, ds.files, ds.config.storage, verify_checksums=True
                    )
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

    def __init__(
        self, ds: DatasetRecord, labels: _StoredLabels, wanted: set[int], log: Log
    ) -> None:
        self.ds, self.labels, self.wanted, self.log = ds, labels, wanted, log
        self.line_of = np.zeros(ds.examples + 1, dtype=np.int64)  # 0: no row yet
        self.rows = 0
        self.last_id = 0
        self.last_path = ""
        self.last_key: Any = None
        self.files = {record.path: i for i, record in enumerate(ds.files)}
        self.per_file: Counter[int] = Counter()
        self.classes = set(ds.classes)
        self.columns = (*MANIFEST_COLUMNS, *extra_columns(ds.info))
        # recompute: id -> (source, start, duration)
        self.picked: dict[int, tuple[str, float, float]] = {}
        self.mostly_padding: list[int] = []  # ids of windows under half of audio

    def add(self, where: str, example: int | None, message: str, kind: str) -> None:
        self.log.add(where, example, message, kind=kind, scope=MANIFEST_CSV)

    def row(self, line: int, fields: list[str]) -> None:
        self.rows += 1
        where = f"{MANIFEST_CSV}:{line}"
        if len(fields) != len(self.columns):
            self.add(where, None, f"{len(fields)} fields, expected {len(self.columns)}", "fields")
            return
        text_id, path, text_index, label, source, text_start, text_duration = fields[
            : len(MANIFEST_COLUMNS)
        ]
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
        elif duration < length / 2:
            self.mostly_padding.append(example)
        if example in self.wanted:
            self.picked[example] = (source, start, duration)

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


def check_manifest(
    ds: DatasetRecord, labelled: set[int], wanted: set[int], log: Log
) -> tuple[dict[int, tuple[str, float, float]], list[int]]:
    """Stream manifest.csv through the row checks; returns (source, start, duration)
    of the examples in ``wanted`` that have a valid row, and the ids of the windows
    that are more than half zero padding."""
    path = ds.root / MANIFEST_CSV
    if not path.is_file():
        log.add(MANIFEST_CSV, None, "missing")
        return {}, []
    labels = _StoredLabels(ds, labelled)
    check = _ManifestCheck(ds, labels, wanted, log)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = next(rows, [])
            if tuple(header) != check.columns:
                log.add(
                    f"{MANIFEST_CSV}:1",
                    None,
                    f"columns {','.join(header)}, expected {','.join(check.columns)} "
                    "(dataset.json's manifest.columns)",
                )
                return {}, []
            for fields in rows:
                check.row(rows.line_num, fields)
    except (UnicodeDecodeError, csv.Error) as exc:
        log.add(MANIFEST_CSV, None, f"unreadable ({exc})")
        return {}, []
    finally:
        labels.close()
    check.finish()
    return check.picked, check.mostly_padding
