"""The shard plan: which windows of which sources go into which output file.

It depends only on the sources and the config, never on ``--jobs``, so every
run writes the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """Consecutive windows ``first .. first+count-1`` of source ``source``."""

    source: int
    first: int
    count: int


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
    """Cut the windows of all sources, in order, into files of ``per_shard`` examples."""
    plans: list[ShardPlan] = []
    regions: list[Region] = []
    room = per_shard
    first_example = 0

    def close() -> None:
        nonlocal regions, room, first_example
        plan = ShardPlan(len(plans), first_example, tuple(regions))
        plans.append(plan)
        first_example += plan.n_examples
        regions, room = [], per_shard

    for source, n_windows in enumerate(window_counts):
        first = 0
        while first < n_windows:
            take = min(room, n_windows - first)
            regions.append(Region(source, first, take))
            first += take
            room -= take
            if room == 0:
                close()
    if regions:
        close()
    return plans
