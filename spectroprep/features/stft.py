"""Spectrogram features of many equal-length windows at once (pure numpy/scipy):
the framed short-time power (or magnitude) spectrum, made into features by the
configured kind (``features.kinds``: linear, mel), in log, dB or linear scale.

Frames of all windows in a small batch are windowed and transformed together;
there is no Python loop per window or per frame. The large buffers are made
once per thread and settings and reused batch after batch, call after call:
fresh multi-megabyte temporaries cost page faults that slow the whole
computation (docs/performance.md).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..config import SpectrogramConfig
from ..errors import ConfigError
from .kinds import feature_kind
from .tapers import WindowSpec, taper

# Frames per transform call: about 8 one-second windows at a 10 ms hop, which also
# sizes each thread's workspace (docs/performance.md measures the batch size).
_FRAMES_PER_BATCH = 800


def frame_count(window_samples: int, spec: SpectrogramConfig) -> int:
    """Spectrogram frames per window of ``window_samples``."""
    if spec.center:
        return 1 + window_samples // spec.hop_length
    return 1 + (window_samples - spec.win_length) // spec.hop_length


def feature_shape(window_samples: int, spec: SpectrogramConfig) -> tuple[int, int]:
    """(frequency rows: bins, mel bands..., frames) of one example."""
    return feature_kind(spec.kind).rows(spec), frame_count(window_samples, spec)


def check_window(spec: SpectrogramConfig) -> None:
    """ConfigError unless ``spec.window`` is a window function scipy knows."""
    try:
        taper(spec.window, spec.win_length)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"spectrogram.window = {spec.window!r}: not a scipy.signal.get_window spec "
            f'such as "hann" or ["tukey", 0.25] ({exc})'
        ) from None


def pad_left(spec: SpectrogramConfig) -> int:
    """Samples of padding before a window when frames are centred (librosa pads
    n_fft // 2 and centres the win_length window inside the n_fft frame)."""
    return spec.n_fft // 2 - (spec.n_fft - spec.win_length) // 2 if spec.center else 0


def frame_centres(window_samples: int, spec: SpectrogramConfig) -> np.ndarray:
    """Centre of each frame's window, in samples from the start of the segment window.

    The centre of a frame of win_length samples starting at sample a is
    a + win_length / 2 (where a periodic window peaks). With ``center`` that is
    t * hop_length for an even win_length (half a sample off for an odd one);
    without it, t * hop_length + win_length / 2.
    """
    t = np.arange(frame_count(window_samples, spec))
    return t * spec.hop_length - pad_left(spec) + spec.win_length / 2


def _uses_dft_matrix(spec: SpectrogramConfig) -> bool:
    # A frame much shorter than n_fft (the 8 kHz recipe: 20 of 512) is cheaper
    # as a matrix product than as a zero-padded FFT (docs/performance.md).
    return spec.win_length * 8 <= spec.n_fft


@lru_cache(maxsize=8)
def _window(window: WindowSpec, length: int, dtype: str) -> np.ndarray:
    return taper(window, length).astype(dtype)


@lru_cache(maxsize=8)
def _dft_matrix(window: WindowSpec, length: int, n_fft: int, dtype: str) -> np.ndarray:
    """Windowed real DFT as a (length, 2 * bins) matrix: [cos | -sin] columns."""
    n = np.arange(length)[:, None]
    k = np.arange(n_fft // 2 + 1)[None, :]
    phase = 2 * np.pi * ((n * k) % n_fft) / n_fft
    w = taper(window, length)[:, None]
    return np.hstack([w * np.cos(phase), -w * np.sin(phase)]).astype(dtype)


def _scale_factor(spec: SpectrogramConfig, sample_rate: int) -> np.ndarray | None:
    """Per-bin factor of scipy's one-sided 'density'/'spectrum' scaling, or None."""
    if spec.scaling == "none":
        return None
    w = taper(spec.window, spec.win_length)
    base = 1.0 / (sample_rate * (w * w).sum()) if spec.scaling == "density" else 1.0 / w.sum() ** 2
    factor = np.full(spec.n_bins, base)
    # one-sided: energy of the negative frequencies folded in, except DC and Nyquist
    factor[1 : spec.n_bins - (1 if spec.n_fft % 2 == 0 else 0)] *= 2
    return factor.astype(np.float32)


def standardize_rows(x: np.ndarray) -> None:
    """In place: each row to zero mean and unit variance (a silent row only loses its mean)."""
    x -= x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    std[std == 0] = 1
    x /= std


class _Workspace:
    """Buffers for one batch of windows, reused for every batch and every call."""

    def __init__(self, spec: SpectrogramConfig, samples: int, n_frames: int) -> None:
        self.spec = spec
        self.samples = samples
        self.n_frames = n_frames
        self.left = pad_left(spec)
        if spec.center:
            needed = (n_frames - 1) * spec.hop_length + spec.win_length
            self.right = max(0, needed - self.left - samples)
        else:
            self.right = 0
        dtype = spec.precision  # the number type the spectra are computed in
        # zeros stay in the padding (constant mode) and past win_length (the FFT's zero-padding)
        self.batch = max(1, _FRAMES_PER_BATCH // n_frames)  # windows per batch
        self.signal = np.zeros((self.batch, self.left + samples + self.right), dtype)
        frame_width = spec.win_length if _uses_dft_matrix(spec) else spec.n_fft
        self.frames = np.zeros((self.batch, n_frames, frame_width), dtype)
        # the power is rounded to float32 once, as it leaves the transform
        self.power = np.empty((self.batch, n_frames, spec.n_bins), np.float32)
        self.taper = _window(spec.window, spec.win_length, dtype)
        if spec.center and spec.pad_mode == "reflect":
            if max(self.left, self.right) >= samples:
                raise ConfigError(
                    f"spectrogram.pad_mode = 'reflect': padding {self.left} samples needs "
                    f"segments longer than {samples} samples"
                )
            self.reflect_left = np.arange(self.left, 0, -1) + self.left
            self.reflect_right = self.left + samples - 2 - np.arange(self.right)

    def load(self, windows: np.ndarray) -> np.ndarray:
        """Copy a batch of windows in, pad it, and return its (b, frames, width) frames,
        multiplied by the window function unless the DFT matrix holds it."""
        b, spec = len(windows), self.spec
        signal = self.signal[:b]
        middle = signal[:, self.left : self.left + self.samples]
        middle[...] = windows
        if spec.standardize:
            standardize_rows(middle)
        if spec.center and spec.pad_mode == "reflect":
            signal[:, : self.left] = signal[:, self.reflect_left]
            signal[:, self.left + self.samples :] = signal[:, self.reflect_right]
        view = sliding_window_view(signal, spec.win_length, axis=-1)[:, :: spec.hop_length]
        frames = self.frames[:b]
        body = frames[..., : spec.win_length]
        taper = None if _uses_dft_matrix(spec) else self.taper
        if spec.detrend == "constant":
            body[...] = view[:, : self.n_frames]
            body -= body.mean(axis=-1, keepdims=True)
            if taper is not None:
                body *= taper
        elif taper is not None:  # copy and taper in one pass
            np.multiply(view[:, : self.n_frames], taper, out=body)
        else:
            body[...] = view[:, : self.n_frames]
        return frames

    def power_spectrum(self, frames: np.ndarray) -> np.ndarray:
        """|DFT|^2 of the frames -> (b, frames, bins) float32, in the workspace."""
        spec, bins, dtype = self.spec, self.spec.n_bins, self.spec.precision
        b = len(frames)
        power = self.power[:b]
        if _uses_dft_matrix(spec):
            flat = frames.reshape(-1, spec.win_length)  # 2-D: one BLAS call
            dft = _dft_matrix(spec.window, spec.win_length, spec.n_fft, dtype)
            prod = (flat @ dft).reshape(b, self.n_frames, 2 * bins)
            np.square(prod, out=prod)  # [re^2 | im^2], summed below and rounded once
            np.add(prod[..., :bins], prod[..., bins:], out=power, casting="same_kind")
        else:
            # scipy.fft (slow to import) is loaded by the processes that compute
            # features, not by every command that only describes them
            from scipy.fft import rfft

            # re^2 + im^2 from the complex result viewed as (re, im) pairs: squaring
            # contiguous memory then adding the two halves beats abs() then square
            parts = rfft(frames, axis=-1).view(dtype).reshape(*power.shape, 2)
            np.square(parts, out=parts)
            np.add(parts[..., 0], parts[..., 1], out=power, casting="same_kind")
        return power


_workspaces = threading.local()


def _workspace(spec: SpectrogramConfig, samples: int, n_frames: int) -> _Workspace:
    """The calling thread's workspace for these settings, made once and kept: a
    build calls spectrogram() once per file region, and fresh multi-megabyte
    buffers each time cost more in page faults than the transform itself."""
    key = (spec, samples, n_frames)
    cached = getattr(_workspaces, "last", None)
    if cached is None or cached[0] != key:
        cached = (key, _Workspace(spec, samples, n_frames))
        _workspaces.last = cached
    return cached[1]


def spectrogram(
    windows: np.ndarray, spec: SpectrogramConfig, sample_rate: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Features of (n, samples) windows -> (n, bins, frames) float32 (into ``out`` if given)."""
    n, samples = windows.shape
    bins, n_frames = feature_shape(samples, spec)
    if out is None:
        out = np.empty((n, bins, n_frames), dtype=np.float32)
    work = _workspace(spec, samples, n_frames)
    factor = _scale_factor(spec, sample_rate)
    project = feature_kind(spec.kind).projection(spec, sample_rate)
    for lo in range(0, n, work.batch):
        power = work.power_spectrum(work.load(windows[lo : lo + work.batch]))
        if factor is not None:
            power *= factor
        if spec.power == 1:
            np.sqrt(power, out=power)
        block = out[lo : lo + len(power)]
        project(power, block)
        # scaled while the block is still in cache
        if spec.scale == "log":
            block += np.float32(spec.eps)
            np.log(block, out=block)
        elif spec.scale == "db":
            to_decibels(block, spec)
    return out


def to_decibels(s: np.ndarray, spec: SpectrogramConfig) -> None:
    """In place: (n, F, T) power (or magnitude, ``spec.power == 1``) to decibels,
    as librosa.power_to_db (amplitude_to_db) does to each example.

    dB = 10 log10(max(S, amin) / max(ref, amin)) for power, 20 log10 for
    magnitude; ``ref = "max"`` is each example's peak, and ``top_db`` floors
    each example at its peak minus top_db.
    """
    factor = np.float32(20.0 / spec.power)
    np.maximum(s, np.float32(spec.amin), out=s)
    np.log10(s, out=s)
    s *= factor
    if spec.ref == "max":
        s -= s.max(axis=(1, 2), keepdims=True)
    elif spec.ref != 1:
        s -= factor * np.log10(np.float32(max(float(spec.ref), spec.amin)))
    if spec.top_db:
        floor = s.max(axis=(1, 2), keepdims=True) - np.float32(spec.top_db)
        np.maximum(s, floor, out=s)
