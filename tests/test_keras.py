"""The Keras adapter in real ``model.fit`` loops, on whichever backend KERAS_BACKEND
names: ``make test`` runs this file on torch's (the dev environment) and again on
TensorFlow's (.venv-tf, which has no torch). Each epoch reads every example once, in
a new order that depends only on (seed, epoch); a fit stopped mid-epoch goes on."""

import importlib.util
import os

# before keras is first imported; the TensorFlow environment sets it to "tensorflow"
os.environ.setdefault(
    "KERAS_BACKEND", "torch" if importlib.util.find_spec("torch") else "tensorflow"
)

import keras
import numpy as np
import pytest
from conftest import build_small, positions_by_bytes

import spectroprep
from spectroprep.keras import PyDataset, TrainedBatches

# Keras's torch backend converts tensors through a numpy path numpy 2 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "plain")


class _Recording(keras.Model):
    """A tiny model that notes the examples of every batch it trains on."""

    def __init__(self, where, seen):
        super().__init__()
        self.where = where
        self.note = seen.extend  # a plain list: Keras would track a list attribute
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(self.flatten(x))

    def train_step(self, data):
        self.note(self.where[row.tobytes()] for row in keras.ops.convert_to_numpy(data[0]))
        return super().train_step(data)


def recording_model(where, seen, first_batch):
    """A compiled ``_Recording``, built on ``first_batch`` before any fit: an unbuilt
    model takes one batch from the worker queue to build itself, and every later
    epoch is then off by that batch."""
    model = _Recording(where, seen)
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.run_eagerly = True
    model.train_on_batch(*first_batch)
    del seen[:]
    return model


def test_the_backend_is_the_one_asked_for():
    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]


@pytest.mark.parametrize("processes", [True, False], ids=["processes", "threads"])
def test_fit_with_two_workers_reads_each_example_once_per_epoch(dataset, processes):
    where = positions_by_bytes(dataset)
    batches = PyDataset(dataset, batch_size=16, seed=2, workers=2, use_multiprocessing=processes)
    seen = []
    model = recording_model(where, seen, batches[0])
    n = len(where)
    history = model.fit(batches, epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 3 and len(seen) == 3 * n
    epochs = [seen[:n], seen[n : 2 * n], seen[2 * n :]]
    for epoch, order in enumerate(epochs):
        expected = batches.dataset.epoch_order(seed=2, epoch=epoch)
        assert order == [int(i) for i in expected]  # the order (seed, epoch) gives
    assert epochs[0] != epochs[1] != epochs[2]  # a new shuffle each epoch
    assert len(batches) == -(-n // 16)


def test_takes_the_reader_options_as_the_torch_adapters_do(dataset):
    label = spectroprep.open_dataset(dataset).classes[0]
    options = {"normalize": True, "where": {"label": label}}
    batches = PyDataset(dataset, batch_size=4, seed=2, workers=2, **options)
    reference = spectroprep.open_dataset(dataset, **options)
    order = reference.epoch_order(seed=2, epoch=0)
    x = np.concatenate([batches[k][0] for k in range(len(batches))])
    np.testing.assert_array_equal(x, reference.get_batch(order)[0])
    assert x.dtype == np.float32 and len(x) == len(reference) < len(positions_by_bytes(dataset))
    with pytest.raises(TypeError, match="unexpected keyword argument 'normalise'"):
        PyDataset(dataset, normalise=True)
    with pytest.raises(TypeError, match="not reader="):
        PyDataset(dataset, reader={"normalize": True})


class _Stop(Exception):
    """Ends a fit mid-epoch, as a killed job does."""


def test_fit_stopped_mid_epoch_resumes_with_the_rest_of_it(dataset):
    where = positions_by_bytes(dataset)
    seen = []

    class StopAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                raise _Stop

    batches = PyDataset(dataset, batch_size=8, seed=6)
    reference = [int(i) for i in batches.dataset.epoch_order(seed=6, epoch=1)]
    model = recording_model(where, seen, batches[0])
    trained = TrainedBatches(batches)
    model.fit(batches, epochs=1, verbose=0, shuffle=False)  # epoch 0, whole
    with pytest.raises(_Stop):
        model.fit(batches, initial_epoch=1, epochs=2, verbose=0, shuffle=False,
                  callbacks=[trained, StopAfter()])  # fmt: skip
    state = trained.state()
    assert state["epoch"] == 1 and state["batches"] == 4
    before = seen[-32:]
    again = PyDataset(dataset, batch_size=8)  # another seed: the state brings its own
    again.load_state_dict(state)
    model = recording_model(where, seen, again[0])
    saved = TrainedBatches(again)

    class SaveAtEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.state = saved.state()

    at_end = SaveAtEnd()
    model.fit(again, initial_epoch=1, epochs=2, verbose=0, shuffle=False, callbacks=[saved, at_end])
    assert before + seen == reference
    # saved at the epoch's end: the next epoch, whole
    assert at_end.state == {"epoch": 2, "batches": 0, "seed": 6}
    del seen[:]
    model.fit(again, initial_epoch=2, epochs=3, verbose=0, shuffle=False)
    assert seen == [int(i) for i in again.dataset.epoch_order(seed=6, epoch=2)]


def test_unlabelled_data_goes_to_keras_as_features_alone(unlabelled):
    batches = PyDataset(unlabelled, batch_size=16, seed=2)
    x = batches[0]
    assert isinstance(x, np.ndarray) and x.shape == (16, 257, 11)
    model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3)])
    assert model.predict(batches, verbose=0).shape == (len(batches.dataset), 3)
