"""Running tasks on worker processes: the only user of joblib."""

from __future__ import annotations

import multiprocessing
import re
import signal
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from joblib import Parallel, delayed
from joblib.externals.loky import get_reusable_executor

from .errors import WorkerDied

# When workers are stopped early (Ctrl-C, a failed task), loky's resource tracker
# process warns of their semaphores as it removes them: noise to a user. It takes
# its warning filters from this process's -W options (sys.warnoptions).
_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def _quiet_tracker() -> None:
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)  # before joblib starts the tracker


def leave_interrupts_to_the_parent() -> None:
    """Ignore Ctrl-C in a joblib worker process: the parent stops the workers and
    cleans up, while a worker taking it too would print a traceback of its own."""
    if multiprocessing.current_process().name.startswith("LokyProcess"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def worker_results(calls: Iterable[Any], jobs: int) -> Iterator[Iterator[Any]]:
    """The results of joblib ``delayed`` calls, in the order they finish, computed on
    ``jobs`` worker processes. A worker that dies raises WorkerDied; leaving the
    block early stops the workers."""
    _quiet_tracker()
    finished = Parallel(n_jobs=jobs, return_as="generator_unordered")(calls)

    def results() -> Iterator[Any]:
        with _dead_worker_raises():
            yield from finished

    with warnings.catch_warnings():
        # stopping early is the point here, not a mistake joblib should warn about
        warnings.filterwarnings("ignore", ".*tasks which were still being processed", UserWarning)
        try:
            yield results()
        finally:
            finished.close()  # on an early exit joblib stops the workers


@contextmanager
def _dead_worker_raises() -> Iterator[None]:
    try:
        yield
    except BrokenProcessPool as exc:
        codes = re.search(r"exit codes of the workers are (\S+)", str(exc))
        how = f" (exit codes {codes.group(1)})" if codes else ""
        raise WorkerDied(f"a worker process died: killed, or out of memory{how}") from exc


def map_in_workers(
    function: Callable[..., Any], items: Iterable[tuple[Any, ...]], jobs: int
) -> list[Any]:
    """``function(*item)`` for every item, on ``jobs`` worker processes, in order."""
    _quiet_tracker()
    with _dead_worker_raises():
        return list(Parallel(n_jobs=jobs)(delayed(function)(*item) for item in items))


def stop_workers(jobs: int) -> None:
    """Stop the ``jobs`` idle worker processes that joblib keeps for its next call,
    so none outlives the command (they would linger until their idle timeout)."""
    get_reusable_executor(max_workers=jobs).shutdown(wait=True)
