"""Checks of stored values, whatever the format: finite features, valid labels and frame
targets; the label counts summed over all data files, compared with dataset.json's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ...frame_events import EVENTS, OFFSETS, active_frames, runs_problem
from ...layout import DATASET_JSON
from ...stats import constant_rows
from .record import CLASS_IDS, DatasetRecord
from .report import Log, Tally


def non_finite(block: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per example of ``block`` (n, ...): has it a NaN or inf; and which of the two occur."""
    bad = ~np.isfinite(block).reshape(len(block), -1).all(axis=1)
    if not bad.any():
        return bad, []
    values = block[bad]
    return bad, [
        name for name, test in (("NaN", np.isnan), ("inf", np.isinf)) if test(values).any()
    ]


@dataclass
class Totals:
    """Label counts over all data files, compared with dataset.json's counts."""

    per_class: np.ndarray
    active_frames: np.ndarray
    complete: bool = True  # False once a label array is missing or unreadable
    constant: list[int] = field(default_factory=list)  # ids of examples of one value

    def note_constant(self, block: np.ndarray, first_id: int) -> None:
        """Note the examples of ``block`` (n, ...) whose features are one value all
        over (digital silence, or nothing but padding): not wrong, but no signal."""
        same = constant_rows(block)
        self.constant.extend(int(i) + first_id for i in np.flatnonzero(same))

    def compare(self, ds: DatasetRecord, log: Log) -> None:
        if not self.complete or ds.kind == "none":
            return
        counts = ds.info.get("counts", {})
        found = {"per_class": self.per_class}
        if ds.kind == "events":
            found["active_frames"] = self.active_frames
        for name, values in found.items():
            recorded = counts.get(name, {})
            for cls, value in zip(ds.classes, values.tolist(), strict=True):
                if recorded.get(cls) != value:
                    log.add(
                        DATASET_JSON,
                        None,
                        f"counts.{name}[{cls!r}] is {recorded.get(cls)!r}, "
                        f"the label arrays hold {value}",
                        kind=f"counts.{name}",
                    )


def check_labels(
    ds: DatasetRecord, labels: np.ndarray, where: str, index: int, log: Log, totals: Totals
) -> bool:
    """Shape, dtype and values of the labels of data file ``index``; False if unusable."""
    n, first = ds.files[index].examples, ds.first_ids[index]
    shape, dtype = ds.label_shape(n), ds.label_dtype()
    if labels.shape != shape or labels.dtype != dtype:
        log.add(
            where,
            None,
            f"labels are {labels.dtype} {labels.shape}, expected {dtype} {shape} "
            f"for label kind {ds.kind!r}",
        )
        totals.complete = False
        return False
    c = len(ds.classes)
    if ds.kind in CLASS_IDS:
        # -1 marks an unlabelled example; the manifest check wants an empty label there
        bad = (labels < -1) | (labels >= c)
        what = f"label {labels[np.argmax(bad)]} is not a class id (0..{c - 1}, or -1 for none)"
    else:
        bad = np.asarray((labels > 1).any(axis=1))
        what = "multi-hot label holds values other than 0 and 1"
    tally = Tally(what)
    tally.add(bad, first, where)
    tally.report(log, where)
    if bad.any():
        totals.complete = False
        return False
    if ds.kind in CLASS_IDS:
        totals.per_class += np.bincount(labels[labels >= 0], minlength=c)
    else:
        totals.per_class += labels.sum(axis=0, dtype=np.int64)
    return True


def check_frames(
    block: np.ndarray, first_id: int, where: str, tally: Tally, totals: Totals
) -> None:
    """Frame targets of some examples: 0 or 1 only; their active frames are counted."""
    bad = np.asarray((block > 1).reshape(len(block), -1).any(axis=1))
    tally.add(bad, first_id, where)
    if bad.any():
        totals.complete = False
    else:
        totals.active_frames += block.sum(axis=(0, 1), dtype=np.int64)


def check_frame_runs(
    ds: DatasetRecord,
    arrays: Mapping[str, np.ndarray],
    n: int,
    where: str,
    log: Log,
    totals: Totals,
) -> None:
    """The frame targets' runs of a data file of ``n`` examples (``dataset/frame_events.py``):
    well-formed, in range; their active frames are counted."""
    problem = runs_problem(arrays[OFFSETS], arrays[EVENTS], n, ds.shape[1], len(ds.classes))
    if problem:
        log.add(where, None, problem)
        totals.complete = False
    else:
        totals.active_frames += active_frames(arrays[EVENTS], len(ds.classes))
