"""Writing the new datasets of a shard run: every data file on an executor
(``parts``), then each dataset's manifest.csv, then each dataset.json."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..columns import ORIGIN_ID
from ..config import Config
from ..dataset.datafile import ShardResult, file_sizes, shard_attrs
from ..dataset.layout import DATASET_JSON, MANIFEST_CSV, REJECTED_CSV, write_json
from ..dataset.manifest import write_manifest
from ..dataset.manifest_table import ManifestTable
from ..dataset.source_stats import write_source_statistics
from ..dataset.stats import concat_groups, merge_all
from ..dataset.storage import get_format
from ..execute import Executor
from ..naming import natural_key
from .describe import describe_derived
from .parts import PartTask, SourceFiles, write_part
from .plan import Planned, SplitRequest


@dataclass(frozen=True)
class Job:
    """One shard run: the source, the new config and the plan of the new datasets."""

    src: Path
    out: Path
    info: dict[str, Any]
    files: SourceFiles
    config: Config
    table: ManifestTable
    example_source: np.ndarray  # (N,) the source of each source example
    planned: Planned
    request: SplitRequest | None
    shuffle: bool
    seed: int
    command: Sequence[str] | None

    @property
    def names(self) -> list[str]:
        """Split names; "" for the one dataset of a run without a split."""
        return [name or "" for name in self.planned.names]

    @property
    def folders(self) -> list[Path]:
        return [self.out / name for name in self.names]

    @property
    def train(self) -> str | None:
        """The split whose statistics every split records; None: each its own."""
        request = self.request
        return request.train if request is not None and request.train in self.names else None

    def write(self, executor: Executor, progress: bool) -> None:
        """Every data file, then each dataset's manifest.csv and source_statistics.npz,
        then each dataset.json."""
        results = self._write_files(executor, progress)
        for folder, positions in zip(self.folders, self.planned.positions, strict=True):
            _write_manifest(folder, self.table, positions, results[folder], self.config)
            if self.request is None and (self.src / REJECTED_CSV).is_file():
                shutil.copyfile(self.src / REJECTED_CSV, folder / REJECTED_CSV)
        stats = {folder: merge_all(r.stats for r in results[folder]) for folder in self.folders}
        train = self.train
        for k, folder in enumerate(self.folders):
            sources = np.unique(self.table.source.codes[self.planned.positions[k]])
            description = describe_derived(
                source=self.info,
                source_root=self.src,
                config=self.config,
                results=results[folder],
                sources=len(sources),
                rejected=self.info["counts"].get("rejected", 0) if self.request is None else 0,
                statistics=stats[self.out / train if train is not None else folder],
                source_statistics=write_source_statistics(
                    folder, concat_groups([r.sources for r in results[folder]])
                ),
                extra_columns=_extra_columns(self.table),
                derivation=self._derivation(self.names[k]),
                command=self.command,
            )
            write_json(folder / DATASET_JSON, description)

    def _write_files(self, executor: Executor, progress: bool) -> dict[Path, list[ShardResult]]:
        """Write every data file of every new dataset on the executor; each dataset's
        results in file order."""
        config, info = self.config, self.info
        storage = config.storage
        per_file = get_format(storage.format).examples_per_file(storage)
        attrs = shard_attrs(config, info["labels"]["kind"], info["labels"]["classes"])
        tasks = []
        for folder, positions in zip(self.folders, self.planned.positions, strict=True):
            lo = 0
            for i, size in enumerate(file_sizes(len(positions), per_file)):
                part = positions[lo : lo + size]
                tasks.append(PartTask(folder, i, lo, part, self.example_source[part]))
                lo += size
        calls = (partial(write_part, task, self.files, config, attrs) for task in tasks)
        results: dict[Path, list[ShardResult]] = {folder: [] for folder in self.folders}
        total = sum(len(p) for p in self.planned.positions)
        with (
            executor.run(calls) as finished,
            tqdm(total=total, desc="shard", unit="ex", disable=not progress) as bar,
        ):
            for _, (folder, result) in finished:
                results[folder].append(result)
                bar.update(result.record.examples)
        for done in results.values():
            done.sort(key=lambda r: natural_key(r.record.path))
        return results

    def _derivation(self, name: str) -> dict[str, Any]:
        """How the dataset ``name`` was ordered and cut, as dataset.json records it."""
        record: dict[str, Any] = {
            "shuffle": {"seed": self.seed} if self.shuffle else None,
            "split": None,
        }
        if self.request is not None:
            record["split"] = {
                "name": name,
                **self.request.record(self.names),
                "seed": self.seed,
                "achieved": self.planned.shares,
                "statistics_from": self.train or name,
            }
        return record


def _write_manifest(
    folder: Path,
    table: ManifestTable,
    positions: np.ndarray,
    results: list[ShardResult],
    config: Config,
) -> None:
    fmt = get_format(config.storage.format)
    counts = [r.record.examples for r in results]
    paths = [r.record.path for r in results]
    rows = table.rows(positions, counts, paths, fmt)
    write_manifest(folder / MANIFEST_CSV, rows, _extra_columns(table))


def _extra_columns(table: ManifestTable) -> list[str]:
    return [*table.extra, ORIGIN_ID]
