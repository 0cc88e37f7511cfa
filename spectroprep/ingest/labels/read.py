"""Labels of the input files: clip classes, event annotations, per-window arrays, or none.

Labels are read in two steps, both before anything is written. ``read_labels``
parses and checks the label files (each error names the file and, for tables,
the line) and returns a pending label source; after the header pass its
``bind`` matches it to the sources: event times become sample positions,
per-window arrays are checked against each file's window count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import InputError
from ..sources import Inputs

if TYPE_CHECKING:
    from ...config import Config
    from ..headers import Source
from ..tables import Columns
from .clips import cells_from_folders, cells_from_table, clip_labels
from .model import FileLabels, LabelSet, PendingLabels
from .vocabulary import Vocabulary, read_classes
from .windows import WindowLabelFiles


@dataclass(frozen=True)
class NoLabels:
    """An unlabelled build (for inference): no label arrays at all."""

    kind: str = "none"

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        return LabelSet(self.kind, (), tuple(FileLabels() for _ in sources))


def read_labels(
    inputs: Inputs,
    *,
    labels: str | Path | None = None,
    labels_from_folders: bool = False,
    events: str | Path | None = None,
    labels_per_window: bool = False,
    classes: str | Path | None = None,
    multi_label: bool = False,
    columns: Columns | None = None,
) -> PendingLabels:
    """Read and check the one label source given (or the listing's label column, used
    when no other is given). ``multi_label`` stores clip labels multi-hot even when
    every file has one class (so that separately built splits agree). ``columns``
    names the path and label columns of a label table, and the separator between
    the classes of one cell."""
    columns = columns or Columns()
    given = [
        flag
        for flag, value in (
            ("--labels", labels is not None),
            ("--labels-from-folders", labels_from_folders),
            ("--events", events is not None),
            ("--labels-per-window", labels_per_window),
        )
        if value
    ]
    if len(given) > 1:
        raise InputError(f"give one label source, not {' and '.join(given)}")
    fixed = read_classes(classes) if classes is not None else None
    vocabulary = Vocabulary(fixed, str(classes))
    if multi_label and (events is not None or labels_per_window):
        raise InputError("--multi-label applies to clip labels (--labels, --labels-from-folders)")
    if events is not None:
        from .events import read_events

        return read_events(Path(events), inputs, vocabulary)
    if labels_per_window:
        return WindowLabelFiles(inputs.root, fixed, str(classes))
    if labels is not None:
        cells, origin = cells_from_table(Path(labels), inputs, columns), str(labels)
    elif labels_from_folders:
        cells, origin = cells_from_folders(inputs), "folder names"
    elif inputs.listed_labels is not None:
        cells, origin = inputs.listed_labels, "the listing's label column"
    elif fixed is not None:
        raise InputError(f"{classes}: --classes needs labels (--labels, --events, ...)")
    elif multi_label:
        raise InputError("--multi-label needs clip labels (--labels, --labels-from-folders)")
    else:
        return NoLabels()
    return clip_labels(inputs, cells, origin, vocabulary, multi_label, columns.label_sep)
