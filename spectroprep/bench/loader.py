"""Reads through a real ``torch.utils.data.DataLoader`` (``BatchDataset``, the given
number of workers, pinned memory when a CUDA device can take it): the rate a training
process receives batches at, hand-off from the workers included."""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from pathlib import Path

from . import Rate, timed_steps

LOADER = "torch DataLoader"
PINNED = "torch DataLoader, pinned"
# a DataLoader reads at a fraction of its steady rate for a few tenths of a second
# after its workers start (benchmarks/read_scale.py's warm_up_s)
WARM_UP_S = 0.5


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def loader_patterns() -> tuple[str, ...]:
    """The DataLoader patterns this process can measure: none without torch, pinned
    memory only with a CUDA device (pinning is for copies to one)."""
    if not torch_installed():
        return ()
    import torch

    return (LOADER, PINNED) if torch.cuda.is_available() else (LOADER,)


def _received(
    path: Path, workers: int, batch_size: int, pinned: bool
) -> Generator[int, None, None]:
    """Endless epochs of batches as the training process receives them."""
    from torch.utils.data import DataLoader

    from ..torch import BatchDataset

    batches = BatchDataset(path, batch_size=batch_size, seed=0)
    loader = DataLoader(
        batches,
        batch_size=None,
        num_workers=workers,
        pin_memory=pinned,
        persistent_workers=workers > 0,
    )
    epoch = 0
    while True:
        batches.set_epoch(epoch)
        for x, _ in loader:
            yield len(x)
        epoch += 1


def loader_rate(
    path: Path, pattern: str, workers: int, batch_size: int, seconds: float, example_bytes: int
) -> Rate:
    """Examples/s received from a DataLoader for about ``seconds`` after a warm-up."""
    steps = _received(path, workers, batch_size, pattern == PINNED)
    try:
        count, took = timed_steps(steps, seconds, WARM_UP_S)
    finally:
        steps.close()  # the loader's workers end with it
    return Rate(pattern, workers, count, took, example_bytes)
