"""AudioSet (Gemmeke et al. 2017), as its CSVs ship and as clips are usually
downloaded::

    ROOT/class_labels_indices.csv    index,mid,display_name   (527 classes)
    ROOT/balanced_train_segments.csv, eval_segments.csv, unbalanced_train_segments.csv
        # comment lines, then "# YTID, start_seconds, end_seconds, positive_labels"
        --PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"
    ROOT/**/<YTID>.wav (or Y<YTID>.wav, or <YTID>_<start>.wav): the 10-s clips

Multi-label, class names from ``display_name``. Each clip is found by its YTID
anywhere under ROOT; segments whose clip was not downloaded are left out with a
warning (every AudioSet download misses some). ``set`` (the segments file:
balanced_train, eval, unbalanced_train) goes to the manifest.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator
from pathlib import Path

from ...errors import InputError, SpectroprepWarning
from ...naming import natural_sorted
from ..sources import find_inputs
from ..tables import not_utf8, read_table
from . import Corpus, Row, corpus_of

SPLIT = "spectroprep shard {dataset} --out {dataset}-splits --split-column set"


def _class_names(root: Path) -> dict[str, str]:
    table = root / "class_labels_indices.csv"
    rows = read_table(table, required=("mid", "display_name"))
    return {row["mid"].strip(): row["display_name"].strip() for _, row in rows}


def _clip_finder(root: Path) -> dict[str, str]:
    """Every audio file under ``root`` by the YTID its name gives."""
    by_id: dict[str, str] = {}
    for name in find_inputs(root).files:
        stem = Path(name).stem
        bare = stem[1:] if stem.startswith("Y") else stem
        # YTIDs are 11 characters: <YTID>, Y<YTID>, <YTID>_<start>[_<end>] all name one
        for ytid in {stem, bare, stem.rsplit("_", 1)[0], stem[:11], bare[:11]}:
            by_id.setdefault(ytid, name)
    return by_id


def _rows(table: Path, names: dict[str, str], clips: dict[str, str]) -> Iterator[Row | None]:
    """A segments file's rows (None for a segment without a clip); comment lines and
    the spaces after commas are skipped."""
    try:
        lines = table.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise not_utf8(table) from None
    split = table.stem.removesuffix("_segments")
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.startswith("#"):
            continue
        where = f"{table}:{number}"
        cells = next(csv.reader([text], skipinitialspace=True))
        if len(cells) != 4:
            raise InputError(f"{where}: {len(cells)} cell(s), not YTID, start, end, labels")
        ytid, mids = cells[0].strip(), [m.strip() for m in cells[3].split(",")]
        unknown = [m for m in mids if m not in names]
        if unknown:
            raise InputError(f"{where}: {unknown[0]!r} is not in class_labels_indices.csv")
        clip = clips.get(ytid)
        yield (
            None
            if clip is None
            else Row(where, clip, ";".join(names[m] for m in mids), {"set": split})
        )


def read(root: Path) -> Corpus:
    names = _class_names(root)
    tables = [Path(p) for p in natural_sorted(str(p) for p in root.glob("*_segments.csv"))]
    if not tables:
        raise InputError(f"{root}: no *_segments.csv (balanced_train_segments.csv, ...)")
    clips = _clip_finder(root)
    listed = [row for table in tables for row in _rows(table, names, clips)]
    rows = [row for row in listed if row is not None]
    if len(rows) < len(listed):
        warnings.warn(
            f"{root}: {len(listed) - len(rows)} of {len(listed)} AudioSet segments have no "
            "clip under it (left out)",
            SpectroprepWarning,
            stacklevel=3,
        )
    return corpus_of(root, rows, multi_label=True)
