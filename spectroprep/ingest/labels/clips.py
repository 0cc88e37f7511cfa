"""Clip labels: one or several classes per file, from a CSV, folder names or the
listing's label column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ...errors import InputError
from ..sources import Inputs, rows_by_input
from ..tables import Columns

if TYPE_CHECKING:
    from ...config import Config
    from ..headers import Source
from .model import FileLabels, LabelSet
from .vocabulary import Vocabulary, split_cell


@dataclass(frozen=True)
class ClipLabels:
    """One set of classes per file: multi-label when asked or when any file has several,
    else single-label."""

    kind: str
    classes: tuple[str, ...]
    file_classes: dict[str, tuple[int, ...]]  # every input's class ids, by name

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        files = tuple(FileLabels(classes=self.file_classes[s.name]) for s in sources)
        return LabelSet(self.kind, self.classes, files)


def clip_labels(
    inputs: Inputs,
    cells: dict[str, tuple[str, str]],
    origin: str,
    vocabulary: Vocabulary,
    multi_label: bool,
    sep: str,
) -> ClipLabels:
    """``cells``: {input name: (where, label cell)} covering every input file; a cell
    names several classes separated by ``sep``."""
    by_name = {
        name: split_cell(cell, where, vocabulary, sep) for name, (where, cell) in cells.items()
    }
    unlabelled = [name for name in inputs.files if name not in cells]
    if unlabelled:
        raise InputError(
            f"{inputs.path(unlabelled[0])}: no label in {origin} "
            f"({len(unlabelled)} input file(s) have none)"
        )
    classes = vocabulary.classes()
    ids = {c: i for i, c in enumerate(classes)}
    file_classes = {name: tuple(ids[c] for c in by_name[name]) for name in inputs.files}
    kind = "multi" if multi_label or any(len(c) > 1 for c in file_classes.values()) else "single"
    return ClipLabels(kind, classes, file_classes)


def cells_from_table(path: Path, inputs: Inputs, columns: Columns) -> dict[str, tuple[str, str]]:
    rows = rows_by_input(path, inputs, required=(columns.label,), path_column=columns.path)
    return {name: (where, row[columns.label]) for name, (where, row) in rows.items()}


def cells_from_folders(inputs: Inputs) -> dict[str, tuple[str, str]]:
    cells = {}
    for name in inputs.files:
        parent = PurePosixPath(name).parent
        if parent == PurePosixPath("."):
            raise InputError(
                f"{inputs.path(name)}: --labels-from-folders needs each file in a class folder"
            )
        cells[name] = (str(inputs.path(name)), parent.name)
    return cells
