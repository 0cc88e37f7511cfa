"""Running an iterator ahead in a background thread, a bounded number of items."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_S = 0.1  # how often a blocked producer checks whether the consumer left


class _End:
    """Sent after the last item, with the producer's exception if it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int) -> Iterator[T]:
    """Yield ``items``, produced in a background thread at most ``depth`` items
    ahead (so at most ``depth + 1`` wait in memory). An exception in the producer
    is raised here; closing this generator stops the producer."""
    if depth < 1:
        raise ValueError(f"prefetch depth must be at least 1, not {depth}")
    ready: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_End(exc))
        else:
            offer(_End())

    thread = threading.Thread(target=produce, name="spectroprep-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        thread.join()
