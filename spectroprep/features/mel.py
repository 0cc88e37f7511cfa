"""The mel spectrogram: the power spectrum through a bank of triangular mel filters."""

from __future__ import annotations

import numpy as np

from ..config import SpectrogramConfig
from ..errors import ConfigError
from .kinds import Projection
from .melbank import hz_to_mel, mel_filterbank, mel_to_hz
from .stft import check_window


class Mel:
    def rows(self, spec: SpectrogramConfig) -> int:
        return spec.n_mels

    def check(self, spec: SpectrogramConfig, sample_rate: int) -> None:
        check_window(spec)
        if not spec.n_mels:
            raise ConfigError("spectrogram.n_mels = 0: kind = 'mel' needs mel bands (n_mels > 0)")
        nyquist = sample_rate / 2
        if not spec.fmin < (spec.fmax or nyquist) <= nyquist:
            raise ConfigError(
                f"spectrogram.fmax = {spec.fmax!r}: mel filters need fmin ({spec.fmin}) < fmax "
                f"<= {nyquist:g} Hz (0: {nyquist:g})"
            )

    def describe(self, spec: SpectrogramConfig) -> str:
        return f"{spec.n_mels} mel bands"

    def frequencies(self, spec: SpectrogramConfig, sample_rate: int) -> np.ndarray:
        htk = spec.mel_scale == "htk"
        low, high = hz_to_mel(spec.fmin, htk), hz_to_mel(spec.fmax or sample_rate / 2, htk)
        return np.asarray(mel_to_hz(np.linspace(low, high, spec.n_mels + 2)[1:-1], htk))

    def projection(self, spec: SpectrogramConfig, sample_rate: int) -> Projection:
        filters = _filters(spec, sample_rate)

        def project(power: np.ndarray, out: np.ndarray) -> None:
            np.matmul(filters, power.transpose(0, 2, 1), out=out)  # (mels, bins) @ (b, bins, T)

        return project


def empty_bands(spec: SpectrogramConfig, sample_rate: int) -> int:
    """Mel bands no FFT bin falls in (too many bands for n_fft): they stay empty."""
    return int((_filters(spec, sample_rate).max(axis=1) == 0).sum())


def _filters(spec: SpectrogramConfig, sample_rate: int) -> np.ndarray:
    fmax = spec.fmax or sample_rate / 2
    htk, norm = spec.mel_scale == "htk", None if spec.norm == "none" else spec.norm
    return mel_filterbank(sample_rate, spec.n_fft, spec.n_mels, spec.fmin, fmax, htk, norm)


KIND = Mel()
