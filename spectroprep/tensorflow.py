"""A tf.data adapter (an optional extra: ``pip install 'spectroprep[tensorflow]'``).

``batches_dataset`` gives a ``tf.data.Dataset`` of whole batches in the chunk-aware
shuffled order of ``Dataset.batches``. Each batch is one ``get_batch`` call, made in
tf.data's own threads (a parallel, order-keeping ``map``) while the model trains.

A pass over the pipeline reads the current epoch, and once a pass has handed out that
epoch's last batch, the next pass reads the next epoch: each epoch of ``model.fit``,
each ``for`` loop over it, gets a new order, which depends only on the seed and the
epoch. Passes that stop early (a peek at one batch, the batch Keras takes to build a
model under a distribution strategy, a ``break``) leave the epoch where it was.

Batches are read into 64-byte aligned arrays: TensorFlow takes such an array as it
is, and copies any other (docs/performance.md has the measurement).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

try:
    import tensorflow as tf
except ImportError:
    raise ImportError(
        "spectroprep.tensorflow needs TensorFlow: pip install 'spectroprep[tensorflow]'"
    ) from None

from .read.augment import Transform, batch_rng
from .read.epochs import batch_count
from .read.reader import Dataset, as_dataset, drawn_seed

_ALIGN = 64  # bytes: TensorFlow's alignment for tensors it does not copy


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a 64-byte boundary."""
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    skip = -raw.ctypes.data % _ALIGN
    return raw[skip : skip + nbytes].view(dtype).reshape(shape)


class _Passes:
    """Which epoch a pass over the pipeline reads, and from which batch: the current
    one, moved on when a pass has delivered its last batch. A resumed pipeline
    (``start`` > 0) gives the rest of its epoch once, then refuses another pass, as
    Keras would take that pass's length for every later epoch's."""

    def __init__(self, epoch: int, start: int, batches: int) -> None:
        self.epoch, self.start, self.batches = epoch, start, batches
        self.resumed = start > 0
        self.finished = False  # a resumed pipeline's pass has been delivered
        self._lock = threading.Lock()

    def __call__(self) -> Iterator[tuple[int, int]]:
        with self._lock:
            if self.finished:
                raise RuntimeError(
                    f"this pipeline resumed epoch {self.epoch} at batch {self.start} and "
                    f"has given the rest of it; make batches_dataset(..., epoch="
                    f"{self.epoch + 1}) for the epochs after it"
                )
            epoch, start = self.epoch, self.start
        yield epoch, start

    def delivered(self, epoch: np.int64, batch: np.int64) -> np.int64:
        """Called as each batch leaves the pipeline."""
        with self._lock:
            if int(batch) == self.batches - 1 and int(epoch) == self.epoch:
                if self.resumed:
                    self.finished = True
                else:
                    self.epoch += 1
        return np.int64(0)


def batches_dataset(
    source: str | Path | Dataset,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int | None = None,
    drop_last: bool = False,
    *,
    epoch: int = 0,
    start: int = 0,
    balance: str | None = None,
    weights: Any = None,
    length: int | None = None,
    transform: Transform | None = None,
    parallel: int = tf.data.AUTOTUNE,
    **options: Any,
) -> tf.data.Dataset:
    """Batches ``(X (B, F, T), y)`` of a spectroprep dataset as a ``tf.data.Dataset``
    (X alone when the dataset is unlabelled), ready for ``model.fit`` or a loop.

    Passes read epoch ``epoch``, then the next ones (see the module's docstring).
    ``start`` > 0 resumes a job from a saved (epoch, batches trained): the pipeline
    then gives the rest of that epoch, once. ``seed`` must then be the run's: pass
    one from the start (``None`` draws one, which a restart cannot know).
    ``balance``, ``weights``, ``length`` and ``transform`` work as
    ``Dataset.batches``'s; a transform's draws depend on (seed, epoch, batch).
    ``parallel`` is how many batches tf.data reads at once (by default, as many as
    TensorFlow's autotuning picks); any other keyword is an ``open_dataset`` option
    (``targets``, ``normalize``, ``where``...).
    """
    dataset = as_dataset(source, **options)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if parallel < 1 and parallel != tf.data.AUTOTUNE:
        raise ValueError(f"parallel must be at least 1 or tf.data.AUTOTUNE, not {parallel}")
    if seed is None:
        if epoch or start:
            raise ValueError("resuming at an epoch or batch needs the run's seed=")
        seed = drawn_seed()
    draw = {"balance": balance, "weights": weights, "length": length}
    batches = batch_count(len(dataset) if length is None else length, batch_size, drop_last)
    if not 0 <= start < max(batches, 1):
        raise ValueError(f"start must be within the epoch's {batches} batches, not {start}")
    orders: dict[int, np.ndarray] = {}  # the epochs being read: two at most, as a rule
    orders_lock = threading.Lock()

    def order_of(e: int) -> np.ndarray:
        with orders_lock:
            if e not in orders:
                for old in [k for k in orders if k < e - 1]:
                    del orders[old]
                orders[e] = dataset.epoch_order(shuffle, seed, e, **draw)
            return orders[e]

    def read(epoch_number: np.int64, batch: np.int64) -> tuple[np.ndarray, ...]:
        e, index = int(epoch_number), int(batch)
        rows = order_of(e)[index * batch_size : (index + 1) * batch_size]
        out = aligned_empty((len(rows), *dataset.shape), dataset.stored_dtype)
        x, y = dataset.get_batch(rows, out=out)
        if transform is not None:
            x, y = transform(x, y, batch_rng(seed, e, index))
        return (x,) if y is None else (x, y)

    probe = read(np.int64(epoch), np.int64(0))
    dtypes = [tf.as_dtype(a.dtype) for a in probe]
    shapes = [(None, *a.shape[1:]) for a in probe]
    passes = _Passes(epoch, start, batches)

    def tensors(e: tf.Tensor, index: tf.Tensor) -> Any:
        out = tf.numpy_function(read, [e, index], dtypes, stateful=False)
        out = [tf.ensure_shape(t, s) for t, s in zip(out, shapes, strict=True)]
        return (e, index, *out)

    def handed_out(e: tf.Tensor, index: tf.Tensor, *out: tf.Tensor) -> Any:
        # a map after the prefetch runs as the consumer takes each batch
        noted = tf.numpy_function(passes.delivered, [e, index], tf.int64)
        with tf.control_dependencies([noted]):
            out = tuple(tf.identity(t) for t in out)
        return out[0] if len(out) == 1 else out

    def positions(e: tf.Tensor, first: tf.Tensor) -> tf.data.Dataset:
        return tf.data.Dataset.range(first, batches).map(lambda i: (e, i))

    pipeline = (
        tf.data.Dataset.from_generator(
            passes, output_signature=(tf.TensorSpec((), tf.int64), tf.TensorSpec((), tf.int64))
        )
        .flat_map(positions)
        .map(tensors, num_parallel_calls=parallel, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
        .map(handed_out)
    )
    # every pass's batch count, for len() and Keras's progress bar
    return pipeline.apply(tf.data.experimental.assert_cardinality(batches - start))
