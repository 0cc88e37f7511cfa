"""A subset of a dataset chosen by manifest values (``where={"fold": [1, 2, 3]}``): the
examples it holds, and its statistics, merged from the statistics of its sources that
the dataset stores (source_statistics.npz), with no pass over the features."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset.manifest_table import Column, ManifestTable
from ..dataset.stats import GroupStats
from ..errors import DatasetError

Where = Mapping[str, Any]  # column name -> a value, or a list of values
_SHOWN = 8  # values listed in an error


def _columns(table: ManifestTable) -> dict[str, Column]:
    return {"source": table.source, "label": table.label, **table.extra}


def _wanted(values: Any) -> list[Any]:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)


class _Lookup:
    """The codes of a column's cells that equal a value: as text, or as a number for a
    number (so the value 1 matches a cell "1" or "1.0"). Text by a dict; the cells'
    numbers are parsed once, on the first number asked for."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self._codes = {cell: code for code, cell in enumerate(values)}
        self._numbers: dict[float, list[int]] | None = None

    def codes(self, value: Any) -> list[int]:
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        ):
            return self._by_number().get(float(value), [])
        code = self._codes.get(value if isinstance(value, str) else str(value))
        return [] if code is None else [code]

    def _by_number(self) -> dict[float, list[int]]:
        if self._numbers is None:
            self._numbers = {}
            for code, cell in enumerate(self.values):
                try:
                    number = float(cell)
                except ValueError:
                    continue
                self._numbers.setdefault(number, []).append(code)
        return self._numbers


def where_positions(table: ManifestTable, where: Where, root: Path) -> np.ndarray:
    """Ascending positions of the examples whose manifest values are among those ``where``
    gives for each of its columns (source, label or a metadata column)."""
    columns = _columns(table)
    keep = np.ones(len(table), dtype=bool)
    for name, values in where.items():
        column = columns.get(name)
        if column is None:
            raise ValueError(
                f"{root}: where: the manifest has no column {name!r} "
                f"(columns to select on: {', '.join(columns)})"
            )
        lookup = _Lookup(column.values)
        codes = []
        for value in _wanted(values):
            found = lookup.codes(value)
            if not found:
                shown = ", ".join(column.values[:_SHOWN])
                more = ", ..." if len(column.values) > _SHOWN else ""
                raise ValueError(
                    f"{root}: where: column {name!r} has no value {value!r} "
                    f"(its values: {shown}{more})"
                )
            codes.extend(found)
        keep &= np.isin(column.codes, codes)
    positions = np.flatnonzero(keep)
    if not len(positions):
        raise ValueError(f"{root}: where={dict(where)!r} holds no example")
    return positions


def subset_statistics(
    sources: GroupStats, positions: np.ndarray, table: ManifestTable, where: Where, root: Path
) -> dict[str, Any]:
    """The statistics (as dataset.json records them) of the examples at ``positions``,
    merged from their sources' statistics; every source must be wholly in or out."""
    totals = np.bincount(sources.example_group, minlength=len(sources))
    taken = np.bincount(sources.example_group[positions], minlength=len(sources))
    split = np.flatnonzero((taken > 0) & (taken < totals))
    if len(split):
        first = int(np.flatnonzero(sources.example_group == split[0])[0])
        name = table.source.values[table.source.codes[first]]
        raise DatasetError(
            f"{root}: where={dict(where)!r} takes {taken[split[0]]} of the {totals[split[0]]} "
            f"examples of source {name} (from {table.start[first]:g} s); statistics merge "
            "whole sources only: normalise by a column that holds whole sources (a metadata "
            "column such as a fold, or source), or pass statistics_where"
        )
    return sources.merged(np.flatnonzero(taken)).to_dict()
