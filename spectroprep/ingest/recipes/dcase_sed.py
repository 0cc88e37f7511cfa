"""A DCASE sound event detection set: a folder of audio and one events table::

    ROOT/.../a.wav ...
    ROOT/.../*.tsv    filename<TAB>onset<TAB>offset<TAB>event_label (seconds)

Windows get weak labels and frame targets from the events; a file the table does
not name is a negative. Development and evaluation sets come as separate folders:
build each with this recipe (give the evaluation build ``--classes`` of the
development set so that class ids agree).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ...errors import InputError
from ...naming import natural_sorted
from ..sources import find_inputs
from ..tables import delimiter_of
from . import Corpus, Row, corpus_of

SPLIT = (
    "spectroprep shard {dataset} --out {dataset}-splits --split train=0.9,val=0.1   "
    "(the evaluation set is a build of its own)"
)
_COLUMNS = ("filename", "onset", "offset", "event_label")


def _is_events_table(path: Path) -> bool:
    """True if the header line of ``path`` names the DCASE columns (the rows are
    checked when the table is read, each error naming its line)."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            header = f.readline()
    except (OSError, UnicodeDecodeError):
        return False
    names = {c.strip().lower() for c in header.split(delimiter_of(header))}
    return set(_COLUMNS) <= names


def read(root: Path) -> Corpus:
    tables = [
        Path(p)
        for p in natural_sorted(str(p) for p in root.rglob("*.tsv"))
        if _is_events_table(Path(p))
    ]
    if len(tables) != 1:
        found = ", ".join(map(str, tables)) or "none"
        raise InputError(
            f"{root}: needs one DCASE events table (.tsv with {', '.join(_COLUMNS)}); found {found}"
        )
    inputs = find_inputs(root)
    corpus = corpus_of(root, (Row(str(root / n), n, "") for n in inputs.files))
    return replace(corpus, inputs=replace(corpus.inputs, listed_labels=None), events=tables[0])
