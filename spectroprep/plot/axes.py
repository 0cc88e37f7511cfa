"""What every picture of a dataset shares: matplotlib without a screen, a frequency
axis labelled in Hz, the colour bar's unit, and where things landed in the PNG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

try:
    import matplotlib

    matplotlib.use("Agg")  # files only: no screen is needed, none is opened
    import matplotlib.pyplot as plt
except ImportError:
    raise ImportError("pictures need matplotlib: pip install 'spectroprep[plot]'") from None

from ..config import Config
from ..features.kinds import feature_kind

__all__ = ["Box", "frequency_ticks", "plt", "row_frequencies", "scale_label"]

_NICE_HZ = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000]


def row_frequencies(config: Config) -> np.ndarray:
    """The centre frequency of each feature row, in Hz."""
    spec = config.spectrogram
    return feature_kind(spec.kind).frequencies(spec, config.audio.sample_rate)


def frequency_ticks(ax: Any, frequencies: np.ndarray, axis: str = "y") -> None:
    """Label a rows axis (row k at k) in Hz, at round frequencies at least 1/16 of the
    axis apart: a mel axis stays mel-spaced, with its ticks where those frequencies fall."""
    low, high = frequencies[0], frequencies[-1]
    rows = np.arange(len(frequencies))
    ticks: list[tuple[float, float]] = []
    for hz in [f for f in _NICE_HZ if low <= f <= high] or [low, high]:
        at = float(np.interp(hz, frequencies, rows))
        if not ticks or at - ticks[-1][0] >= len(rows) / 16:
            ticks.append((at, hz))
    names = [f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}" for _, hz in ticks]
    set_ticks, set_label = (
        (ax.set_yticks, ax.set_ylabel) if axis == "y" else (ax.set_xticks, ax.set_xlabel)
    )
    set_ticks([at for at, _ in ticks], names)
    set_label("Hz")


def scale_label(config: Config) -> str:
    """The unit of the features' values, for a colour bar."""
    spec = config.spectrogram
    return {
        "db": "dB",
        "log": f"ln(power + {spec.eps:g})" if spec.power == 2 else f"ln(magnitude + {spec.eps:g})",
        "linear": "power" if spec.power == 2 else "magnitude",
    }[spec.scale]


@dataclass(frozen=True)
class Box:
    """An axes' data area in the PNG, in pixels from the top left, and how its data
    coordinates map there (what tests read the pixels back with)."""

    left: float
    top: float
    right: float
    bottom: float
    x_range: tuple[float, float]  # data x at left, at right
    y_range: tuple[float, float]  # data y at bottom, at top

    @classmethod
    def of(cls, ax: Any, height: float) -> Box:
        x0, y0, x1, y1 = ax.get_window_extent().extents
        return cls(x0, height - y1, x1, height - y0, ax.get_xlim(), ax.get_ylim())

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """(column, row) of the PNG pixel at data (x, y)."""
        fx = (x - self.x_range[0]) / (self.x_range[1] - self.x_range[0])
        fy = (y - self.y_range[0]) / (self.y_range[1] - self.y_range[0])
        return (
            int(round(self.left + fx * (self.right - self.left))),
            int(round(self.bottom - fy * (self.bottom - self.top))),
        )
