"""Clip labels: from a CSV (path,label), from folder names, or none.

Labels are resolved and checked before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import InputError
from .naming import natural_sorted
from .sources import Inputs, read_csv

NO_LABEL = -1


@dataclass(frozen=True)
class LabelSet:
    """The class list and one class id per input file (``NO_LABEL`` when unlabelled)."""

    kind: str  # "single" or "none"
    classes: tuple[str, ...]
    file_labels: tuple[int, ...]

    def class_name(self, label: int) -> str:
        """Name of class id ``label`` ("" for ``NO_LABEL``)."""
        return "" if label == NO_LABEL else self.classes[label]


def read_labels_csv(path: Path) -> dict[str, str]:
    """{relative audio path: label} from a CSV with columns path,label."""
    labels: dict[str, str] = {}
    for line, row in read_csv(path, required=("path", "label")):
        name, label = row["path"].strip(), row["label"].strip()
        if not label:
            raise InputError(f"{path}:{line}: empty label for {name}")
        if name in labels:
            raise InputError(f"{path}:{line}: {name} is labelled twice")
        labels[name] = label
    return labels


def _from_folders(inputs: Inputs) -> dict[str, str]:
    labels = {}
    for name in inputs.files:
        parent = PurePosixPath(name).parent
        if parent == PurePosixPath("."):
            raise InputError(
                f"{inputs.path(name)}: --labels-from-folders needs each file in a class folder"
            )
        labels[name] = parent.name
    return labels


def resolve_labels(
    inputs: Inputs, *, labels: str | Path | None = None, labels_from_folders: bool = False
) -> LabelSet:
    """Label every input file, or none of them; mismatches are errors naming the file."""
    if labels is not None and labels_from_folders:
        raise InputError("give either --labels or --labels-from-folders, not both")
    if labels is not None:
        by_name, origin = read_labels_csv(Path(labels)), str(labels)
    elif labels_from_folders:
        by_name, origin = _from_folders(inputs), "folder names"
    elif inputs.listed_labels is not None:
        by_name, origin = inputs.listed_labels, "the listing's label column"
    else:
        return LabelSet("none", (), (NO_LABEL,) * len(inputs.files))

    known = set(inputs.files)
    unknown = [name for name in by_name if name not in known]
    if unknown:
        raise InputError(
            f"{origin}: {len(unknown)} labelled file(s) are not among the input audio, "
            f"e.g. {unknown[0]} (paths are relative to {inputs.root})"
        )
    unlabelled = [name for name in inputs.files if not by_name.get(name)]
    if unlabelled:
        raise InputError(
            f"{inputs.path(unlabelled[0])}: no label in {origin} "
            f"({len(unlabelled)} input file(s) have none)"
        )
    classes = tuple(natural_sorted(set(by_name.values())))
    ids = {c: i for i, c in enumerate(classes)}
    return LabelSet("single", classes, tuple(ids[by_name[name]] for name in inputs.files))
