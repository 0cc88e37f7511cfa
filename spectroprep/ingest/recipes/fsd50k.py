"""FSD50K (Fonseca et al. 2022), as Zenodo ships it::

    ROOT/FSD50K.dev_audio/64760.wav ...     ROOT/FSD50K.eval_audio/37199.wav ...
    ROOT/FSD50K.ground_truth/dev.csv    fname,labels,mids,split   (split: train or val)
    ROOT/FSD50K.ground_truth/eval.csv   fname,labels,mids

Multi-label: ``labels`` holds the class names joined by commas. ``split`` (train,
val, and test for the evaluation set) goes to the manifest, the protocol's split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..tables import read_table
from . import Corpus, Row, corpus_of

SPLIT = "spectroprep shard {dataset} --out {dataset}-splits --split-column split"


def _rows(root: Path) -> Iterator[Row]:
    truth = root / "FSD50K.ground_truth"
    for part, audio in (("dev", "FSD50K.dev_audio"), ("eval", "FSD50K.eval_audio")):
        table = truth / f"{part}.csv"
        required = ("fname", "labels", "split") if part == "dev" else ("fname", "labels")
        for line, row in read_table(table, required=required):
            split = row["split"] if part == "dev" else "test"
            yield Row(
                f"{table}:{line}", f"{audio}/{row['fname']}.wav", row["labels"], {"split": split}
            )


def read(root: Path) -> Corpus:
    return corpus_of(root, _rows(root), label_sep=",", multi_label=True)
