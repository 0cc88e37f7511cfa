"""The source dataset's manifest held as arrays, one entry per example: what
``shard`` groups and splits on, and what it writes back into each new manifest.

Text columns are stored as integer codes into their distinct values, so a
manifest of a million rows takes tens of MB, not a list of a million dicts.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..columns import MANIFEST_COLUMNS, ORIGIN_ID
from ..errors import ConfigError, DatasetError
from .layout import MANIFEST_CSV
from .manifest import ManifestRow, extra_columns
from .storage import Format


@dataclass(frozen=True)
class Column:
    """A text column: each example's code into ``values``."""

    codes: np.ndarray  # (N,) int32
    values: list[str]


class _Interner:
    def __init__(self) -> None:
        self.codes = array("i")
        self.index: dict[str, int] = {}

    def add(self, text: str) -> None:
        code = self.index.get(text)
        if code is None:
            code = self.index[text] = len(self.index)
        self.codes.append(code)

    def column(self) -> Column:
        return Column(np.frombuffer(self.codes, dtype=np.int32), list(self.index))


@dataclass(frozen=True)
class ManifestTable:
    """Every example's manifest entry but its place (id, path, index)."""

    label: Column
    source: Column
    start: np.ndarray  # (N,) float64 seconds
    duration: np.ndarray  # (N,) float64 seconds
    extra: dict[str, Column]  # metadata columns, in manifest order
    origin_id: np.ndarray  # (N,) int64: the id in the dataset first built

    def __len__(self) -> int:
        return len(self.start)

    def column(self, name: str) -> Column:
        """The column a split groups or splits on: "source" or a metadata column."""
        if name == "source":
            return self.source
        if name not in self.extra:
            known = ", ".join(["source", *self.extra]) if self.extra else "source"
            raise ConfigError(
                f"the manifest has no column {name!r} (columns to group or split on: {known}; "
                "build --metadata adds more)"
            )
        return self.extra[name]

    def rows(
        self, positions: np.ndarray, counts: Sequence[int], paths: Sequence[str], fmt: Format
    ) -> Iterator[ManifestRow]:
        """The new manifest's rows: the examples at ``positions`` in this order, in data
        files ``paths`` of ``counts`` examples each; the origin id goes last."""
        names = list(self.extra)
        start = 0
        for path, count in zip(paths, counts, strict=True):
            for row, p in enumerate(positions[start : start + count].tolist()):
                example = start + row + 1
                extra = {c: self.extra[c].values[self.extra[c].codes[p]] for c in names}
                extra[ORIGIN_ID] = str(self.origin_id[p])
                yield ManifestRow(
                    example,
                    fmt.example_path(path, row, example),
                    row,
                    self.label.values[self.label.codes[p]],
                    self.source.values[self.source.codes[p]],
                    float(self.start[p]),
                    float(self.duration[p]),
                    extra,
                )
            start += count


def read_manifest_table(root: Path, info: Mapping[str, Any]) -> ManifestTable:
    """The manifest of the dataset at ``root``, checked to hold ids 1..N in order."""
    path = root / MANIFEST_CSV
    extra = extra_columns(info)
    columns = (*MANIFEST_COLUMNS, *extra)
    expected = sum(f["examples"] for f in info["files"])
    label, source = _Interner(), _Interner()
    metadata = {c: _Interner() for c in extra if c != ORIGIN_ID}
    start, duration, origin = array("d"), array("d"), array("q")
    has_origin = ORIGIN_ID in extra
    if not path.is_file():
        raise DatasetError(f"{path}: missing (run spectroprep verify)")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            if tuple(next(reader, [])) != columns:
                raise DatasetError(f"{path}: columns are not {', '.join(columns)}")
            for n, fields in enumerate(reader, start=1):
                cells = dict(zip(columns, fields, strict=True))
                if int(cells["id"]) != n:
                    raise ValueError(f"id {cells['id']} where {n} belongs")
                label.add(cells["label"])
                source.add(cells["source"])
                start.append(float(cells["start"]))
                duration.append(float(cells["duration"]))
                origin.append(int(cells[ORIGIN_ID]) if has_origin else n)
                for name, column in metadata.items():
                    column.add(cells[name])
        except (ValueError, csv.Error, UnicodeDecodeError) as exc:
            raise DatasetError(
                f"{path}:{reader.line_num}: malformed ({exc}; run spectroprep verify)"
            ) from exc
    if len(start) != expected:
        raise DatasetError(
            f"{path}: {len(start)} rows, dataset.json counts {expected} examples "
            "(run spectroprep verify)"
        )
    return ManifestTable(
        label.column(),
        source.column(),
        np.frombuffer(start, dtype=np.float64),
        np.frombuffer(duration, dtype=np.float64),
        {name: column.column() for name, column in metadata.items()},
        np.frombuffer(origin, dtype=np.int64),
    )
