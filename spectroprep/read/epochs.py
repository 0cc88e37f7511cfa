"""The order of one training epoch, and its batches read a window at a time.

Shuffling is chunk-aware: each data file is cut into runs of a few chunks
(``run_length``), the runs are shuffled, consecutive runs are grouped into
windows of about ``window`` examples, and the examples are shuffled within each
window. A window is read in one ``get_batch`` call, whose reads then are whole
runs, in file order, while every batch mixes examples from many places.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

Batch = tuple[np.ndarray, np.ndarray | None]  # features, and labels unless unlabelled


class BatchReader(Protocol):
    @property
    def shape(self) -> tuple[int, int]: ...  # of one example

    @property
    def stored_dtype(self) -> np.dtype: ...

    def get_batch(self, indices: Any, out: np.ndarray | None = None) -> Batch: ...


# examples per shuffled run: the 256 runs of a 1024-example window mix a batch of 64
# nearly as well as a random permutation does (docs/performance.md)
MIN_RUN = 4


def run_length(chunk_rows: int) -> int:
    """Examples per shuffled run: whole chunks, at least MIN_RUN examples."""
    return chunk_rows * -(-MIN_RUN // chunk_rows)


def epoch_order(
    starts: np.ndarray,
    files: Sequence[int],
    run: int,
    window: int,
    rng: np.random.Generator | None,
    subset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of every example of ``files`` in epoch order, and the end of
    each read window in that order. ``starts``: each file's first position, then
    the total. ``rng=None`` keeps file order (no shuffle).

    With ``subset`` (ascending positions) only its examples are ordered, and what
    is returned are indices into ``subset``: a run is then the part of a run that
    the subset holds, and a window groups as many runs as hold about ``window``
    of its examples.
    """
    first = [np.arange(starts[f], starts[f + 1], run, dtype=np.int64) for f in files]
    last = [np.minimum(s + run, starts[f + 1]) for s, f in zip(first, files, strict=True)]
    run_starts = np.concatenate(first) if first else np.zeros(0, np.int64)
    run_stops = np.concatenate(last) if last else np.zeros(0, np.int64)
    runs_per_window = max(1, window // run)
    if subset is not None:
        run_starts = np.searchsorted(subset, run_starts)
        run_stops = np.searchsorted(subset, run_stops)
        held = run_stops > run_starts
        run_starts, run_stops = run_starts[held], run_stops[held]
        mean_run = (run_stops - run_starts).mean() if len(run_starts) else run
        runs_per_window = max(1, int(window / mean_run))
    if rng is not None:
        pick = rng.permutation(len(run_starts))
        run_starts, run_stops = run_starts[pick], run_stops[pick]
    lengths = run_stops - run_starts
    total = int(lengths.sum())
    before = np.cumsum(lengths) - lengths
    positions = np.arange(total, dtype=np.int64) + np.repeat(run_starts - before, lengths)
    window_of = np.repeat(np.arange(len(lengths)) // runs_per_window, lengths)
    if rng is not None:
        # shuffled within each window: a window's keys lie in [w, w + 1), so one sort
        # keeps the windows in order, at a fraction of a lexsort's cost (docs/performance.md)
        positions = positions[np.argsort(window_of + rng.random(total))]
    ends = np.r_[np.flatnonzero(np.diff(window_of)) + 1, total].astype(np.int64)
    return positions, ends[ends > 0]


def batch_count(examples: int, batch_size: int, drop_last: bool) -> int:
    """Batches of an epoch of ``examples``: the last one short, or left out."""
    return examples // batch_size if drop_last else -(-examples // batch_size)


def fitted(order: np.ndarray, ends: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """An epoch's order and window ends cut to ``length`` examples, or made up to it by
    repeating the order from its start (as a window of its own)."""
    if length < 0 or (length and not len(order)):
        raise ValueError(f"cannot make {len(order)} examples into {length}")
    if length > len(order):  # the order again and again, window by window
        times = -(-length // len(order))
        ends = np.concatenate([ends + k * len(order) for k in range(times)])
        order = np.resize(order, length)
    return order[:length], np.r_[ends[ends < length], length]


def window_batches(
    dataset: BatchReader,
    order: np.ndarray,
    ends: np.ndarray,
    batch_size: int,
    drop_last: bool,
    start: int = 0,
) -> Iterator[Batch]:
    """Batches of ``order``: each window is read at once (its end moved back to a
    batch boundary) into one buffer that every window reuses, and handed out as batch
    copies: one window in memory, not the two that views still held by the consumer
    (or a prefetch queue) would keep. A new buffer per window cost as much as reading
    it: a window of 100 MB is a fresh memory mapping, zeroed page by page. The first
    ``start`` batches are left out, unread."""
    total = len(order)
    last = total - total % batch_size if drop_last else total
    cuts = np.unique(np.r_[ends // batch_size * batch_size, last])
    lo = min(start * batch_size, last)
    cuts = cuts[(cuts > lo) & (cuts <= last)]
    largest = int(np.diff(cuts, prepend=lo).max()) if len(cuts) else 0
    buffer = np.empty((largest, *dataset.shape), dtype=dataset.stored_dtype)
    for hi in cuts.tolist():
        x, y = dataset.get_batch(order[lo:hi], out=buffer[: hi - lo])
        for b in range(0, hi - lo, batch_size):
            yield x[b : b + batch_size].copy(), None if y is None else y[b : b + batch_size].copy()
        del x, y
        lo = hi
