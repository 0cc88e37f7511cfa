"""The features of a region of one source: its windows decoded, resampled, cut and
transformed, as a shard task and ``verify --recompute`` compute them."""

from __future__ import annotations

import numpy as np

from ..config import Config
from ..features.stft import spectrogram
from .audio.file import read_region
from .headers import Source
from .segments import Region, cut_windows, region_span


def region_features(source: Source, region: Region, config: Config, out: np.ndarray) -> None:
    """Features of the windows of ``region`` into ``out`` (region.count, F, T)."""
    window, hop = config.window_samples, config.hop_samples
    start, stop = region_span(region.first, region.count, window, hop)
    stop = min(stop, source.samples)
    offset = source.offset
    signal = read_region(source.path, source.info, offset + start, offset + stop, config.audio)
    windows = cut_windows(signal, region.count, window, hop)
    spectrogram(windows, config.spectrogram, config.audio.sample_rate, out=out)
