"""Normalisation statistics: per-frequency-bin mean and std over a whole dataset.

Each shard task summarises its own features as (count, mean, M2) per bin, M2
being the sum of squared deviations from the mean; the parent merges the shard
summaries in shard order with the pairwise formula of Chan, Golub and LeVeque
(1979), which is exact up to float64 rounding. So the result equals a single
pass of numpy over all features, whatever the number of worker processes.

The same summaries per group of examples (per input file or segment) are what a
dataset stores in source_statistics.npz, so that a subset of whole groups (a
fold) gets its own statistics by the same merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
        """Statistics of (n, F, T) features (float32 or float16), summed in float64."""
        shift, s1, s2 = _example_sums(features)
        return cls._from_sums(
            shift, len(features) * features.shape[2], s1.sum(axis=0), s2.sum(axis=0)
        )

    @classmethod
    def _from_sums(
        cls, shift: np.ndarray, count: int, sum1: np.ndarray, sum2: np.ndarray
    ) -> BinStats:
        return cls(count, shift + sum1 / count, np.maximum(sum2 - sum1 * sum1 / count, 0.0))

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


def _example_sums(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A shift per bin (the first example's mean), and each example's sums over its
    frames of (x - shift) and of its square: (F,), (n, F), (n, F) in float64.

    Deviations from a shift near the mean keep the sums small, so the variance does
    not cancel. A few examples at a time are converted by a plain copy, then shifted
    by a whole array of the shift (numpy's mixed-type and broadcast subtractions are
    much slower); their rows are summed, then squared in place and summed again, by
    products with ones.
    """
    n, bins, frames = features.shape
    step = min(n, _STEP)
    shift = np.empty((step, bins, frames))
    shift[...] = features[0].mean(axis=1, dtype=np.float64)[:, None]
    work = np.empty_like(shift)
    ones = np.ones(frames)
    s1 = np.empty((n, bins))
    s2 = np.empty((n, bins))
    for lo in range(0, n, step):
        k = min(step, n - lo)
        d = work[:k]
        d[...] = features[lo : lo + k]
        np.subtract(d, shift[:k], out=d)
        np.matmul(d, ones, out=s1[lo : lo + k])
        np.multiply(d, d, out=d)
        np.matmul(d, ones, out=s2[lo : lo + k])
    return shift[0, :, 0], s1, s2


@dataclass(frozen=True)
class GroupStats:
    """The BinStats of each group of a sequence of examples (a build's groups are its
    inputs: files, or segments of them), and the group of each example, in order.

    Groups merge exactly as shards do, so the statistics of any set of whole groups
    (a fold, a split) follow from these without a pass over the features.
    """

    example_group: np.ndarray  # (n,) int64: the group of each example
    groups: np.ndarray  # (G,) int64: the ids of the groups, ascending
    count: np.ndarray  # (G,) int64: values per bin of each group
    mean: np.ndarray  # (G, F) float64
    m2: np.ndarray  # (G, F) float64

    def __len__(self) -> int:
        return len(self.groups)

    def renumbered(self) -> GroupStats:
        """The same groups numbered 0..G-1, in the order of their ids."""
        ids = np.searchsorted(self.groups, self.example_group)
        return GroupStats(ids, np.arange(len(self.groups)), self.count, self.mean, self.m2)

    def merged(self, rows: np.ndarray | None = None) -> BinStats:
        """The statistics of the groups at ``rows`` (all when None) together."""
        pick = slice(None) if rows is None else rows
        count, mean, m2 = self.count[pick].astype(np.float64), self.mean[pick], self.m2[pick]
        total = count.sum()
        overall = (count / total) @ mean
        deviation = mean - overall
        np.square(deviation, out=deviation)
        return BinStats(int(total), overall, m2.sum(axis=0) + count @ deviation)


def feature_stats(features: np.ndarray, example_group: np.ndarray) -> tuple[BinStats, GroupStats]:
    """The statistics of (n, F, T) features, and of each group of them (``example_group``:
    each example's group id), from one pass."""
    shift, s1, s2 = _example_sums(features)
    frames = features.shape[2]
    total = BinStats._from_sums(shift, len(features) * frames, s1.sum(axis=0), s2.sum(axis=0))
    example_group = np.asarray(example_group, dtype=np.int64)
    order = np.argsort(example_group, kind="stable")
    ids, first, sizes = np.unique(example_group[order], return_index=True, return_counts=True)
    count = sizes.astype(np.int64) * frames
    sum1 = np.add.reduceat(s1[order], first, axis=0)
    sum2 = np.add.reduceat(s2[order], first, axis=0)
    mean = shift + sum1 / count[:, None]
    m2 = np.maximum(sum2 - sum1 * sum1 / count[:, None], 0.0)
    return total, GroupStats(example_group, ids, count, mean, m2)


def concat_groups(parts: Sequence[GroupStats]) -> GroupStats:
    """The statistics of the examples of ``parts`` one after another: a group found in
    several parts (a long file over two shards; every source, after a shuffle) is
    merged from all of them at once, in the order given."""
    ids = np.concatenate([p.groups for p in parts])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    count = np.concatenate([p.count for p in parts])[order]
    mean = np.concatenate([p.mean for p in parts])[order]
    m2 = np.concatenate([p.m2 for p in parts])[order]
    unique, first = np.unique(ids, return_index=True)
    total = np.add.reduceat(count, first)
    weights = (count / total[np.searchsorted(unique, ids)])[:, None]
    merged_mean = np.add.reduceat(weights * mean, first)
    deviation = mean - merged_mean[np.searchsorted(unique, ids)]
    spread = count[:, None] * deviation * deviation
    merged_m2 = np.add.reduceat(m2 + spread, first)
    example_group = np.concatenate([p.example_group for p in parts])
    return GroupStats(example_group, unique, total, merged_mean, merged_m2)


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


def constant_rows(block: np.ndarray) -> np.ndarray:
    """Per example of ``block`` (n, ...): are its features one finite value all over
    (digital silence, or nothing but padding)? NaN or inf is a problem of its own."""
    flat = block.reshape(len(block), -1)
    if not flat.size:
        return np.zeros(len(block), dtype=bool)
    return (flat.max(axis=1) == flat.min(axis=1)) & np.isfinite(flat[:, 0])
