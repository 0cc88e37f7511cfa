"""Recipes: public corpora read in the layout they are published in, with no other
option. A recipe is a module with ``read(root) -> Corpus`` (its docstring gives
the layout) and ``SPLIT``, the ``spectroprep shard`` command of the corpus's
official protocol; each is one line in ``plugins.RECIPES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from ...columns import RESERVED
from ...errors import InputError
from ...naming import natural_sorted
from ...plugins import RECIPES
from ..metadata import Metadata
from ..sources import Inputs, relative_path


@dataclass(frozen=True)
class Corpus:
    """A corpus read into what a build takes: its files with their label cells, the
    metadata the manifest carries, and how to read the cells."""

    inputs: Inputs  # listed_labels holds each file's label cell
    metadata: Metadata = field(default_factory=Metadata)
    label_sep: str = ";"
    multi_label: bool = False
    events: Path | None = None  # a DCASE events table instead of label cells


class Recipe(Protocol):
    SPLIT: str  # the shard command of the official protocol; {dataset} is the dataset

    def read(self, root: Path) -> Corpus: ...


def recipe(name: str) -> Recipe:
    """The recipe called ``name``."""
    try:
        return cast(Recipe, RECIPES.get(name))
    except KeyError as exc:
        raise InputError(exc.args[0]) from None


@dataclass(frozen=True)
class Row:
    """One file of a corpus table: where it is listed, its path under the audio
    root, its label cell and its metadata."""

    where: str
    path: str
    label: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def corpus_of(
    root: Path, rows: Iterable[Row], *, label_sep: str = ";", multi_label: bool = False
) -> Corpus:
    """The corpus of ``rows`` (files under ``root``): each file listed once and
    present, the metadata columns those of the first row."""
    labels: dict[str, tuple[str, str]] = {}
    values: dict[str, dict[str, str]] = {}
    for row in rows:
        name = relative_path(row.path, row.where)
        if name in labels:
            raise InputError(f"{row.where}: {name} is listed twice ({labels[name][0]})")
        if not (root / name).is_file():
            raise InputError(f"{row.where}: {name}: no such file in {root}")
        labels[name] = (row.where, row.label)
        values[name] = dict(row.metadata)
    if not labels:
        raise InputError(f"{root}: the corpus lists no audio files")
    columns = tuple(next(iter(values.values())))
    reserved = [c for c in columns if c in RESERVED]
    if reserved:  # a recipe's own choice of names: a bug if it happens
        raise InputError(f"{root}: metadata column {reserved[0]!r} is one the manifest has")
    inputs = Inputs(root, tuple(natural_sorted(labels)), labels)
    metadata = Metadata(columns, values) if columns else Metadata()
    return Corpus(inputs, metadata, label_sep, multi_label)
