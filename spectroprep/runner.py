"""Running a build's shard tasks on worker processes, with a journal of the
finished ones: a shard the journal holds with an unchanged plan
and checksum is reused, not built again."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .config import Config
from .datafile import ShardResult
from .journal import Journal, shard_key
from .layout import remove_path
from .naming import natural_key
from .plan import plan_shards
from .storage import Format, get_format
from .targets import Targets
from .tasks import ShardFailure, ShardTask, Source, run_task
from .workers import worker_results


def make_tasks(sources: Sequence[Source], per_file: int) -> list[ShardTask]:
    """Shard tasks of ``per_file`` examples over all windows, in source order."""
    plans = plan_shards([s.windows for s in sources], per_file)
    return [
        ShardTask(p.index, p.first_example, tuple((sources[r.source], r) for r in p.regions))
        for p in plans
    ]


def _remove_unplanned(out: Path, fmt: Format, keep: set[str]) -> None:
    """Delete data files a resumed build does not reuse (they are rebuilt)."""
    top = out / Path(fmt.file_name(0)).parent
    if top.is_dir():
        for entry in top.iterdir():
            rel = entry.relative_to(out).as_posix()
            if rel not in keep and fmt.OWNED.fullmatch(rel):
                remove_path(entry)


def run_tasks(
    tasks: Sequence[ShardTask],
    out: Path,
    config: Config,
    targets: Targets,
    attrs: dict[str, Any],
    jobs: int,
    progress: bool,
    journal: Journal,
) -> tuple[list[ShardResult], ShardFailure | None]:
    """Run the shard tasks the journal does not already hold on ``jobs`` worker
    processes, recording each finished one; stop at the first shard that fails.

    Returns the results in shard order, or the failure.
    """
    fmt = get_format(config.storage.format)
    keys = {fmt.file_name(t.index): shard_key(t, attrs) for t in tasks}
    done: dict[str, ShardResult] = {}
    for file, key in keys.items():
        reused = journal.reusable(file, key)
        if reused is not None:
            done[file] = reused
    _remove_unplanned(out, fmt, set(done))
    todo = [t for t in tasks if fmt.file_name(t.index) not in done]
    calls = (partial(run_task, task, out, config, targets, attrs) for task in todo)
    total = sum(t.n_examples for t in tasks)
    initial = sum(r.record.examples for r in done.values())
    with (
        worker_results(calls, jobs) as finished,
        tqdm(total=total, initial=initial, desc="build", unit="ex", disable=not progress) as bar,
    ):
        for result in finished:
            if isinstance(result, ShardFailure):
                return [], result
            journal.add(keys[result.record.path], result)
            done[result.record.path] = result
            bar.update(result.record.examples)
    # file names follow shard order
    return [done[file] for file in sorted(done, key=natural_key)], None
