"""GTZAN genre collection (Tzanetakis and Cook 2002)::

    ROOT/genres/blues/blues.00000.wav ...     (or genres_original/, or the genre folders
                                              in ROOT itself) 10 genres x 100 clips of 30 s

Labels are the genre folders. There is no official split; the usual protocol is
a stratified one, which ``shard --split ... --stratify`` makes. One file of the
published corpus (jazz.00054.wav) does not decode: build with ``--on-error skip``.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ..sources import find_inputs
from . import Corpus, Row, corpus_of

SPLIT = (
    "spectroprep shard {dataset} --out {dataset}-splits "
    "--split train=0.8,val=0.1,test=0.1 --stratify"
)


def read(root: Path) -> Corpus:
    for folder in (root / "genres", root / "genres_original", root):
        if folder.is_dir() and any(p.is_dir() for p in folder.iterdir()):
            break
    else:
        raise InputError(f"{root}: no genres/ folder of genre folders")
    inputs = find_inputs(folder)
    return corpus_of(
        folder,
        (Row(str(folder / name), name, Path(name).parent.name) for name in inputs.files),
    )
