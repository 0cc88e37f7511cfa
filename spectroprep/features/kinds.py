"""What a feature kind is: how many rows a feature has, what its settings must
satisfy, and how it turns a batch of power spectra into features.

Every kind starts from the same framed short-time power spectrum
(``features.stft``) and ends in the same scale (``spectrogram.scale``); a kind
is the step between them. It is chosen by ``spectrogram.kind`` from
``plugins.FEATURE_KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

import numpy as np

from ..config import SpectrogramConfig
from ..errors import ConfigError
from ..plugins import FEATURE_KINDS

# (power (b, frames, bins) float32, out (b, rows, frames) float32) -> None
Projection = Callable[[np.ndarray, np.ndarray], None]


class FeatureKind(Protocol):
    def rows(self, spec: SpectrogramConfig) -> int:
        """Frequency rows of one example."""
        ...

    def check(self, spec: SpectrogramConfig, sample_rate: int) -> None:
        """Raise ConfigError naming the key whose value this kind cannot use."""
        ...

    def projection(self, spec: SpectrogramConfig, sample_rate: int) -> Projection:
        """The function that writes a batch's features from its power spectra."""
        ...

    def describe(self, spec: SpectrogramConfig) -> str:
        """The feature's rows in words, as ``spectroprep info`` shows them."""
        ...

    def frequencies(self, spec: SpectrogramConfig, sample_rate: int) -> np.ndarray:
        """The centre frequency of each row, in Hz (the axis of a picture)."""
        ...


def feature_kind(name: str) -> FeatureKind:
    """The feature kind called ``name``."""
    try:
        return cast(FeatureKind, FEATURE_KINDS.get(name))
    except KeyError as exc:
        raise ConfigError(f"spectrogram.kind = {name!r}: {exc.args[0]}") from None
