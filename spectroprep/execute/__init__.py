"""Running tasks elsewhere: the executor interface, and the local process pool.

The build and ``shard`` hand their tasks (module-level functions with their
arguments bound, picklable) to an ``Executor``; nothing else in them knows where
the tasks run. ``local_executor(jobs)`` is what they use unless given another.

An executor that runs the calls in other processes must also give them the
plug-ins this process registered (``plugins.added_plugins`` there,
``plugins.register_added`` in each worker), as the local pool does; the calls
write their files under the output folder, which the workers must reach.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Call = Callable[[], Any]  # a task: a module-level function with its arguments bound (partial)


class Executor(Protocol):
    def run(self, calls: Iterable[Call]) -> AbstractContextManager[Iterator[tuple[int, Any]]]:
        """Submit every call; the block gets each call's position in ``calls`` and
        its result, in the order they finish. A worker that dies raises WorkerDied
        (errors.py) as its result is taken; leaving the block early stops the calls
        still running, and nothing they would write is kept."""
        ...


def local_executor(jobs: int | None, preload: Sequence[str] = ()) -> Executor:
    """``jobs`` worker processes on this machine (None: one per core), or this process
    when ``jobs`` is 1. The workers' fork server starts now, so that it imports the
    task modules ``preload`` while the caller reads its inputs."""
    from .local import InProcess, ProcessPool, start_fork_server

    jobs = jobs or os.cpu_count() or 1
    if jobs == 1:
        return InProcess()
    start_fork_server(preload)
    return ProcessPool(jobs, preload)


def choose_executor(
    jobs: int | None, executor: Executor | None, preload: Sequence[str]
) -> Executor:
    """The executor of a command given ``jobs`` or an ``executor`` (not both)."""
    if executor is None:
        return local_executor(jobs, preload)
    if jobs is not None:
        raise ValueError("give jobs (the local process pool) or an executor, not both")
    return executor
