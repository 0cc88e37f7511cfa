"""ESC-50 (Piczak 2015), as its repository ships it::

    ROOT/audio/1-100032-A-0.wav ...                2,000 clips of 5 s, 44.1 kHz mono
    ROOT/meta/esc50.csv   filename,fold,target,category,esc10,src_file,take

Labels are ``category``; ``fold`` (1-5), ``target``, ``esc10``, ``src_file`` and
``take`` go to the manifest. The protocol is 5-fold cross-validation over the
given folds (clips of one source recording share a fold).
"""

from __future__ import annotations

from pathlib import Path

from ..tables import read_table
from . import Corpus, Row, corpus_of

SPLIT = (
    "spectroprep shard {dataset} --out {dataset}-fold1 --split-column fold "
    "--split-map 'test=1;rest=train'   (and likewise test=2 ... test=5)"
)
_METADATA = ("fold", "target", "esc10", "src_file", "take")


def read(root: Path) -> Corpus:
    table = root / "meta" / "esc50.csv"
    rows = read_table(table, required=("filename", "category", *_METADATA))
    return corpus_of(
        root / "audio",
        (
            Row(f"{table}:{line}", row["filename"], row["category"], {c: row[c] for c in _METADATA})
            for line, row in rows
        ),
    )
