"""Epochs drawn with replacement by per-example weights: ``balance="class"`` (every class
drawn as often, in expectation) and the user's own ``weights``."""

from __future__ import annotations

from typing import Any

import numpy as np
import xxhash

BALANCE = ("class",)


def sampling_weights(
    labels: np.ndarray | None, balance: str | None, weights: Any, n: int
) -> np.ndarray:
    """Each of ``n`` examples' chance to be drawn, unnormalised. ``balance="class"``:
    with class ids, one over the examples of the example's class; with multi-hot
    labels, a class picked uniformly, then one of its examples (PANNs' balanced
    sampler), i.e. the sum over the example's classes of one over their examples.
    An example of no class is never drawn. ``weights`` multiply in."""
    drawn = np.ones(n)
    if weights is not None:
        drawn = np.asarray(weights, dtype=np.float64)
        if drawn.shape != (n,) or not np.isfinite(drawn).all() or (drawn < 0).any():
            raise ValueError(f"weights must be {n} finite numbers of at least 0, one an example")
    if balance is not None:
        if balance not in BALANCE:
            raise ValueError(f"balance must be one of {', '.join(BALANCE)}, not {balance!r}")
        if labels is None:
            raise ValueError("balance='class' needs labels: this dataset is unlabelled")
        drawn = drawn * _class_weights(labels)
    if not (drawn > 0).any():
        raise ValueError("every example has weight 0: nothing to draw")
    return drawn


def _class_weights(labels: np.ndarray) -> np.ndarray:
    if labels.ndim == 1:  # class ids; -1: no class
        counts = np.bincount(labels[labels >= 0], minlength=int(labels.max(initial=0)) + 1)
        return np.where(labels >= 0, 1.0 / counts[np.maximum(labels, 0)].clip(1), 0.0)
    counts = labels.sum(axis=0, dtype=np.int64)
    inverse = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    return labels @ inverse


def drawn_order(
    candidates: np.ndarray,
    weights: np.ndarray,
    length: int,
    window: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``length`` examples drawn with replacement from ``candidates`` by their
    ``weights``, and the end of each read window of ``window`` examples (a window is
    read at once, each file's rows in order, as a shuffled epoch's are)."""
    chances = weights[candidates]
    total = chances.sum()
    if not len(candidates) or total <= 0:
        raise ValueError("no example here has a weight above 0: nothing to draw")
    order = candidates[rng.choice(len(candidates), size=length, p=chances / total)]
    return order, np.r_[np.arange(window, length, window), length].astype(np.int64)


def weights_digest_of(weights: Any) -> str | None:
    """A short digest of per-example weights, for a saved epoch to check them by."""
    if weights is None:
        return None
    return xxhash.xxh3_64_hexdigest(np.ascontiguousarray(weights, dtype=np.float64).tobytes())
