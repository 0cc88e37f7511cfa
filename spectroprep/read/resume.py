"""An epoch of batches that can say where it is, to be resumed there after a restart:
``state_dict()`` holds the epoch's arguments and the batches handed out so far;
``load_state_dict()`` on a new epoch (or ``Dataset.batches(**state)``) goes on from
there, with nothing repeated or skipped, as the order depends only on the arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .epochs import Batch


class EpochBatches(Iterator[Batch]):
    """The batches ``read(**options)`` yields, counted as they are handed out; nothing
    is read before the first ``next``, so a state can still be loaded until then."""

    def __init__(
        self,
        read: Callable[..., Iterator[Batch]],
        options: dict[str, Any],
        unsaved: dict[str, Any] | None = None,
    ) -> None:
        """``unsaved``: arguments kept out of the state (a transform: code, given again)."""
        self._read = read
        self._options = options
        self._unsaved = unsaved or {}
        self._batches: Iterator[Batch] | None = None

    def __iter__(self) -> EpochBatches:
        return self

    def __next__(self) -> Batch:
        if self._batches is None:
            self._batches = self._read(**self._options, **self._unsaved)
        batch = next(self._batches)
        self._options["start"] += 1
        return batch

    def state_dict(self) -> dict[str, Any]:
        """The epoch's arguments, ``start`` being the batches handed out so far."""
        return dict(self._options)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from ``state`` (of an epoch of the same dataset); before the first batch."""
        if self._batches is not None:
            raise RuntimeError("load_state_dict goes before the first batch is taken")
        unknown = set(state) - set(self._options)
        if unknown:
            raise ValueError(
                f"not a state of batches(): unknown key(s) {', '.join(sorted(unknown))}"
            )
        self._options.update(state)

    def close(self) -> None:
        """Stop reading ahead (the prefetch thread ends)."""
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
