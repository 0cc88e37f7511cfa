"""A tf.data adapter (an optional extra: ``pip install 'spectroprep[tensorflow]'``).

``batches_dataset`` gives a ``tf.data.Dataset`` of whole batches in the chunk-aware
shuffled order of ``Dataset.batches``. Each batch is one ``get_batch`` call, made in
tf.data's own threads (a parallel, order-keeping ``map``) while the model trains.
Every pass over the dataset (each epoch of ``model.fit``, each ``for`` loop) is the
next epoch, with a new order; the order depends only on the seed and the epoch.

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


class _Epochs:
    """Hands out epoch numbers, one per pass over the pipeline, from ``first``; the
    first pass starts at batch ``start``, later ones at their first batch."""

    def __init__(self, first: int, start: int) -> None:
        self._next = first
        self._start = start
        self._lock = threading.Lock()

    def __call__(self) -> Iterator[tuple[int, int]]:
        with self._lock:
            epoch, start = self._next, self._start
            self._next, self._start = epoch + 1, 0
        yield epoch, start


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

    The first pass is epoch ``epoch`` from its batch ``start`` (to resume a job
    from a saved ``(epoch, batches trained)``, with the same ``seed``); each later
    pass the next epoch, whole. ``balance``, ``weights``, ``length`` and ``transform`` work
    as ``Dataset.batches``'s; a transform's draws depend on (seed, epoch, batch).
    ``parallel`` is how many batches tf.data reads at once; any other keyword is an
    ``open_dataset`` option (``targets``, ``normalize``, ``where``...).
    """
    dataset = as_dataset(source, **options)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    seed = drawn_seed() if seed is None else seed
    draw = {"balance": balance, "weights": weights, "length": length}
    batches = batch_count(len(dataset) if length is None else length, batch_size, drop_last)
    if not 0 <= start <= batches:
        raise ValueError(f"start must be within the epoch's {batches} batches, not {start}")
    orders: dict[int, np.ndarray] = {}  # the epochs being read: at most two at a time
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
        out = aligned_empty(
            (len(rows), *dataset.shape), np.dtype(dataset.info["features"]["dtype"])
        )
        x, y = dataset.get_batch(rows, out=out)
        if transform is not None:
            x, y = transform(x, y, batch_rng(seed, e, index))
        return (x,) if y is None else (x, y)

    probe = read(np.int64(epoch), np.int64(0))
    dtypes = [tf.as_dtype(a.dtype) for a in probe]
    shapes = [(None, *a.shape[1:]) for a in probe]

    def tensors(e: tf.Tensor, index: tf.Tensor) -> Any:
        out = tf.numpy_function(read, [e, index], dtypes, stateful=False)
        out = [tf.ensure_shape(t, s) for t, s in zip(out, shapes, strict=True)]
        return out[0] if len(out) == 1 else tuple(out)

    def positions(e: tf.Tensor, first: tf.Tensor) -> tf.data.Dataset:
        return tf.data.Dataset.range(first, batches).map(lambda i: (e, i))

    passes = tf.data.Dataset.from_generator(
        _Epochs(epoch, start),
        output_signature=(tf.TensorSpec((), tf.int64), tf.TensorSpec((), tf.int64)),
    )
    pipeline = (
        passes.flat_map(positions)
        .map(tensors, num_parallel_calls=parallel, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    if start:
        return pipeline  # its passes differ in length: Keras counts each as it goes
    # the batch count of every pass, for len() and Keras's progress bar
    return pipeline.apply(tf.data.experimental.assert_cardinality(batches))
