"""The local executors: a pool of worker processes started and stopped by each
command, and this process itself (``--jobs 1``).

Workers are forked from a fork server that has imported the task code once
(numpy, scipy.fft, h5py, soundfile, soxr), so a pool starts in milliseconds
instead of each worker importing it all again (docs/performance.md); the
parent forks nothing itself, so its threads and open files never reach a worker.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.connection import wait as wait_for
from typing import Any

from ..errors import WorkerDied
from ..plugins import added_plugins, register_added
from . import Call

# imported once by the fork server, beside the caller's task modules, so every worker
# is forked with them loaded: what the tasks import only where it is used
_LIBRARIES = ["scipy.fft", "soxr"]
_CONTEXT = multiprocessing.get_context("forkserver")


def start_fork_server(preload: Sequence[str] = ()) -> None:
    """Start the fork server (if this process has none yet), so that it imports the
    task modules ``preload`` while the parent reads headers."""
    _CONTEXT.set_forkserver_preload([*preload, *_LIBRARIES])
    from multiprocessing import forkserver

    forkserver.ensure_running()


def _start_worker(plugins: dict[str, dict[str, Any]]) -> None:
    """Ignore Ctrl-C in a worker: the parent stops the workers and cleans up, while
    a worker taking it too would print a traceback of its own. End the worker when
    the parent ends (killed, it cannot stop its workers; they would wait for tasks
    forever). And register the plug-ins the parent registered: the fork server
    imported the package before they were."""
    register_added(plugins)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    wait_for([sentinel])
    os._exit(1)


@contextmanager
def _dead_worker_raises(pool: ProcessPoolExecutor) -> Iterator[None]:
    """Turn a broken pool into WorkerDied, with the exit codes of the dead workers."""
    workers = getattr(pool, "_processes", None) or {}  # shutdown() forgets them
    try:
        yield
    except BrokenProcessPool as exc:
        codes = {p.exitcode for p in workers.values() if p.exitcode}
        if codes - {-signal.SIGTERM}:
            codes.discard(-signal.SIGTERM)  # the pool's own stopping of the other workers
        names = sorted(_exit_name(code) for code in codes)
        how = f" (exit codes {{{', '.join(names)}}})" if names else ""
        raise WorkerDied(f"a worker process died: killed, or out of memory{how}") from exc


def _exit_name(code: int) -> str:
    """SIGKILL(-9) for a worker killed by a signal, else the exit status."""
    try:
        return f"{signal.Signals(-code).name}({code})" if code < 0 else str(code)
    except ValueError:
        return str(code)


@contextmanager
def _pool(jobs: int, preload: Sequence[str]) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``jobs`` workers; leaving the block early stops the running tasks."""
    start_fork_server(preload)
    pool = ProcessPoolExecutor(
        jobs, mp_context=_CONTEXT, initializer=_start_worker, initargs=(added_plugins(),)
    )
    try:
        yield pool
    except BaseException:
        _stop_now(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _submit_all(pool: ProcessPoolExecutor, calls: Iterable[Call]) -> dict[Future[Any], int]:
    """Submit ``calls``; the workers start as they are submitted.

    A new worker would first run the caller's ``__main__`` again, as Python's
    spawning start methods do, and a script without an ``if __name__ ==
    "__main__":`` guard would then build again in every worker. Tasks need nothing
    from ``__main__``, so it is hidden from the workers while they start.
    """
    main = vars(sys.modules["__main__"])
    saved: dict[str, Any] = {key: main[key] for key in ("__file__", "__spec__") if key in main}
    main.pop("__file__", None)
    main["__spec__"] = None  # what multiprocessing reads as "no main module to run"
    try:
        return {pool.submit(call): position for position, call in enumerate(calls)}
    finally:
        main.update(saved)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Cancel the tasks not started and stop the running ones, and wait until the
    workers are gone: a failed task, a dead worker or Ctrl-C ends the command now,
    not when the running tasks end, and nothing writes after it."""
    # the executor has no public way to stop a running task (Python 3.14 adds one),
    # and shutdown() forgets its processes
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


class InProcess:
    """Each call in this process, one after the other."""

    @contextmanager
    def run(self, calls: Iterable[Call]) -> Iterator[Iterator[tuple[int, Any]]]:
        yield ((position, call()) for position, call in enumerate(calls))


class ProcessPool:
    """``jobs`` worker processes forked from the fork server, which has imported the
    task modules ``preload``."""

    def __init__(self, jobs: int, preload: Sequence[str] = ()) -> None:
        self.jobs = jobs
        self.preload = tuple(preload)

    @contextmanager
    def run(self, calls: Iterable[Call]) -> Iterator[Iterator[tuple[int, Any]]]:
        with _pool(self.jobs, self.preload) as pool:
            positions = _submit_all(pool, calls)
            pending: set[Future[Any]] = set(positions)

            def results() -> Generator[tuple[int, Any], None, None]:
                nonlocal pending
                with _dead_worker_raises(pool):
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            yield positions[future], future.result()

            finished = results()
            try:
                yield finished
            finally:
                finished.close()
                if pending:  # left early
                    _stop_now(pool)
