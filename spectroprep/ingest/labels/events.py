"""Event annotations in the DCASE strong-label form: filename, onset, offset, event_label.

Times are seconds. A row whose onset, offset and event_label are all empty
marks a file with no events (as DCASE metadata does); any file of the input
without events is a negative too. Events become sample intervals at the
target rate, [onset, offset), clipped to the file, with overlapping events
of one class merged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...errors import InputError, LabelWarning
from ..sources import InputMatcher, Inputs, relative_path
from ..tables import read_table
from .model import NO_EVENTS, FileLabels, LabelSet
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from ...config import Config
    from ..headers import Source

COLUMNS = ("filename", "onset", "offset", "event_label")


@dataclass(frozen=True, slots=True)
class Event:
    """One annotated event, as read (seconds)."""

    line: int
    onset: float
    offset: float
    label: str


def _seconds(text: str, column: str, where: str) -> float:
    try:
        if "_" in text:  # float() takes 1_0 as 10
            raise ValueError(text)
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {column} {text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {column} {text!r} is not a finite number")
    if value < 0:
        raise InputError(f"{where}: negative {column} {text}")
    return value


def read_events(path: Path, inputs: Inputs, vocabulary: Vocabulary) -> EventTable:
    """Read and check an events table (tab- or comma-separated, header required)."""
    matcher = InputMatcher(inputs)
    events: dict[str, list[Event]] = {}
    seen: dict[tuple[str, str, str, str], int] = {}
    for line, row in read_table(path, required=COLUMNS):
        where = f"{path}:{line}"
        cells = tuple(row[c].strip() for c in COLUMNS)
        filename, onset_text, offset_text, label = cells
        if not filename:
            raise InputError(f"{where}: empty filename")
        name = matcher.match(relative_path(filename, where), where)
        key = (name, onset_text, offset_text, label)
        if key in seen:
            raise InputError(f"{where}: repeats line {seen[key]}")
        seen[key] = line
        file_events = events.setdefault(name, [])
        if not (onset_text or offset_text or label):
            continue  # a file with no events
        if not label:
            raise InputError(f"{where}: empty event_label")
        for column, text in (("onset", onset_text), ("offset", offset_text)):
            if not text:
                raise InputError(f"{where}: empty {column}")
        onset = _seconds(onset_text, "onset", where)
        offset = _seconds(offset_text, "offset", where)
        if onset > offset:
            raise InputError(f"{where}: onset {onset_text} is after offset {offset_text}")
        if onset == offset:
            raise InputError(f"{where}: onset and offset are both {onset_text} (an empty event)")
        file_events.append(Event(line, onset, offset, vocabulary.add(label, where)))
    if not vocabulary.classes():
        raise InputError(f"{path}: no events, so no classes (give --classes to build negatives)")
    return EventTable(path, vocabulary.classes(), events)


def merge_intervals(events: np.ndarray) -> np.ndarray:
    """Rows (start, stop, class) with the overlapping or touching intervals of a class merged."""
    merged: list[list[int]] = []
    for start, stop, cls in sorted(events.tolist(), key=lambda e: (e[2], e[0], e[1])):
        if merged and merged[-1][2] == cls and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop, cls])
    return np.array(merged, dtype=np.int64).reshape(-1, 3)


@dataclass(frozen=True)
class EventTable:
    """Checked event annotations, waiting for the file lengths of the header pass."""

    path: Path
    classes: tuple[str, ...]
    events: dict[str, list[Event]]  # by input file name
    kind: str = "events"

    def bind(self, sources: Sequence[Source], config: Config, strict: bool) -> LabelSet:
        """Sample intervals per source; events past a file's end are clipped (warned) or,
        with ``strict``, refused."""
        ids = {c: i for i, c in enumerate(self.classes)}
        rate = config.audio.sample_rate
        past_end: list[str] = []
        files = []
        for source in sources:
            duration = source.info.frames / source.info.sample_rate
            slack = 0.5 / source.info.sample_rate  # float noise of a time written in seconds
            rows = []
            # a segment's events are its file's, shifted to the segment's start
            for e in self.events.get(source.file, ()):
                if e.offset > duration + slack:
                    past_end.append(
                        f"{self.path}:{e.line}: {source.file}: event {e.onset:g}-{e.offset:g} s "
                        f"ends past the end of the file ({duration:g} s)"
                    )
                start = min(max(round(e.onset * rate) - source.offset, 0), source.samples)
                stop = min(max(round(e.offset * rate) - source.offset, 0), source.samples)
                if start < stop:
                    rows.append((start, stop, ids[e.label]))
            events = merge_intervals(np.array(rows, dtype=np.int64)) if rows else NO_EVENTS
            files.append(FileLabels(events=events))
        if past_end and strict:
            raise InputError(f"{past_end[0]} (--strict refuses it)")
        if past_end:
            more = f" ({len(past_end)} events in all)" if len(past_end) > 1 else ""
            warnings.warn(f"{past_end[0]}; clipped to the file{more}", LabelWarning, stacklevel=2)
        quiet = [s.name for s, f in zip(sources, files, strict=True) if not len(f.events)]
        if quiet:
            warnings.warn(
                f"{len(quiet)} of {len(sources)} input(s) have no event in {self.path} and "
                f"become examples of no class (negatives), e.g. {quiet[0]}",
                LabelWarning,
                stacklevel=2,
            )
        return LabelSet(self.kind, self.classes, tuple(files))
