"""The tf.data route (spectroprep.tensorflow) with real TensorFlow: ``make test`` runs
this file in .venv-tf, beside test_keras.py on TensorFlow's backend. Every pass over
the pipeline is the next epoch, read in the order and with the transform draws of
``Dataset.batches`` for the same seed and epoch, in ``model.fit`` as in a loop."""

import os

import pytest

tf = pytest.importorskip("tensorflow", reason="runs in .venv-tf: make test")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from conftest import build, positions_by_bytes, write_audio  # noqa: E402

import spectroprep  # noqa: E402
from spectroprep import Compose, Mixup, SpecAugment  # noqa: E402
from spectroprep.tensorflow import aligned_empty, batches_dataset  # noqa: E402

SEED = 5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Recordings as users have them: 48 kHz stereo FLAC, 44.1 kHz Vorbis and WAV, in
    class folders; 0.25 s windows, 9 examples a shard."""
    root = tmp_path_factory.mktemp("tf")
    audio = root / "audio"
    for k, seconds in enumerate([2.0, 1.3, 0.9, 2.6, 1.1]):
        write_audio(audio / "bird" / f"take{k}.flac", seconds, 48000, channels=2, seed=k)
        write_audio(audio / "rain" / f"take{k}.ogg", seconds + 0.4, 44100, seed=10 + k)
    write_audio(audio / "rain" / "long.wav", 4.0, 44100, channels=2, seed=20)
    overrides = ["segment.length=0.25", "segment.hop=0.25", "storage.shard_examples=9"]
    return build(audio, root / "ds", labels_from_folders=True, overrides=overrides)


def _passes(pipeline, count):
    """(features, labels) of each of ``count`` passes, concatenated per pass."""
    out = []
    for _ in range(count):
        xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in pipeline], strict=True)
        out.append((np.concatenate(xs), np.concatenate(ys)))
    return out


@pytest.mark.parametrize(
    "draw", [{}, {"balance": "class", "length": 50}, {"shuffle": False}], ids=str
)
def test_every_pass_is_the_next_epoch_in_the_order_of_seed_and_epoch(dataset, draw):
    ds = spectroprep.open_dataset(dataset)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED, **draw)
    length = draw.get("length", len(ds))
    assert len(pipeline) == -(-length // 8)
    passes = _passes(pipeline, 3)
    for epoch, (x, y) in enumerate(passes):
        order = ds.epoch_order(seed=SEED, epoch=epoch, **draw)
        expected_x, expected_y = ds.get_batch(order)
        np.testing.assert_array_equal(x, expected_x)
        np.testing.assert_array_equal(y, expected_y)
    if draw.get("shuffle", True):
        assert not np.array_equal(passes[0][1], passes[1][1])


class Recording(keras.Model):
    """A tiny classifier that notes the examples of every batch it trains on."""

    def __init__(self, where, seen, classes):
        super().__init__()
        self.where = where
        self.note = seen.extend  # a plain list: Keras would track a list attribute
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(classes)

    def call(self, x):
        return self.dense(self.flatten(x))

    def train_step(self, data):
        self.note(self.where[row.tobytes()] for row in keras.ops.convert_to_numpy(data[0]))
        return super().train_step(data)


def _recording_model(dataset, seen):
    model = Recording(positions_by_bytes(dataset), seen, 2)
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    model.run_eagerly = True
    return model


def _epoch_orders(ds, epochs):
    return [int(i) for e in epochs for i in ds.epoch_order(seed=SEED, epoch=e)]


def test_fit_trains_on_each_example_once_per_epoch(dataset):
    ds = spectroprep.open_dataset(dataset)
    seen = []
    model = _recording_model(dataset, seen)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED)
    history = model.fit(pipeline, epochs=3, verbose=0, shuffle=False)  # shuffled already
    assert all(np.isfinite(history.history["loss"]))
    assert seen == _epoch_orders(ds, [0, 1, 2])


def test_a_distribution_strategy_peeking_at_a_batch_takes_no_epoch(dataset):
    """Under a strategy, Keras takes one batch from a new pass before each fit."""
    ds = spectroprep.open_dataset(dataset)
    seen = []
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model = _recording_model(dataset, seen)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED)
    model.fit(pipeline, epochs=2, verbose=0, shuffle=False)
    model.fit(pipeline, initial_epoch=2, epochs=3, verbose=0, shuffle=False)
    assert seen == _epoch_orders(ds, [0, 1, 2])


def test_a_pass_stopped_early_leaves_the_epoch_where_it_was(dataset):
    ds = spectroprep.open_dataset(dataset)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED)
    next(iter(pipeline))  # a peek
    for k, _ in enumerate(pipeline):
        if k == 2:
            break
    (x, _), (x1, _) = _passes(pipeline, 2)
    np.testing.assert_array_equal(x, ds.get_batch(ds.epoch_order(seed=SEED, epoch=0))[0])
    np.testing.assert_array_equal(x1, ds.get_batch(ds.epoch_order(seed=SEED, epoch=1))[0])


def test_a_resumed_pipeline_gives_the_rest_of_its_epoch_once(dataset):
    ds = spectroprep.open_dataset(dataset)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED, epoch=1, start=3)
    assert len(pipeline) == -(-len(ds) // 8) - 3
    ((x, _),) = _passes(pipeline, 1)
    rest = np.concatenate([x for x, _ in ds.batches(8, seed=SEED, epoch=1, start=3)])
    np.testing.assert_array_equal(x, rest)
    with pytest.raises(tf.errors.OpError, match=r"epoch=2\) for the epochs after it"):
        _passes(pipeline, 1)
    # in Keras: a fit of its own for the rest, then a pipeline from the next epoch
    seen = []
    model = _recording_model(dataset, seen)
    rest = batches_dataset(dataset, batch_size=8, seed=SEED, epoch=1, start=3)
    model.fit(rest, initial_epoch=1, epochs=2, verbose=0, shuffle=False)
    later = batches_dataset(dataset, batch_size=8, seed=SEED, epoch=2)
    model.fit(later, initial_epoch=2, epochs=4, verbose=0, shuffle=False)
    assert seen == _epoch_orders(ds, [1])[24:] + _epoch_orders(ds, [2, 3])


def test_mistakes_are_named(dataset):
    with pytest.raises(ValueError, match="start must be within the epoch's"):
        batches_dataset(dataset, batch_size=8, seed=1, start=1000)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        batches_dataset(dataset, batch_size=0)
    with pytest.raises(ValueError, match="resuming at an epoch or batch needs the run's seed="):
        batches_dataset(dataset, epoch=3)
    with pytest.raises(ValueError, match="parallel must be at least 1"):
        batches_dataset(dataset, parallel=0)


def test_transforms_draw_as_in_dataset_batches(dataset):
    ds = spectroprep.open_dataset(dataset)
    transform = Compose(SpecAugment(), Mixup(0.4, classes=len(ds.classes)))
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED, transform=transform)
    for epoch, (x, y) in enumerate(_passes(pipeline, 2)):
        ours = list(ds.batches(8, seed=SEED, epoch=epoch, transform=transform))
        np.testing.assert_array_equal(x, np.concatenate([b[0] for b in ours]))
        np.testing.assert_array_equal(y, np.concatenate([b[1] for b in ours]))
        assert y.dtype == np.float32 and y.shape[1] == len(ds.classes)  # mixed targets


def test_reader_options_and_unlabelled_datasets(dataset, unlabelled):
    where = {"label": "bird"}
    ds = spectroprep.open_dataset(dataset, where=where, normalize=True)
    pipeline = batches_dataset(dataset, batch_size=4, seed=SEED, where=where, normalize=True)
    ((x, y),) = _passes(pipeline, 1)
    np.testing.assert_array_equal(x, ds.get_batch(ds.epoch_order(seed=SEED))[0])
    assert (y == ds.classes.index("bird")).all() and len(x) == len(ds)
    features = [batch for batch in batches_dataset(unlabelled, batch_size=16, seed=1)]
    assert all(isinstance(x, tf.Tensor) and x.shape[1:] == (257, 11) for x in features)
    assert sum(len(x) for x in features) == len(spectroprep.open_dataset(unlabelled))


def test_tensorflow_takes_the_read_batches_without_a_copy(dataset, monkeypatch):
    import spectroprep.tensorflow as adapter

    made = []

    def recorded(shape, dtype):
        made.append(aligned_empty(shape, dtype))
        return made[-1]

    monkeypatch.setattr(adapter, "aligned_empty", recorded)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED, shuffle=False)
    x, _ = next(iter(pipeline))
    # the first batch was read twice: once to learn the dtypes, once in the pipeline
    read = [a for a in made if a.shape == tuple(x.shape) and np.array_equal(a, x.numpy())]
    assert len(read) == 2 and all(a.ctypes.data % 64 == 0 for a in read)
    for a in read:
        a[0, 0, 0] = 1234.5
    assert x.numpy()[0, 0, 0] == 1234.5  # the tensor is the memory read into
