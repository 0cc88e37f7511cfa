"""manifest.csv: one row per example, in id order, with any metadata columns after the
fixed ones (dataset.json lists them under "manifest")."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..columns import MANIFEST_COLUMNS
from ..errors import DatasetError
from .layout import write_csv


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One example: where its features are and where they came from."""

    id: int  # 1-based example id; example i of the dataset has id i + 1
    path: str  # shard file or per-example .npy, relative to the dataset folder
    index: int  # row in the shard, or position in the npy block
    label: str  # class name(s), ";"-joined; empty when unlabelled
    source: str  # source audio, relative to the audio root
    start: float  # seconds into the source
    duration: float  # seconds of real audio in the window (less when zero-padded)
    extra: Mapping[str, str] = field(default_factory=dict)  # metadata columns by name

    def fields(self, extra_columns: Sequence[str]) -> list[object]:
        """The row's cells, as manifest.csv writes them."""
        fixed = [self.id, self.path, self.index, self.label, self.source]
        times = [f"{self.start:.6f}", f"{self.duration:.6f}"]
        return [*fixed, *times, *(self.extra[c] for c in extra_columns)]


def extra_columns(info: Mapping[str, Any]) -> tuple[str, ...]:
    """The metadata columns a dataset's manifest has after the fixed ones."""
    columns = info.get("manifest", {}).get("columns", MANIFEST_COLUMNS)
    return tuple(columns[len(MANIFEST_COLUMNS) :])


def describe_columns(extra: Sequence[str]) -> dict[str, Any]:
    """What dataset.json records under "manifest"."""
    return {"columns": [*MANIFEST_COLUMNS, *extra]}


def write_manifest(path: Path, rows: Iterable[ManifestRow], extra: Sequence[str] = ()) -> None:
    """Write manifest.csv atomically, rows as given (callers pass id order)."""
    write_csv(path, (*MANIFEST_COLUMNS, *extra), (r.fields(extra) for r in rows))


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a manifest.csv."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = tuple(reader.fieldnames or ())
        if columns[: len(MANIFEST_COLUMNS)] != MANIFEST_COLUMNS:
            raise DatasetError(f"{path}: columns {columns} do not begin {MANIFEST_COLUMNS}")
        extra = columns[len(MANIFEST_COLUMNS) :]
        return [
            ManifestRow(
                int(r["id"]),
                r["path"],
                int(r["index"]),
                r["label"],
                r["source"],
                float(r["start"]),
                float(r["duration"]),
                {c: r[c] for c in extra},
            )
            for r in reader
        ]
