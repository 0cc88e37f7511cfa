"""``spectroprep build``: plan in the parent, compute and write shards in workers.

The parent reads only headers, plans the shards (from the config alone, so the
output is the same for any ``--jobs``), collects the shard records, then writes
manifest.csv and, last and atomically, dataset.json. This is the only module
that uses joblib and tqdm.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from .audio import check_channels, output_length, probe
from .config import Config, load_config
from .describe import describe, manifest_rows, rejected_rows, shard_attrs
from .errors import InputError
from .labels import read_labels
from .layout import (
    DATASET_JSON,
    MANIFEST_CSV,
    REJECTED_CSV,
    FileRecord,
    write_json,
    write_manifest,
    write_rejected,
)
from .naming import natural_key
from .output import output_folder
from .plan import plan_shards
from .segments import count_windows
from .sources import Inputs, find_inputs
from .stats import BinStats, merge_all
from .targets import Targets
from .tasks import ShardResult, ShardTask, Source, run_task


def read_sources(inputs: Inputs, config: Config, progress: bool = False) -> list[Source]:
    """The header pass: every file's length and window count, no decoding.

    Every unreadable file is reported at once, one line each.
    """
    sources, problems = [], []
    rate = config.audio.sample_rate
    names = tqdm(inputs.files, desc="headers", unit="file", disable=not progress, leave=False)
    for name in names:
        try:
            info = probe(inputs.path(name))
            check_channels(inputs.path(name), info, config.audio.mono)
        except InputError as exc:
            problems.append(str(exc))
            continue
        samples = output_length(info, rate)
        windows = count_windows(
            samples, config.window_samples, config.hop_samples, config.segment.pad
        )
        sources.append(Source(name, inputs.path(name), info, samples, windows))
    if problems:
        raise InputError(f"{len(problems)} unreadable input file(s):\n" + "\n".join(problems))
    return sources


def make_tasks(sources: Sequence[Source], per_file: int) -> list[ShardTask]:
    """Shard tasks of ``per_file`` examples over all windows, in source order."""
    plans = plan_shards([s.windows for s in sources], per_file)
    return [
        ShardTask(p.index, p.first_example, tuple((sources[r.source], r) for r in p.regions))
        for p in plans
    ]


def run_tasks(
    tasks: Sequence[ShardTask],
    out: Path,
    config: Config,
    targets: Targets,
    attrs: dict[str, Any],
    jobs: int,
    progress: bool,
) -> tuple[list[FileRecord], dict[str, np.ndarray], BinStats]:
    """Run every shard task on ``jobs`` worker processes: the records in shard
    order, the label counts per class summed over all shards, and the merged
    feature statistics."""
    total = sum(t.n_examples for t in tasks)
    results: list[ShardResult] = []
    counts: dict[str, np.ndarray] = {}
    finished = Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(run_task)(task, out, config, targets, attrs) for task in tasks
    )
    with tqdm(total=total, desc="build", unit="ex", disable=not progress) as bar:
        for result in finished:
            results.append(result)
            for name, values in result.counts.items():
                counts[name] = counts.get(name, 0) + values
            bar.update(result.record.examples)
    results.sort(key=lambda r: natural_key(r.record.path))  # file names follow shard order
    stats = merge_all(r.stats for r in results)
    return [r.record for r in results], counts, stats


def build(
    audio: str | Path,
    out: str | Path,
    *,
    labels: str | Path | None = None,
    labels_from_folders: bool = False,
    events: str | Path | None = None,
    labels_per_window: bool = False,
    classes: str | Path | None = None,
    multi_label: bool = False,
    strict: bool = False,
    config: str | Path | Config | None = None,
    overrides: Sequence[str] = (),
    format: str | None = None,
    jobs: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> Path:
    """Build a dataset from ``audio`` (a folder or a CSV listing) into ``out``.

    Labels come from one of ``labels`` (CSV path,label; ";" between several
    classes), ``labels_from_folders``, ``events`` (DCASE strong labels) or
    ``labels_per_window`` (``<name>-lbl.npy`` beside each file), in the order
    of ``classes`` (one name a line) when given. Clip labels are multi-hot
    when ``multi_label`` or when a file has several classes. Events past the
    end of their file are clipped with a warning, or refused when ``strict``.
    ``config`` is a preset name, a TOML path or a Config; ``overrides`` are
    ``section.key=value`` strings; ``format`` overrides ``storage.format``.
    Everything is checked before anything is written. Returns ``out``.
    """
    cfg = load_config(config, overrides)
    if format is not None:
        cfg = cfg.replace("storage", format=format)
    out = Path(out)
    inputs = find_inputs(audio)
    if strict and events is None:
        raise InputError("--strict applies to --events")
    pending = read_labels(
        inputs,
        labels=labels,
        labels_from_folders=labels_from_folders,
        events=events,
        labels_per_window=labels_per_window,
        classes=classes,
        multi_label=multi_label,
    )
    sources = read_sources(inputs, cfg, progress)
    label_set = pending.bind(sources, cfg, strict)
    sources = [
        dataclasses.replace(s, labels=file_labels)
        for s, file_labels in zip(sources, label_set.files, strict=True)
    ]
    targets = Targets.from_config(label_set, cfg)
    if not any(s.windows for s in sources):
        raise InputError(
            f"{audio}: no windows to build (every file is shorter than "
            f"segment.length with segment.pad = {cfg.segment.pad!r}, or empty)"
        )
    storage = cfg.storage
    per_file = storage.shard_examples if storage.format == "hdf5" else storage.block_size
    tasks = make_tasks(sources, per_file)
    with output_folder(out, overwrite):
        attrs = shard_attrs(cfg, label_set)
        records, counts, stats = run_tasks(
            tasks, out, cfg, targets, attrs, jobs or os.cpu_count() or 1, progress
        )
        write_manifest(out / MANIFEST_CSV, manifest_rows(tasks, records, cfg, label_set, targets))
        rejected = rejected_rows(sources, cfg)
        if rejected:
            write_rejected(out / REJECTED_CSV, rejected)
        info = describe(
            cfg, label_set, targets, counts, stats, sources, records, command, inputs.root
        )
        write_json(out / DATASET_JSON, info)
    return out
