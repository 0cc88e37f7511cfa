"""Which source examples go into which new dataset, in which order: one dataset, or
one per split (by ratios over groups, or by a manifest column), each in the source's
order or shuffled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dataset.manifest_table import ManifestTable
from ..errors import ConfigError
from ..naming import natural_sorted
from .parts import SourceFiles
from .split import SplitMap, achieved_shares, assign_groups, check_split_name


@dataclass(frozen=True)
class SplitRequest:
    """How to split: ``ratios`` by groups of ``group_by``, or the values of ``column``."""

    ratios: dict[str, float] | None = None
    group_by: str = "source"
    stratify: bool = False
    column: str | None = None
    column_map: SplitMap | None = None  # which column values make which split
    train: str = "train"  # the split whose statistics every split records

    def record(self, names: Sequence[str]) -> dict[str, Any]:
        """What dataset.json records of the split (the achieved shares are added)."""
        if self.column is not None:
            how: dict[str, Any] = {"column": self.column}
            if self.column_map is not None:
                how["map"] = {k: list(v) for k, v in self.column_map.splits.items()}
                how["rest"] = self.column_map.rest
        else:
            how = {"ratios": self.ratios, "group_by": self.group_by, "stratify": self.stratify}
        return {"splits": list(names), **how}


@dataclass(frozen=True)
class Planned:
    """The new datasets: names (None: one dataset, no split) and source positions."""

    names: list[str | None]
    positions: list[np.ndarray]
    shares: dict[str, Any] | None  # per split: examples, share, per-class shares


def class_counts(
    groups: np.ndarray, n_groups: int, src: SourceFiles, labels: Any
) -> np.ndarray | None:
    """(groups, classes) examples of each class per group (positive labels when
    multi-hot); None for an unlabelled dataset. ``labels(file)`` reads one file's labels."""
    if src.kind == "none":
        return None
    counts = np.zeros((n_groups, src.n_classes), dtype=np.int64)
    starts = src.starts
    for file in range(len(src.files)):
        values = labels(file)
        mine = groups[starts[file] : starts[file + 1]]
        if values.ndim == 1:
            np.add.at(counts, (mine, values), 1)
        else:
            np.add.at(counts, mine, values.astype(np.int64))
    return counts


def _column_split(
    table: ManifestTable, column: str, column_map: SplitMap | None
) -> tuple[list[str], np.ndarray]:
    """Split names, and each example's split: one split per value of ``column``, or
    the splits of ``column_map``."""
    values = table.column(column)
    blank = [v for v in values.values if not v.strip()]
    if blank:
        n = int(np.isin(values.codes, [values.values.index(v) for v in blank]).sum())
        raise ConfigError(
            f"--split-column {column}: {n} example(s) have no {column} value "
            "(fill the metadata table's cells, then build again)"
        )
    if column_map is None:
        order = natural_sorted(values.values)
        names = [
            check_split_name(
                v if any(c.isalpha() for c in v) else f"{column}-{v}", f"--split-column {column}"
            )
            for v in order
        ]
        rank = {v: i for i, v in enumerate(order)}
        to_split = np.array([rank[v] for v in values.values], dtype=np.int64)
        return names, to_split[values.codes]
    names = list(column_map.splits)
    if column_map.rest is not None:
        names.append(column_map.rest)
    unmapped = [v for v in natural_sorted(values.values) if column_map.split_of(v) is None]
    if unmapped:
        raise ConfigError(
            f"--split-map: {column} value(s) {', '.join(map(repr, unmapped))} are in no split "
            "(name them, or end the map with ;rest=NAME)"
        )
    to_split = np.array(
        [names.index(column_map.split_of(v) or "") for v in values.values], dtype=np.int64
    )
    return names, to_split[values.codes]


def plan(
    table: ManifestTable,
    src: SourceFiles,
    labels: Any,
    request: SplitRequest | None,
    *,
    shuffle: bool,
    seed: int,
    classes: Sequence[str],
) -> Planned:
    """The new datasets' source positions; with a split request, every example of a
    group lands in one split. ``labels(file)`` reads a source file's labels."""
    n = len(table)
    if request is None:
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        return Planned([None], [order], None)
    group = table.column(request.column or request.group_by)
    n_groups = len(group.values)
    counts = class_counts(group.codes, n_groups, src, labels)
    if request.column is not None:
        names, split_of = _column_split(table, request.column, request.column_map)
    else:
        assert request.ratios is not None  # a split by ratios when not by column
        if request.stratify and counts is None:
            raise ConfigError("--stratify needs a labelled dataset (this one has no labels)")
        names = list(request.ratios)
        sizes = np.bincount(group.codes, minlength=n_groups)
        ratios = list(request.ratios.values())
        by_group = assign_groups(sizes, ratios, seed, counts if request.stratify else None)
        split_of = by_group[group.codes]
    per_split = None
    if counts is not None:
        group_split = np.zeros(n_groups, dtype=np.int64)
        group_split[group.codes] = split_of
        per_split = np.zeros((len(names), counts.shape[1]), dtype=np.int64)
        np.add.at(per_split, group_split, counts)
    positions = []
    for k in range(len(names)):
        mine = np.flatnonzero(split_of == k)
        if shuffle:
            mine = np.random.default_rng([seed, k]).permutation(mine)
        positions.append(mine)
    empty = [name for name, p in zip(names, positions, strict=True) if len(p) == 0]
    if empty and request.column_map is not None:
        raise ConfigError(
            f"--split-map: split {empty[0]} would be empty (no example has a {request.column} "
            "value it names)"
        )
    if empty:
        raise ConfigError(
            f"split {empty[0]} would be empty ({n_groups} group(s) of {request.group_by}): "
            "use fewer splits or larger ratios"
        )
    shares = achieved_shares(names, split_of, per_split, classes)
    return Planned(list(names), positions, shares)
