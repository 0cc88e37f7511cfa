"""Running tasks on worker processes (the only user of joblib); for a build, with a
journal of the finished ones: a shard the journal holds with an unchanged plan
and checksum is reused, not built again."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from joblib import Parallel, delayed
from tqdm import tqdm

from .config import Config
from .errors import WorkerDied
from .journal import Journal, shard_key
from .layout import remove_path
from .naming import natural_key
from .plan import plan_shards
from .storage import Format, get_format
from .targets import Targets
from .tasks import ShardFailure, ShardResult, ShardTask, Source, run_task


@contextmanager
def worker_results(calls: Iterable[Any], jobs: int) -> Iterator[Iterator[Any]]:
    """The results of joblib ``delayed`` calls, in the order they finish, computed on
    ``jobs`` worker processes. A worker that dies raises WorkerDied; leaving the
    block early stops the workers."""
    finished = Parallel(n_jobs=jobs, return_as="generator_unordered")(calls)

    def results() -> Iterator[Any]:
        try:
            yield from finished
        except BrokenProcessPool as exc:
            codes = re.search(r"exit codes of the workers are (\S+)", str(exc))
            how = f" (exit codes {codes.group(1)})" if codes else ""
            raise WorkerDied(f"a worker process died: killed, or out of memory{how}") from exc

    with warnings.catch_warnings():
        # stopping early is the point here, not a mistake joblib should warn about
        warnings.filterwarnings("ignore", ".*tasks which were still being processed", UserWarning)
        try:
            yield results()
        finally:
            finished.close()  # on an early exit joblib stops the workers


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
    calls = (delayed(run_task)(task, out, config, targets, attrs) for task in todo)
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
