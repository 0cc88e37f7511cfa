"""UrbanSound8K (Salamon et al. 2014)::

    ROOT/audio/fold1 ... fold10/100032-3-0-0.wav ...    8,732 slices of up to 4 s
    ROOT/metadata/UrbanSound8K.csv
        slice_file_name,fsID,start,end,salience,fold,classID,class

Labels are ``class``; ``fold`` (1-10), ``fsID`` (the Freesound recording a slice
was cut from), ``salience``, and ``start`` and ``end`` as ``slice_start`` and
``slice_end`` (the slice's place in that recording, not in the file) go to the
manifest. The protocol is 10-fold
cross-validation over the given folds, which keep each recording in one fold.
"""

from __future__ import annotations

from pathlib import Path

from ..tables import read_table
from . import Corpus, Row, corpus_of

SPLIT = (
    "spectroprep shard {dataset} --out {dataset}-fold1 --split-column fold "
    "--split-map 'test=1;rest=train'   (and likewise test=2 ... test=10)"
)
# metadata column: table column ("start" and "end" are the manifest's own names)
_METADATA = {
    "fold": "fold",
    "fsID": "fsID",
    "salience": "salience",
    "slice_start": "start",
    "slice_end": "end",
}


def read(root: Path) -> Corpus:
    table = root / "metadata" / "UrbanSound8K.csv"
    rows = read_table(table, required=("slice_file_name", "class", *_METADATA.values()))
    return corpus_of(
        root / "audio",
        (
            Row(
                f"{table}:{line}",
                f"fold{row['fold'].strip()}/{row['slice_file_name']}",
                row["class"],
                {name: row[column] for name, column in _METADATA.items()},
            )
            for line, row in rows
        ),
    )
