"""Log-spectrograms of many equal-length windows at once (pure numpy/scipy).

Frames of all windows in a small batch are windowed and transformed together;
there is no Python loop per window or per frame.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import get_window

from .config import SpectrogramConfig

# About 8-10 windows per rfft call is fastest: bigger batches fall out of cache
# (PERFORMANCE.md).
_BATCH = 8


def frame_count(window_samples: int, spec: SpectrogramConfig) -> int:
    """Spectrogram frames per window of ``window_samples``."""
    if spec.center:
        return 1 + window_samples // spec.hop_length
    return 1 + (window_samples - spec.win_length) // spec.hop_length


def feature_shape(window_samples: int, spec: SpectrogramConfig) -> tuple[int, int]:
    """(frequency bins, frames) of one example."""
    return spec.n_bins, frame_count(window_samples, spec)


@lru_cache(maxsize=8)
def _window(window: str | tuple[str | float, ...], length: int) -> np.ndarray:
    return get_window(window, length).astype(np.float32)


@lru_cache(maxsize=8)
def _dft_matrix(window: str | tuple[str | float, ...], length: int, n_fft: int) -> np.ndarray:
    """Windowed real DFT as a (length, 2 * bins) matrix: [cos | -sin] columns."""
    n = np.arange(length)[:, None]
    k = np.arange(n_fft // 2 + 1)[None, :]
    phase = 2 * np.pi * ((n * k) % n_fft) / n_fft
    w = get_window(window, length)[:, None]
    return np.hstack([w * np.cos(phase), -w * np.sin(phase)]).astype(np.float32)


def _power_spectrum(frames: np.ndarray, spec: SpectrogramConfig) -> np.ndarray:
    """|DFT|^2 of (..., win_length) frames, zero-padded to n_fft -> (..., bins)."""
    bins = spec.n_bins
    # A frame much shorter than n_fft (the 8 kHz recipe: 20 of 512) is cheaper
    # as a matrix product than as a zero-padded FFT (2.7x, PERFORMANCE.md).
    if spec.win_length * 8 <= spec.n_fft:
        flat = np.ascontiguousarray(frames).reshape(-1, spec.win_length)  # 2-D: one BLAS call
        prod = (flat @ _dft_matrix(spec.window, spec.win_length, spec.n_fft)).reshape(
            *frames.shape[:-1], 2 * bins
        )
        re, im = prod[..., :bins], prod[..., bins:]
    else:
        z = scipy.fft.rfft(frames * _window(spec.window, spec.win_length), n=spec.n_fft, axis=-1)
        re, im = z.real, z.imag
    power = re * re
    power += im * im
    return power


def _scale_factor(spec: SpectrogramConfig, sample_rate: int) -> np.ndarray | None:
    """Per-bin factor of scipy's one-sided 'density'/'spectrum' scaling, or None."""
    if spec.scaling == "none":
        return None
    w = get_window(spec.window, spec.win_length)
    base = 1.0 / (sample_rate * (w * w).sum()) if spec.scaling == "density" else 1.0 / w.sum() ** 2
    factor = np.full(spec.n_bins, base)
    # one-sided: energy of the negative frequencies folded in, except DC and Nyquist
    factor[1 : spec.n_bins - (1 if spec.n_fft % 2 == 0 else 0)] *= 2
    return factor.astype(np.float32)


def standardize(windows: np.ndarray) -> np.ndarray:
    """Each row to zero mean and unit variance (a silent row only loses its mean)."""
    x = windows.astype(np.float32, copy=True)
    x -= x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    std[std == 0] = 1
    x /= std
    return x


def _frames(windows: np.ndarray, spec: SpectrogramConfig, n_frames: int) -> np.ndarray:
    """(n, n_frames, win_length) view of the frames of each window, padded if centred."""
    if spec.center:
        # librosa pads n_fft // 2 and centres the window inside the n_fft frame
        left = spec.n_fft // 2 - (spec.n_fft - spec.win_length) // 2
        right = max(
            0, (n_frames - 1) * spec.hop_length + spec.win_length - left - windows.shape[-1]
        )
        windows = np.pad(
            windows,
            ((0, 0), (left, right)),
            mode="reflect" if spec.pad_mode == "reflect" else "constant",
        )
    return sliding_window_view(windows, spec.win_length, axis=-1)[:, :: spec.hop_length][
        :, :n_frames
    ]


def spectrogram(
    windows: np.ndarray, spec: SpectrogramConfig, sample_rate: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Features of (n, samples) windows -> (n, bins, frames) float32 (into ``out`` if given)."""
    windows = np.asarray(windows, dtype=np.float32)
    n, samples = windows.shape
    bins, n_frames = feature_shape(samples, spec)
    if out is None:
        out = np.empty((n, bins, n_frames), dtype=np.float32)
    factor = _scale_factor(spec, sample_rate)
    for lo in range(0, n, _BATCH):
        batch = windows[lo : lo + _BATCH]
        if spec.standardize:
            batch = standardize(batch)
        frames = _frames(batch, spec, n_frames)
        if spec.detrend == "constant":
            frames = frames - frames.mean(axis=-1, keepdims=True)
        power = _power_spectrum(frames, spec)  # (b, frames, bins)
        if factor is not None:
            power *= factor
        if spec.power == 1:
            np.sqrt(power, out=power)
        out[lo : lo + len(batch)] = power.transpose(0, 2, 1)
    if spec.scale == "log":
        out += np.float32(spec.eps)
        np.log(out, out=out)
    return out
