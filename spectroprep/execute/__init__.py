"""Running tasks elsewhere: the executor interface, and the local process pool.

The build and ``shard`` hand their tasks (module-level functions with their
arguments bound, picklable) to an ``Executor``; nothing else in them knows where
the tasks run. ``local_executor(jobs)`` is what they use unless given another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


def local_executor(jobs: int) -> Executor:
    """``jobs`` worker processes on this machine, or this process when ``jobs`` is 1."""
    from .local import InProcess, ProcessPool

    return InProcess() if jobs == 1 else ProcessPool(jobs)
