"""Normalisation statistics: per-frequency-bin mean and std over a whole dataset.

Each shard task summarises its own features as (count, mean, M2) per bin, M2
being the sum of squared deviations from the mean; the parent merges the shard
summaries in shard order with the pairwise formula of Chan, Golub and LeVeque
(1979), which is exact up to float64 rounding. So the result equals a single
pass of numpy over all features, whatever the number of worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

# examples converted to float64 at a time: their temporaries stay in the core's cache
_STEP = 2


@dataclass(frozen=True)
class BinStats:
    """Count, mean and M2 of every frequency bin (rows of the (F, T) examples)."""

    count: int  # values per bin: examples x frames
    mean: np.ndarray  # (F,) float64
    m2: np.ndarray  # (F,) float64, sum of squared deviations from mean

    @classmethod
    def of(cls, features: np.ndarray) -> BinStats:
        """Statistics of (n, F, T) features (float32 or float16), summed in float64.

        Deviations from a shift near the mean (the first example's) keep the
        sums small, so the variance does not cancel. A few examples at a time are
        converted by a plain copy, then shifted by a whole array of the shift
        (numpy's mixed-type and broadcast subtractions are much slower); their rows
        are summed, then squared in place and summed again, by products with ones.
        """
        n, bins, frames = features.shape
        step = min(n, _STEP)
        shift = np.empty((step, bins, frames))
        shift[...] = features[0].mean(axis=1, dtype=np.float64)[:, None]
        work = np.empty_like(shift)
        ones = np.ones(frames)
        s1 = np.zeros((step, bins))
        s2 = np.zeros((step, bins))
        for lo in range(0, n, step):
            k = min(step, n - lo)
            d = work[:k]
            d[...] = features[lo : lo + k]
            np.subtract(d, shift[:k], out=d)
            s1[:k] += d @ ones
            np.multiply(d, d, out=d)
            s2[:k] += d @ ones
        count = n * frames
        sum1, sum2 = s1.sum(axis=0), s2.sum(axis=0)
        mean = shift[0, :, 0] + sum1 / count
        return cls(count, mean, np.maximum(sum2 - sum1 * sum1 / count, 0.0))

    def merge(self, other: BinStats) -> BinStats:
        """Statistics of the union of both sets of values."""
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta * delta * (self.count * other.count / count)
        return BinStats(count, mean, m2)

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation of each bin (numpy's default, ddof=0)."""
        return np.sqrt(self.m2 / self.count)

    def overall(self) -> tuple[float, float]:
        """Mean and std of all values, every bin together (all bins have equal counts)."""
        mean = float(self.mean.mean())
        m2 = self.m2.sum() + self.count * ((self.mean - mean) ** 2).sum()
        return mean, float(np.sqrt(m2 / (self.count * len(self.mean))))

    def to_dict(self) -> dict[str, Any]:
        """What dataset.json records under "statistics"."""
        mean, std = self.overall()
        return {
            "count": self.count,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "global": {"mean": mean, "std": std},
        }


def merge_all(parts: Iterable[BinStats]) -> BinStats:
    """Merge shard statistics, in the order given (shard order keeps the result
    the same bits for any number of workers)."""
    return reduce(BinStats.merge, parts)


def normalizer(statistics: Mapping[str, Any], per_bin: bool) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) as (F, 1) float32 so that (x - shift) * scale is normalised;
    a bin that never varies keeps a scale of 1."""
    if per_bin:
        mean = np.asarray(statistics["mean"], dtype=np.float64)
        std = np.asarray(statistics["std"], dtype=np.float64)
    else:
        bins = len(statistics["mean"])
        mean = np.full(bins, statistics["global"]["mean"])
        std = np.full(bins, statistics["global"]["std"])
    scale = 1.0 / np.where(std > 0, std, 1.0)
    return mean.astype(np.float32)[:, None], scale.astype(np.float32)[:, None]
