"""The mel spectrogram: the power spectrum through a bank of triangular mel filters."""

from __future__ import annotations

import numpy as np

from ..config import SpectrogramConfig
from ..errors import ConfigError
from .kinds import Projection
from .melbank import mel_filterbank
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

    def projection(self, spec: SpectrogramConfig, sample_rate: int) -> Projection:
        fmax = spec.fmax or sample_rate / 2
        htk, norm = spec.mel_scale == "htk", None if spec.norm == "none" else spec.norm
        filters = mel_filterbank(sample_rate, spec.n_fft, spec.n_mels, spec.fmin, fmax, htk, norm)

        def project(power: np.ndarray, out: np.ndarray) -> None:
            np.matmul(filters, power.transpose(0, 2, 1), out=out)  # (mels, bins) @ (b, bins, T)

        return project


KIND = Mel()
