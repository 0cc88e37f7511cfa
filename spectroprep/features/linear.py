"""The linear-frequency spectrogram: the n_fft / 2 + 1 bins of the FFT, as they are."""

from __future__ import annotations

import numpy as np

from ..config import SpectrogramConfig
from ..errors import ConfigError
from .kinds import Projection
from .stft import check_window


class Linear:
    def rows(self, spec: SpectrogramConfig) -> int:
        return spec.n_bins

    def check(self, spec: SpectrogramConfig, sample_rate: int) -> None:
        check_window(spec)
        if spec.n_mels:
            raise ConfigError(
                f"spectrogram.n_mels = {spec.n_mels}: mel bands need kind = 'mel' (0 for 'linear')"
            )

    def describe(self, spec: SpectrogramConfig) -> str:
        return "linear bins"

    def frequencies(self, spec: SpectrogramConfig, sample_rate: int) -> np.ndarray:
        return np.arange(spec.n_bins) * sample_rate / spec.n_fft

    def projection(self, spec: SpectrogramConfig, sample_rate: int) -> Projection:
        def transpose(power: np.ndarray, out: np.ndarray) -> None:
            out[...] = power.transpose(0, 2, 1)

        return transpose


KIND = Linear()
