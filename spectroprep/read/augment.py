"""Batch transforms on read, in numpy, vectorised over the batch: SpecAugment's time and
frequency masks, and mixup. A transform is any callable ``(x, y, rng) -> (x, y)``, free
to change the batch's arrays in place (each batch handed out is its own copy);
``Dataset.batches(transform=...)`` hands it a generator seeded by (seed, epoch, batch),
so an augmented epoch is the same again for the same arguments (and after a resume).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

Labels = np.ndarray | None
Transform = Callable[[np.ndarray, Labels, np.random.Generator], tuple[np.ndarray, Labels]]
_STREAM = 0x5EED  # keeps a batch's transform draws apart from the epoch's order


def batch_rng(seed: int, epoch: int, batch: int, reader: int = 0) -> np.random.Generator:
    """The generator a transform gets for batch ``batch`` of an epoch, in ``reader`` (each
    DataLoader worker and DDP rank its own, or their batches would share their masks)."""
    return np.random.default_rng([seed, epoch, batch, reader, _STREAM])


def _bands(rng: np.random.Generator, shape: tuple[int, int], count: int, width: int) -> np.ndarray:
    """(B, L) True inside ``count`` bands of 0..``width`` along an axis of L, per example."""
    batch, size = shape
    widths = rng.integers(0, width + 1, (batch, count, 1))
    starts = rng.integers(0, np.maximum(size - widths, 0) + 1)
    where = np.arange(size)
    return np.asarray(((where >= starts) & (where < starts + widths)).any(axis=1))


class SpecAugment:
    """Park et al.'s masks: ``time_masks`` bands of up to ``time_width`` frames and
    ``freq_masks`` bands of up to ``freq_width`` bins, each of a random width and
    place per example, set to ``value`` (``"mean"``: each example's own mean; 0 suits
    normalised features), in ``x`` itself. Frame targets and labels pass unchanged."""

    def __init__(
        self,
        time_masks: int = 2,
        time_width: int = 10,
        freq_masks: int = 2,
        freq_width: int = 8,
        value: float | str = "mean",
    ) -> None:
        if min(time_masks, time_width, freq_masks, freq_width) < 0:
            raise ValueError("mask counts and widths must be at least 0")
        if not (value == "mean" or isinstance(value, numbers.Real)):
            raise ValueError(f"value must be 'mean' or a number, not {value!r}")
        self.time = (time_masks, time_width)
        self.freq = (freq_masks, freq_width)
        self.value = value

    def __call__(
        self, x: np.ndarray, y: Labels, rng: np.random.Generator
    ) -> tuple[np.ndarray, Labels]:
        batch, bins, frames = x.shape
        masked = (
            _bands(rng, (batch, bins), *self.freq)[:, :, None]
            | _bands(rng, (batch, frames), *self.time)[:, None, :]
        )
        fill = x.mean(axis=(1, 2), keepdims=True) if self.value == "mean" else self.value
        np.copyto(x, np.asarray(fill, dtype=x.dtype), where=masked)
        return x, y

    def __repr__(self) -> str:
        return f"SpecAugment(time={self.time}, freq={self.freq}, value={self.value!r})"


class Mixup:
    """Zhang et al.'s mixup: each example mixed with another of the batch, weights
    λ ~ Beta(``alpha``, ``alpha``) per example, and its targets alike: multi-hot
    labels and frame targets as float32, class ids as one-hot rows of ``classes``
    (needed for them). Features come back float32."""

    def __init__(self, alpha: float = 0.2, classes: int | None = None) -> None:
        if alpha <= 0:
            raise ValueError(f"alpha must be above 0, not {alpha}")
        self.alpha = alpha
        self.classes = classes

    def __call__(
        self, x: np.ndarray, y: Labels, rng: np.random.Generator
    ) -> tuple[np.ndarray, Labels]:
        batch = len(x)
        partner = rng.permutation(batch)
        lam = rng.beta(self.alpha, self.alpha, batch).astype(np.float32)
        mixed = _mix(x.astype(np.float32, copy=False), partner, lam)  # in x, when float32
        if y is None:
            return mixed, None
        if y.ndim == 1:
            if self.classes is None:
                raise ValueError("Mixup(classes=...) is needed to mix class ids")
            targets = np.zeros((batch, self.classes), dtype=np.float32)
            targets[np.arange(batch), y] = 1  # ids -1 (no class) stay a row of zeros
            targets[y < 0] = 0
            y = targets
        return mixed, _mix(y.astype(np.float32), partner, lam)

    def __repr__(self) -> str:
        return f"Mixup(alpha={self.alpha}, classes={self.classes})"


def _mix(values: np.ndarray, partner: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``lam * values + (1 - lam) * values[partner]``, in ``values`` itself: one new
    array, not four (a fresh 6.6 MB array costs as much as the arithmetic)."""
    weight = lam.reshape(-1, *([1] * (values.ndim - 1)))
    other = values[partner]
    other *= 1 - weight
    values *= weight
    values += other
    return values


class Compose:
    """Transforms applied in turn."""

    def __init__(self, *transforms: Transform) -> None:
        self.transforms = transforms

    def __call__(self, x: np.ndarray, y: Labels, rng: np.random.Generator) -> Any:
        for transform in self.transforms:
            x, y = transform(x, y, rng)
        return x, y


def transformed(
    batches: Iterator[tuple[np.ndarray, Labels]],
    transform: Transform,
    seed: int,
    epoch: int,
    first: int,
    reader: int = 0,
) -> Iterator[tuple[np.ndarray, Labels]]:
    """``batches`` (of an epoch, from batch ``first`` on) through ``transform``."""
    for index, (x, y) in enumerate(batches, start=first):
        yield transform(x, y, batch_rng(seed, epoch, index, reader))
