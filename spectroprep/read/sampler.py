"""Whole shards for each reader of a multi-process or multi-rank training loop.

Every worker process of every rank reads a disjoint set of whole data files, so
each reads its own files in long runs and, over all readers, every example is
read exactly once per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .epochs import Batch
    from .reader import Dataset


def split_files(counts: Sequence[int], parts: int) -> list[list[int]]:
    """Data file indices for each of ``parts`` readers: whole files, largest first
    to the reader with the fewest examples so far (ties to the lowest part), each
    part's files in file order. The same counts always give the same split."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, not {parts}")
    load = [0] * parts
    owned: list[list[int]] = [[] for _ in range(parts)]
    for file in sorted(range(len(counts)), key=lambda f: (-counts[f], f)):
        part = min(range(parts), key=lambda p: (load[p], p))
        owned[part].append(file)
        load[part] += counts[file]
    return [sorted(files) for files in owned]


class ShardSampler:
    """The shards that one reader owns: worker ``worker`` of ``num_workers`` in
    rank ``rank`` of ``world_size`` (DDP); ``batches()`` reads them.

    With fewer shards than readers some readers get none; re-shard with a smaller
    ``--shard-size`` to use them all.

    ``even=True`` gives every reader the same number of examples, and so of batches
    (DDP's ranks then never wait on one that ran dry): the mean over the readers,
    rounded up. A reader with more leaves the last of its epoch out (other examples
    each epoch, when shuffled); one with fewer repeats the first of its epoch. Either is at
    most the gap between a reader and the mean, under a data file's worth, as whole
    files are shared out largest first.
    """

    def __init__(
        self,
        dataset: Dataset,
        rank: int = 0,
        world_size: int = 1,
        worker: int = 0,
        num_workers: int = 1,
        even: bool = False,
    ) -> None:
        if not (0 <= rank < world_size and 0 <= worker < num_workers):
            raise ValueError(
                f"need 0 <= rank < world_size and 0 <= worker < num_workers, got rank {rank} "
                f"of {world_size} and worker {worker} of {num_workers}"
            )
        self.dataset = dataset
        self.part = rank * num_workers + worker
        self.parts = world_size * num_workers
        counts = dataset.file_examples  # of the subset, when the dataset is one
        owned = split_files(counts, self.parts)
        self.shards = owned[self.part]
        self.examples = sum(counts[f] for f in self.shards)
        self.even = even
        if even:
            if any(sum(counts[f] for f in files) == 0 for files in owned):
                raise ValueError(
                    f"even=True needs examples for each of the {self.parts} readers, and "
                    f"{sum(1 for c in counts if c)} data file(s) hold some: re-shard with a "
                    "smaller --shard-size"
                )
            self.examples = -(-sum(counts) // self.parts)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next iteration shuffles for (as DistributedSampler does)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.examples

    def batches(self, batch_size: int = 64, **options: Any) -> Iterator[Batch]:
        """``dataset.batches`` over this reader's shards only, for ``self.epoch``."""
        length = self.examples if self.even else options.pop("length", None)
        return self.dataset.batches(
            batch_size, epoch=self.epoch, shards=self.shards, length=length, **options
        )

    def __repr__(self) -> str:
        return (
            f"ShardSampler(part {self.part} of {self.parts}: {len(self.shards)} shards, "
            f"{self.examples} examples)"
        )
