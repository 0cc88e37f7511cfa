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


def test_fit_trains_on_each_example_once_per_epoch(dataset):
    where = positions_by_bytes(dataset)
    ds = spectroprep.open_dataset(dataset)
    seen = []

    class Recording(keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.dense = keras.layers.Dense(len(ds.classes))

        def call(self, x):
            return self.dense(self.flatten(x))

        def train_step(self, data):
            seen.extend(where[row.tobytes()] for row in keras.ops.convert_to_numpy(data[0]))
            return super().train_step(data)

    model = Recording()
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    model.run_eagerly = True
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED)
    history = model.fit(pipeline, epochs=3, verbose=0, shuffle=False)  # shuffled already
    assert all(np.isfinite(history.history["loss"]))
    n = len(ds)
    for epoch in range(3):
        assert seen[epoch * n : (epoch + 1) * n] == list(ds.epoch_order(seed=SEED, epoch=epoch))


def test_a_resumed_pipeline_gives_the_rest_of_its_epoch_then_whole_ones(dataset):
    ds = spectroprep.open_dataset(dataset)
    pipeline = batches_dataset(dataset, batch_size=8, seed=SEED, epoch=1, start=3)
    first, second = _passes(pipeline, 2)
    rest = np.concatenate([x for x, _ in ds.batches(8, seed=SEED, epoch=1, start=3)])
    np.testing.assert_array_equal(first[0], rest)
    np.testing.assert_array_equal(second[0], ds.get_batch(ds.epoch_order(seed=SEED, epoch=2))[0])
    with pytest.raises(ValueError, match="start must be within the epoch's"):
        batches_dataset(dataset, batch_size=8, start=1000)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        batches_dataset(dataset, batch_size=0)


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


def test_batches_are_read_into_aligned_memory():
    for shape in [(3, 257, 11), (1, 1, 1), (64, 64, 1001)]:
        a = aligned_empty(shape, np.dtype(np.float32))
        assert a.ctypes.data % 64 == 0 and a.shape == shape and a.flags.c_contiguous
