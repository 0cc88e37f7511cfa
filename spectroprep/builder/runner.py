"""Running a build's shard tasks on an executor (``execute``), with a journal of the
finished ones: a shard the journal holds with an unchanged plan
and digest is reused, not built again."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..config import Config
from ..dataset.datafile import ShardResult
from ..dataset.layout import remove_path
from ..dataset.storage import Format, get_format
from ..execute import Executor
from ..ingest.labels.targets import Targets
from .journal import Journal, shard_key
from .tasks import ShardFailure, ShardTask, run_task


def _remove_unplanned(out: Path, fmt: Format, keep: set[str]) -> None:
    """Delete data files a resumed build does not reuse (they are rebuilt)."""
    top = out / Path(fmt.file_name(0)).parent
    if top.is_dir():
        for entry in top.iterdir():
            rel = entry.relative_to(out).as_posix()
            if rel not in keep and fmt.OWNED.fullmatch(rel):
                remove_path(entry)


Outcome = ShardResult | ShardFailure


@dataclass(frozen=True)
class TaskRunner:
    """Runs the shard tasks of one build on an executor and journals them.

    With ``skip``, a source that fails to decode is left out of its shard and the
    shard written without it; without, the first failure stops the run.
    """

    out: Path
    config: Config
    targets: Targets
    attrs: dict[str, Any]
    executor: Executor
    progress: bool
    journal: Journal
    skip: bool

    def run(self, tasks: Sequence[ShardTask]) -> list[Outcome]:
        """The outcomes of ``tasks`` in task order, reusing what the journal holds.
        Without ``skip``, the run stops at the first failure, and the outcomes end
        with it."""
        fmt = get_format(self.config.storage.format)
        done: dict[int, Outcome] = {}
        for task in tasks:
            reused = self.journal.reusable(fmt.file_name(task.index), self._key(task))
            # a shard written without a failing source is whole only to another skip
            if reused is not None and (self.skip or not reused.left_out):
                done[task.index] = reused
        _remove_unplanned(self.out, fmt, {fmt.file_name(i) for i in done})
        todo = [t for t in tasks if t.index not in done]
        total = sum(t.n_examples for t in tasks)
        initial = sum(r.record.examples for r in done.values() if isinstance(r, ShardResult))
        with (
            tqdm(
                total=total, initial=initial, desc="build", unit="ex", disable=not self.progress
            ) as bar,
            closing(self._execute(todo)) as finished,
        ):
            for task, outcome in finished:
                self._journal(task, outcome)
                if isinstance(outcome, ShardFailure) and not self.skip:
                    return [*(done[t.index] for t in tasks if t.index in done), outcome]
                done[task.index] = outcome
                bar.update(task.n_examples)
        return [done[t.index] for t in tasks]

    def without(
        self, tasks: Sequence[ShardTask], outcomes: Sequence[Outcome], failed: Mapping[str, str]
    ) -> list[Outcome]:
        """The outcomes after writing again, without them, the shards that hold windows
        of a ``failed`` source (name -> why) that decoded in this shard but not in
        another: no file keeps a part of a source that is left out. Each shard is
        journaled under its planned task, with what it left out, so a resumed skip
        build reuses it."""
        fmt = get_format(self.config.storage.format)
        outcomes = list(outcomes)
        again: dict[int, tuple[int, ShardTask, tuple[tuple[str, str], ...]]] = {}
        for i, (task, outcome) in enumerate(zip(tasks, outcomes, strict=True)):
            if isinstance(outcome, ShardFailure):
                continue
            left = {name for name, _ in outcome.left_out}
            still = [p for p in task.parts if p.name in failed and p.name not in left]
            if not still:
                continue
            gone = tuple((name, failed[name]) for name in dict.fromkeys(p.name for p in still))
            kept = tuple(p for p in task.parts if p.name not in failed)
            remove_path(self.out / fmt.file_name(task.index))  # npy folders are not replaced
            if kept:
                again[task.index] = (i, task, outcome.left_out + gone)
            else:  # nothing of the shard is left
                outcomes[i] = ShardFailure(task.index, outcome.left_out + gone)
        reduced = [
            replace(task, parts=tuple(p for p in task.parts if p.name not in failed))
            for _, task, _ in again.values()
        ]
        with closing(self._execute(reduced)) as finished:
            for task, outcome in finished:
                i, planned, left_out = again[task.index]
                if isinstance(outcome, ShardResult):
                    outcome = replace(outcome, left_out=left_out)
                self._journal(planned, outcome)
                outcomes[i] = outcome
        return outcomes

    def _execute(
        self, tasks: Sequence[ShardTask]
    ) -> Generator[tuple[ShardTask, Outcome], None, None]:
        """Run ``tasks`` on the executor; yield each task with its outcome as they finish."""
        calls = (
            partial(run_task, t, self.out, self.config, self.targets, self.attrs, self.skip)
            for t in tasks
        )
        with self.executor.run(calls) as finished:
            for position, outcome in finished:
                yield tasks[position], outcome

    def _journal(self, task: ShardTask, outcome: Outcome) -> None:
        """Record a written shard under the task it was planned as."""
        if isinstance(outcome, ShardResult):
            self.journal.add(self._key(task), outcome)

    def _key(self, task: ShardTask) -> str:
        return shard_key(task, self.attrs)
