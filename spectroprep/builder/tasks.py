"""One shard task, run in a worker process: decode, compute features, write a file.

A task carries everything it needs (source paths, headers, labels) and pickles,
so an executor (``execute``) can run it in any process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import Config
from ..dataset.datafile import ShardResult, write_data_file
from ..errors import InputError
from ..features.stft import feature_shape
from ..ingest.headers import Source
from ..ingest.labels.model import FileLabels
from ..ingest.labels.targets import Targets
from ..ingest.region import region_features
from ..ingest.segments import Region
from .plan import plan_shards


@dataclass(frozen=True)
class Part:
    """Consecutive windows of one source, with the source's labels."""

    source: Source
    labels: FileLabels
    region: Region

    @property
    def name(self) -> str:
        return self.source.name


@dataclass(frozen=True)
class ShardTask:
    """Write output file ``index``: the windows of ``parts``, in order."""

    index: int
    first_example: int
    parts: tuple[Part, ...]

    @property
    def n_examples(self) -> int:
        return sum(part.region.count for part in self.parts)


def make_tasks(
    sources: Sequence[Source], labels: Sequence[FileLabels], per_file: int
) -> list[ShardTask]:
    """Shard tasks of ``per_file`` examples over all windows, in source order."""
    plans = plan_shards([s.windows for s in sources], per_file)
    return [
        ShardTask(
            p.index,
            p.first_example,
            tuple(Part(sources[r.source], labels[r.source], r) for r in p.regions),
        )
        for p in plans
    ]


def task_targets(task: ShardTask, targets: Targets) -> dict[str, np.ndarray]:
    """The label arrays of a shard: "labels" unless unlabelled, "frame_targets" for events."""
    arrays: dict[str, list[np.ndarray]] = {}
    for part in task.parts:
        region = part.region
        labels = targets.labels(part.labels, region.first, region.count)
        if labels is not None:
            arrays.setdefault("labels", []).append(labels)
        if targets.has_frames:
            frames = targets.frames(part.labels, region.first, region.count)
            arrays.setdefault("frame_targets", []).append(frames)
    return {name: np.concatenate(parts) for name, parts in arrays.items()}


@dataclass(frozen=True)
class ShardFailure:
    """Sources of a shard that could not be decoded (truncated, NaN samples...), and
    nothing written: without ``skip``, or when no source of the shard decoded.
    ``problems``: (source name, message naming the file) pairs."""

    index: int  # the shard task's
    problems: tuple[tuple[str, str], ...]


def run_task(
    task: ShardTask,
    root: Path,
    config: Config,
    targets: Targets,
    attrs: Mapping[str, Any],
    skip: bool = False,
) -> ShardResult | ShardFailure:
    """Compute and write one shard, or report the sources it could not decode. With
    ``skip`` the shard is written without them, its ids still counted from
    ``task.first_example`` (the parent renumbers later files).

    BLAS runs on one thread: a threaded matrix product (mel filters, short-frame
    DFT, the statistics' sums) sums in another order, so features and statistics
    would change in the last bit with the number of worker processes.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        features, decoded, problems = _task_features(task, config)
        if problems and (not skip or not decoded.any()):
            return ShardFailure(task.index, tuple(problems))
        failed = {name for name, _ in problems}
        kept = replace(task, parts=tuple(p for p in task.parts if p.name not in failed))
        result = write_data_file(
            root,
            config,
            task.index,
            task.first_example,
            features if decoded.all() else features[decoded],
            task_targets(kept, targets),
            attrs,
            targets.n_classes,
            np.concatenate([np.full(p.region.count, p.region.source) for p in kept.parts]),
        )
    return replace(result, left_out=tuple(problems))


def _task_features(
    task: ShardTask, config: Config
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """The features of every window of ``task``, which of them decoded, and the
    sources that did not, with the reason."""
    bins, frames = feature_shape(config.window_samples, config.spectrogram)
    features = np.empty((task.n_examples, bins, frames), dtype=np.float32)
    decoded = np.ones(task.n_examples, dtype=bool)
    problems = []
    row = 0
    for part in task.parts:
        region = part.region
        try:
            region_features(part.source, region, config, features[row : row + region.count])
        except InputError as exc:
            problems.append((part.name, str(exc)))
            decoded[row : row + region.count] = False
        row += region.count
    return features, decoded, problems
