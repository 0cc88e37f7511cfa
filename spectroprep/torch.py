"""PyTorch adapters (an optional extra: ``pip install 'spectroprep[torch]'``).

* ``ExampleDataset``: a map-style ``torch.utils.data.Dataset`` of single
  examples. DataLoader fetches each batch with one ``get_batch`` call (through
  ``__getitems__``); ``batch_sampler()`` gives chunk-aware shuffled batches.
* ``BatchDataset``: an ``IterableDataset`` of whole batches (use it with
  ``batch_size=None``). Each worker of each rank reads its own whole shards,
  so every example is read once per epoch, in long runs.

Both open the dataset lazily in each worker process; call ``set_epoch`` before
each epoch for a new shuffle, as with ``DistributedSampler``. ``BatchDataset``
keeps its epoch in shared memory, so that ``set_epoch`` also reaches the workers
that ``persistent_workers=True`` keeps from one epoch to the next (each holds its
own copy of the dataset, made when it started). An unlabelled
dataset (label kind "none") gives the features alone, so torch's default
collate makes batches of them (it cannot collate None).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from multiprocessing import context, sharedctypes
from pathlib import Path
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils import data
except ImportError:
    raise ImportError("spectroprep.torch needs PyTorch: pip install 'spectroprep[torch]'") from None

from .read.augment import Transform
from .read.epochs import batch_count
from .read.reader import Dataset, as_dataset, drawn_seed
from .read.sampler import ShardSampler

Sample = tuple[torch.Tensor, torch.Tensor] | torch.Tensor  # the features alone: unlabelled


def _rank() -> tuple[int, int]:
    """(rank, world size) of this process in torch.distributed, or (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ExampleDataset(data.Dataset):
    """One example per index: ``(features (F, T), label)`` tensors, or the
    features alone when the dataset is unlabelled.

    ``source`` is a dataset folder (opened with ``open_dataset(source, **options)``)
    or an open ``spectroprep.Dataset``.
    """

    def __init__(self, source: str | Path | Dataset, **options: Any) -> None:
        self.dataset = as_dataset(source, **options)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        x, y = self.dataset[int(index)]
        return torch.from_numpy(x) if y is None else (torch.from_numpy(x), torch.as_tensor(y))

    def __getitems__(self, indices: Sequence[int]) -> list[Sample]:
        """A batch in one read (DataLoader calls this instead of ``__getitem__``)."""
        x, y = self.dataset.get_batch(indices)
        xs = torch.from_numpy(x).unbind(0)
        if y is None:
            return list(xs)
        return list(zip(xs, torch.from_numpy(y).unbind(0), strict=True))

    def batch_sampler(
        self,
        batch_size: int = 64,
        seed: int | None = None,
        drop_last: bool = False,
        **draw: Any,
    ) -> EpochBatchSampler:
        """Batches of indices in ``batches()``'s chunk-aware shuffled order, for
        ``DataLoader(ds, batch_sampler=...)``; ``draw``: ``balance``, ``weights`` and
        ``length`` as ``Dataset.batches`` takes them."""
        return EpochBatchSampler(self.dataset, batch_size, seed, drop_last, **draw)


class EpochBatchSampler(data.Sampler[list[int]]):
    """Index batches of one epoch in chunk-aware shuffled order; ``set_epoch`` moves on."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int | None,
        drop_last: bool,
        balance: str | None = None,
        weights: Any = None,
        length: int | None = None,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = drawn_seed() if seed is None else seed
        self.drop_last = drop_last
        self.draw = {"balance": balance, "weights": weights, "length": length}
        self.epoch = 0
        self._progress = _Progress()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.dataset) if self.draw["length"] is None else self.draw["length"]
        return batch_count(n, self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        first = self._progress.begin(self.epoch)
        order = self.dataset.epoch_order(seed=self.seed, epoch=self.epoch, **self.draw)
        return self._batches(order, first)

    def _batches(self, order: np.ndarray, first: int) -> Iterator[list[int]]:
        for batch in range(first, len(self)):
            self._progress.taken = batch + 1
            yield order[batch * self.batch_size : (batch + 1) * self.batch_size].tolist()

    def state_dict(self) -> dict[str, int]:
        """The epoch and the batches of it handed out (torchdata's StatefulDataLoader
        calls this)."""
        return {**self._progress.state(self.epoch), "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Go on from ``state``: its epoch's next iteration yields the rest of it."""
        self.seed = state["seed"]
        self.epoch = state["epoch"]
        self._progress.resume(state)


class _Progress:
    """Batches of the epoch being read that are handed out, and a saved position to go
    on from: used by the next iteration of that same epoch only (a state saved at an
    epoch's end, or another epoch set since, starts a whole epoch)."""

    def __init__(self) -> None:
        self.epoch: int | None = None  # of the iteration under way
        self.taken = 0
        self._pending: tuple[int, int] | None = None

    def begin(self, epoch: int) -> int:
        """An iteration of ``epoch`` starts: the batches it skips."""
        pending, self._pending = self._pending, None
        first = pending[1] if pending is not None and pending[0] == epoch else 0
        self.epoch, self.taken = epoch, first
        return first

    def state(self, epoch: int) -> dict[str, int]:
        if self._pending is not None:
            return {"epoch": self._pending[0], "batches": self._pending[1]}
        if self.epoch is None:
            return {"epoch": epoch, "batches": 0}
        return {"epoch": self.epoch, "batches": self.taken}

    def resume(self, state: dict[str, int]) -> None:
        self._pending = (int(state["epoch"]), int(state["batches"]))


class SharedEpoch:
    """An epoch number shared with the DataLoader workers started from this process:
    a shared-memory integer, inherited by forked workers and handed to spawned ones
    while they start. Pickled any other way it travels as a plain number."""

    def __init__(self, epoch: int = 0) -> None:
        self._shared = sharedctypes.RawValue("q", epoch)

    @property
    def value(self) -> int:
        return int(self._shared.value)

    @value.setter
    def value(self, epoch: int) -> None:
        self._shared.value = epoch

    def __getstate__(self) -> dict[str, Any]:
        if context.get_spawning_popen() is not None:  # a worker being started
            return {"shared": self._shared}
        return {"epoch": self.value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        shared = state.get("shared")  # (a ctypes integer of value 0 is false)
        self._shared = sharedctypes.RawValue("q", state["epoch"]) if shared is None else shared


class BatchDataset(data.IterableDataset):
    """Whole ``(X (B, F, T), y)`` batches from ``Dataset.batches`` (X alone when the
    dataset is unlabelled); each DataLoader worker (and each DDP rank) reads its own
    whole shards (see ShardSampler).

    Use ``DataLoader(BatchDataset(path, batch_size=64), batch_size=None,
    num_workers=2)``. A batch never mixes examples of two workers' shards, so a
    worker's last batch of an epoch may be short (unless ``drop_last``).
    ``even=True`` gives every worker of every rank the same number of batches, by
    repeating a few examples (see ShardSampler), so that DDP never waits on a rank
    that ran dry.
    """

    def __init__(
        self,
        source: str | Path | Dataset,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        prefetch: int = 2,
        even: bool = False,
        balance: str | None = None,
        weights: Any = None,
        transform: Transform | None = None,
        **options: Any,
    ) -> None:
        self.dataset = as_dataset(source, **options)
        self.even = even
        self.batch_size = batch_size
        self.batch_options = {
            "shuffle": shuffle,
            "seed": drawn_seed() if seed is None else seed,  # one for every worker, epoch
            "drop_last": drop_last,
            "prefetch": prefetch,
            "balance": balance,
            "weights": weights,
            "transform": transform,
        }
        self._epoch = SharedEpoch()
        self._progress = _Progress()

    @property
    def epoch(self) -> int:
        return self._epoch.value

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next iteration reads, in this process and in every DataLoader
        worker, persistent ones included."""
        self._epoch.value = epoch

    def sampler(self) -> ShardSampler:
        """The shards this process reads: by DataLoader worker and DDP rank."""
        worker = data.get_worker_info()
        rank, world_size = _rank()
        sampler = ShardSampler(
            self.dataset,
            rank=rank,
            world_size=world_size,
            worker=0 if worker is None else worker.id,
            num_workers=1 if worker is None else worker.num_workers,
            even=self.even,
        )
        sampler.set_epoch(self.epoch)
        return sampler

    def __iter__(self) -> Iterator[Sample]:
        # not a generator: the progress is set now, when torchdata asks a worker for its
        # state right after starting an epoch
        first = self._progress.begin(self.epoch)
        batches = self.sampler().batches(self.batch_size, start=first, **self.batch_options)
        return self._tensors(batches)

    def _tensors(self, batches: Iterator[Any]) -> Iterator[Sample]:
        for x, y in batches:
            self._progress.taken += 1
            features = torch.from_numpy(np.ascontiguousarray(x))  # a transform's may not be
            yield features if y is None else (features, torch.from_numpy(np.ascontiguousarray(y)))

    def state_dict(self) -> dict[str, int]:
        """The epoch, and the batches of it this reader (this process, or this
        DataLoader worker) has handed out: what torchdata's StatefulDataLoader keeps
        for each worker, or, without workers, what to save after taking batches from
        ``iter(dataset)``."""
        return {**self._progress.state(self.epoch), "seed": self.batch_options["seed"]}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Go on from ``state``: the next iteration of its epoch yields the rest of it,
        the same batches in the same order (the same dataset and arguments given). In
        the training process this also sets the epoch; a DataLoader worker (torchdata
        loads each one's state) leaves the shared epoch to ``set_epoch``."""
        self.batch_options["seed"] = state["seed"]
        if data.get_worker_info() is None:
            self.set_epoch(state["epoch"])
        self._progress.resume(state)
