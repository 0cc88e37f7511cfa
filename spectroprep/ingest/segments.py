"""Fixed windows cut from a signal: how many, and where."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..config import Config


@dataclass(frozen=True)
class Region:
    """Consecutive windows ``first .. first+count-1`` of source ``source``."""

    source: int
    first: int
    count: int


def count_windows(n_samples: int, window: int, hop: int, pad: str, min_last: int = 0) -> int:
    """Windows of ``window`` samples every ``hop`` samples in a signal of ``n_samples``.

    With ``pad="zero"`` one more, zero-padded window covers audio left after the
    last full window, if the next window start still lies inside the signal and at
    least ``min_last`` samples of audio are left from it (so any file of at least
    ``min_last`` samples gives a window); with ``pad="drop"`` that audio is dropped.
    """
    if n_samples <= 0:
        return 0
    full = 0 if n_samples < window else (n_samples - window) // hop + 1
    uncovered = full == 0 or (full - 1) * hop + window < n_samples
    left = n_samples - full * hop  # audio in the padded window
    if pad == "zero" and uncovered and left > 0 and left >= min_last:
        return full + 1
    return full


def windows_of(n_samples: int, config: Config) -> int:
    """``count_windows`` with the config's window, hop, padding and shortest last window."""
    min_last = round(config.segment.min_last * config.audio.sample_rate)
    return count_windows(
        n_samples, config.window_samples, config.hop_samples, config.segment.pad, min_last
    )


def short_tail(n_samples: int, config: Config) -> bool:
    """Whether ``segment.min_last`` left out the last, zero-padded window of a signal."""
    if config.segment.pad != "zero":
        return False
    every = count_windows(n_samples, config.window_samples, config.hop_samples, "zero")
    return windows_of(n_samples, config) < every


def region_span(first: int, count: int, window: int, hop: int) -> tuple[int, int]:
    """Sample range [start, stop) that windows ``first .. first+count-1`` cover."""
    return first * hop, (first + count - 1) * hop + window


def cut_windows(signal: np.ndarray, count: int, window: int, hop: int) -> np.ndarray:
    """A (count, window) read-only view of ``signal``, zero-padded at the end as needed."""
    needed = (count - 1) * hop + window
    if len(signal) < needed:
        signal = np.concatenate([signal, np.zeros(needed - len(signal), signal.dtype)])
    return sliding_window_view(signal, window)[::hop][:count]
