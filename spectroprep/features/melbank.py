"""Mel filterbanks in numpy: the Slaney (Auditory Toolbox) and HTK mel scales.

The filters are triangles spaced evenly on the mel scale between ``fmin`` and
``fmax``, over the one-sided FFT bins; with ``norm="slaney"`` each triangle is
scaled to unit area in Hz (constant energy per band). The result equals
``librosa.filters.mel`` for the same arguments (checked in the tests).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Slaney's scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above
_F_SP = 200.0 / 3
_BREAK_HZ = 1000.0
_BREAK_MEL = _BREAK_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Frequencies in Hz to mels (Slaney's scale, or HTK's 2595 log10(1 + f/700))."""
    f = np.asarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    log_part = _BREAK_MEL + np.log(np.maximum(f, _BREAK_HZ) / _BREAK_HZ) / _LOG_STEP
    return np.where(f >= _BREAK_HZ, log_part, f / _F_SP)


def mel_to_hz(mel: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Mels to Hz, the inverse of ``hz_to_mel``."""
    m = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    log_part = _BREAK_HZ * np.exp(_LOG_STEP * (np.maximum(m, _BREAK_MEL) - _BREAK_MEL))
    return np.where(m >= _BREAK_MEL, log_part, _F_SP * m)


@lru_cache(maxsize=8)
def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 weights mapping a power spectrum to mel bands."""
    fmax = sample_rate / 2 if fmax is None else fmax
    bin_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    widths = np.diff(edges_hz)
    # distance of every bin from every edge; each triangle rises over one width, falls over the next
    offsets = edges_hz[:, None] - bin_hz[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.setflags(write=False)  # shared by the cache
    return weights
