"""What the labels of the input files become: each file's labels, the label set of
a build, and the pending label source that binds to the sources after the header pass."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ...config import Config
    from ..headers import Source


SEPARATOR = ";"  # between the classes of a multi-label cell, and in manifest.csv
NO_EVENTS = np.zeros((0, 3), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class FileLabels:
    """The labels of one input file, in the form its kind needs."""

    classes: tuple[int, ...] = ()  # clip labels: one class id (single) or several (multi)
    # events: rows (start, stop, class) in samples at the target rate, [start, stop),
    # clipped to the file, overlapping events of one class merged
    events: np.ndarray = field(default_factory=lambda: NO_EVENTS)
    windows: np.ndarray | None = None  # per-window class ids, one per window

    def digest(self) -> str:
        """sha256 of these labels: equal digests give equal label arrays."""
        h = hashlib.sha256(repr(self.classes).encode())
        for array in (self.events, self.windows):
            if array is not None:
                array = np.ascontiguousarray(array)
                h.update(f"{array.dtype.str}{array.shape}".encode() + array.tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class LabelSet:
    """The class list and every input file's labels, aligned with the sources."""

    kind: str
    classes: tuple[str, ...]
    files: tuple[FileLabels, ...]

    def names(self, label: np.ndarray) -> str:
        """Manifest text of one stored label: a class name, or names joined by ";"."""
        if label.ndim == 0:
            return self.classes[int(label)]
        return SEPARATOR.join(self.classes[i] for i in np.flatnonzero(label))


class PendingLabels(Protocol):
    """Label files read and checked, waiting for the header pass."""

    @property
    def kind(self) -> str: ...

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        """Labels of ``sources`` (the inputs, or some of them), in order."""
        ...
