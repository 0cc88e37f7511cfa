"""The shard plan: which windows of which sources go into which output file.

It depends only on the sources and the config, never on ``--jobs``, so every
run writes the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..dataset.datafile import file_sizes
from ..ingest.segments import Region


@dataclass(frozen=True)
class ShardPlan:
    """One output file: its index, the position of its first example, its regions."""

    index: int
    first_example: int
    regions: tuple[Region, ...]

    @property
    def n_examples(self) -> int:
        return sum(r.count for r in self.regions)


def plan_shards(window_counts: Sequence[int], per_shard: int) -> list[ShardPlan]:
    """Cut the windows of all sources, in order, into files of at most ``per_shard``
    examples, as equal in size as possible (``file_sizes``)."""
    sizes = iter(file_sizes(sum(window_counts), per_shard))
    plans: list[ShardPlan] = []
    regions: list[Region] = []
    room = next(sizes, 0)
    first_example = 0

    def close() -> None:
        nonlocal regions, room, first_example
        plan = ShardPlan(len(plans), first_example, tuple(regions))
        plans.append(plan)
        first_example += plan.n_examples
        regions, room = [], next(sizes, 0)

    for source, n_windows in enumerate(window_counts):
        first = 0
        while first < n_windows:
            take = min(room, n_windows - first)
            regions.append(Region(source, first, take))
            first += take
            room -= take
            if room == 0:
                close()
    return plans
