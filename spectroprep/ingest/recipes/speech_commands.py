"""Speech Commands (Warden 2018), v0.01 or v0.02::

    ROOT/yes/0a7c2a8d_nohash_0.wav ...          1 s, 16 kHz, one folder per word
    ROOT/validation_list.txt  ROOT/testing_list.txt    one path (word/file.wav) a line
    ROOT/_background_noise_/                    long noise recordings, not a class

Labels are the word folders; ``split`` (train, validation, testing, from the two
lists) and ``speaker`` (the file name before ``_nohash_``) go to the manifest.
The protocol is the lists' split.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ..sources import find_inputs
from ..tables import not_utf8
from . import Corpus, Row, corpus_of

SPLIT = "spectroprep shard {dataset} --out {dataset}-splits --split-column split"


def _listed(path: Path) -> set[str]:
    if not path.is_file():
        raise InputError(f"{path}: no such file (Speech Commands lists its splits there)")
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line}
    except UnicodeDecodeError:
        raise not_utf8(path) from None


def read(root: Path) -> Corpus:
    validation = _listed(root / "validation_list.txt")
    testing = _listed(root / "testing_list.txt")
    names = [
        name
        for name in find_inputs(root).files
        if "/" in name and not name.startswith("_")  # _background_noise_ is not a word
    ]

    def split(name: str) -> str:
        return "validation" if name in validation else "testing" if name in testing else "train"

    return corpus_of(
        root,
        (
            Row(
                str(root / name),
                name,
                name.split("/")[0],
                {"split": split(name), "speaker": Path(name).stem.split("_nohash_")[0]},
            )
            for name in names
        ),
    )
