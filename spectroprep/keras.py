"""A Keras 3 adapter (an optional extra: ``pip install 'spectroprep[keras]'``).

``PyDataset`` hands ``model.fit`` the batches of one epoch in chunk-aware
shuffled order, each read with one ``get_batch`` call, in Keras's worker threads
or processes (``workers=``, ``use_multiprocessing=``); the order moves on to a
new shuffle at every epoch's end.

Two Keras habits break "every example once per epoch" when ``workers`` > 1:

* it shuffles the batch order too: call ``model.fit(..., shuffle=False)``, as
  the order is already shuffled;
* ``fit`` on a model that is not built yet takes one batch from its worker
  queue to build it, and every later epoch is then off by that batch: build the
  model first, e.g. ``model.train_on_batch(*dataset[0])``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

try:
    import keras
except ImportError:
    raise ImportError("spectroprep.keras needs Keras 3: pip install 'spectroprep[keras]'") from None

from .read.augment import Transform, batch_rng
from .read.epochs import batch_count
from .read.reader import Dataset, as_dataset, drawn_seed


class PyDataset(keras.utils.PyDataset):
    """Batches ``(X (B, F, T), y)`` of a spectroprep dataset for ``model.fit``, or
    X alone when the dataset is unlabelled (Keras takes a batch without targets so).

    ``balance``, ``weights``, ``length`` and ``transform`` work as ``Dataset.batches``'s.
    ``source`` is a dataset folder or an open ``spectroprep.Dataset``; any other
    keyword is an ``open_dataset`` option (``targets``, ``normalize``, ``where``...),
    as with the torch adapters; ``workers``, ``use_multiprocessing`` and
    ``max_queue_size`` go to Keras.
    """

    def __init__(
        self,
        source: str | Path | Dataset,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        *,
        balance: str | None = None,
        weights: Any = None,
        length: int | None = None,
        transform: Transform | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        **options: Any,
    ) -> None:
        if "reader" in options:
            raise TypeError(
                "PyDataset takes open_dataset's options as keywords (normalize=..., "
                "where=...), not reader={...}"
            )
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.dataset = as_dataset(source, **options)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = drawn_seed() if seed is None else seed  # a transform's draws need one
        self.drop_last = drop_last
        self.transform = transform
        self.draw = {"balance": balance, "weights": weights, "length": length}
        self.epoch = 0
        self._skipped = 0  # batches of a resumed epoch trained on before the restart
        self._in_epoch = False
        self.order = self._order()

    def _order(self) -> np.ndarray:
        return self.dataset.epoch_order(self.shuffle, self.seed, self.epoch, **self.draw)

    def __len__(self) -> int:
        """Batches of this epoch (of a resumed one, those still to train on)."""
        n = len(self.dataset) if self.draw["length"] is None else self.draw["length"]
        return batch_count(n, self.batch_size, self.drop_last) - self._skipped

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        index += self._skipped
        start = index * self.batch_size
        x, y = self.dataset.get_batch(self.order[start : start + self.batch_size])
        if self.transform is not None:
            x, y = self.transform(x, y, batch_rng(self.seed, self.epoch, index))
        return x if y is None else (x, y)

    def state_dict(self, trained: int) -> dict[str, int]:
        """Where training is: this epoch, ``trained`` of its batches done (a callback's
        count: see ``TrainedBatches``), and the seed. Once an epoch has ended (Keras
        moves the dataset on before its callbacks' ``on_epoch_end``), the next one,
        from its start."""
        done = self._skipped + trained if self._in_epoch else 0
        return {"epoch": self.epoch, "batches": done, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Go on from ``state``: the next ``fit(initial_epoch=state["epoch"],
        epochs=state["epoch"] + 1)`` trains on the rest of that epoch, the same batches
        in the same order; later ``fit`` calls on whole epochs (Keras counts a
        dataset's batches once per ``fit``, so the short epoch needs one of its own)."""
        self.epoch, self.seed, self._skipped = state["epoch"], state["seed"], state["batches"]
        self.order = self._order()

    def on_epoch_begin(self) -> None:
        self._in_epoch = True

    def on_epoch_end(self) -> None:
        """Move on to the next epoch's order, if an epoch has begun: Keras also
        calls this when ``fit`` starts, after its worker processes have already
        read batches of the first order."""
        if self._in_epoch:
            self.epoch += 1
            self._skipped = 0
            self.order = self._order()
        self._in_epoch = False


class TrainedBatches(keras.callbacks.Callback):
    """Counts the batches ``fit`` has trained on in the current epoch, so that
    ``state()`` can be saved with a checkpoint and a restarted job resume there:
    ``dataset.load_state_dict(saved)`` then ``fit(dataset, initial_epoch=saved["epoch"])``.
    """

    def __init__(self, dataset: PyDataset) -> None:
        super().__init__()
        self.dataset = dataset
        self.trained = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.trained = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.trained = batch + 1

    def state(self) -> dict[str, int]:
        """The dataset's state after the batches trained on so far."""
        return self.dataset.state_dict(self.trained)
