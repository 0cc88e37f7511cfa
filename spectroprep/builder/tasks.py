"""One shard task, run in a worker process: decode, compute features, write a file.

A task carries everything it needs (source paths, headers, labels), so it can
run in any process: a local worker pool today, a cluster's workers later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import Config
from ..dataset.datafile import ShardResult, write_data_file
from ..errors import InputError
from ..features.stft import feature_shape, spectrogram
from ..ingest.audio.file import AudioInfo, read_region
from ..ingest.labels.core import FileLabels
from ..ingest.labels.targets import Targets
from ..ingest.segments import cut_windows, region_span
from .plan import Region


@dataclass(frozen=True)
class Source:
    """One input file after the header pass."""

    name: str  # relative to the audio root: the manifest's "source"
    path: Path
    info: AudioInfo
    samples: int  # length at the target sample rate
    windows: int  # examples it yields
    labels: FileLabels = field(default_factory=FileLabels)


@dataclass(frozen=True)
class ShardTask:
    """Write output file ``index``: the windows of ``parts``, in order."""

    index: int
    first_example: int
    parts: tuple[tuple[Source, Region], ...]

    @property
    def n_examples(self) -> int:
        return sum(region.count for _, region in self.parts)


def region_features(source: Source, region: Region, config: Config, out: np.ndarray) -> None:
    """Features of the windows of ``region`` into ``out`` (region.count, F, T)."""
    window, hop = config.window_samples, config.hop_samples
    start, stop = region_span(region.first, region.count, window, hop)
    signal = read_region(source.path, source.info, start, min(stop, source.samples), config.audio)
    windows = cut_windows(signal, region.count, window, hop)
    spectrogram(windows, config.spectrogram, config.audio.sample_rate, out=out)


def task_targets(task: ShardTask, targets: Targets) -> dict[str, np.ndarray]:
    """The label arrays of a shard: "labels" unless unlabelled, "frame_targets" for events."""
    arrays: dict[str, list[np.ndarray]] = {}
    for source, region in task.parts:
        labels = targets.labels(source.labels, region.first, region.count)
        if labels is not None:
            arrays.setdefault("labels", []).append(labels)
        if targets.has_frames:
            frames = targets.frames(source.labels, region.first, region.count)
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
        kept = replace(task, parts=tuple(p for p in task.parts if p[0].name not in failed))
        result = write_data_file(
            root,
            config,
            task.index,
            task.first_example,
            features if decoded.all() else features[decoded],
            task_targets(kept, targets),
            attrs,
            targets.n_classes,
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
    for source, region in task.parts:
        try:
            region_features(source, region, config, features[row : row + region.count])
        except InputError as exc:
            problems.append((source.name, str(exc)))
            decoded[row : row + region.count] = False
        row += region.count
    return features, decoded, problems
