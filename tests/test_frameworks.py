"""The PyTorch and Keras adapters with the real frameworks: short training loops of
a tiny model, with two loader workers, consume every example once per epoch."""

import os
import pickle

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported

import keras
import numpy as np
import pytest
import torch
from conftest import SMALL, build_small, positions_by_bytes
from torch.utils.data import DataLoader

import spectroprep
from spectroprep.keras import PyDataset
from spectroprep.torch import BatchDataset, ExampleDataset

# Keras's torch backend converts tensors through a numpy path numpy 2 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "plain")


def _fingerprints(path):
    """Each example's position, by its feature bytes, and every label."""
    return positions_by_bytes(path), spectroprep.open_dataset(path).labels


def _train(loader, epochs, where, set_epoch):
    """A few SGD steps of a linear classifier per batch; the positions each epoch saw."""
    torch.manual_seed(0)
    model = None
    seen = []
    for epoch in range(epochs):
        set_epoch(epoch)
        mine = []
        for x, y in loader:
            if model is None:
                model = torch.nn.Linear(x[0].numel(), 2)
                optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
            loss = torch.nn.functional.cross_entropy(model(x.flatten(1)), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            mine += [where[row.numpy().tobytes()] for row in x]
        seen.append(mine)
    assert model is not None and torch.isfinite(loss)
    return seen


def test_torch_batch_dataset_with_two_workers_reads_each_example_once(dataset):
    where, labels = _fingerprints(dataset)
    batches = BatchDataset(dataset, batch_size=8, seed=3)
    loader = DataLoader(batches, batch_size=None, num_workers=2)
    seen = _train(loader, 2, where, batches.set_epoch)
    for epoch in seen:
        assert sorted(epoch) == list(range(len(where)))
    assert seen[0] != seen[1]
    x, y = next(iter(DataLoader(batches, batch_size=None)))
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape[1:] == (257, 11)


def test_torch_example_dataset_with_two_workers_reads_each_example_once(dataset):
    where, labels = _fingerprints(dataset)
    examples = ExampleDataset(dataset)
    sampler = examples.batch_sampler(batch_size=16, seed=1)
    loader = DataLoader(examples, batch_sampler=sampler, num_workers=2)
    seen = _train(loader, 2, where, sampler.set_epoch)
    for epoch in seen:
        assert sorted(epoch) == list(range(len(where)))
    assert seen[0] != seen[1]
    # plain DataLoader shuffling works too, and the labels come with their examples
    for x, y in DataLoader(examples, batch_size=32, shuffle=True, num_workers=2):
        positions = [where[row.numpy().tobytes()] for row in x]
        np.testing.assert_array_equal(y.numpy(), labels[positions])


def test_torch_adapters_pickle_without_open_files(dataset):
    examples = ExampleDataset(dataset)
    examples[3]  # opens a shard
    copy = pickle.loads(pickle.dumps(examples))
    np.testing.assert_array_equal(copy[3][0].numpy(), examples[3][0].numpy())


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
        x = data[0]
        self.note(self.where[row.tobytes()] for row in keras.ops.convert_to_numpy(x))
        return super().train_step(data)


def test_keras_fit_with_two_worker_processes_reads_each_example_once(dataset):
    where, _ = _fingerprints(dataset)
    batches = PyDataset(dataset, batch_size=16, seed=2, workers=2, use_multiprocessing=True)
    seen = []
    model = _Recording(where, seen)
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.run_eagerly = True
    model.train_on_batch(*batches[0])  # built before fit: Keras then peeks at no batch
    del seen[:]
    n = len(where)
    history = model.fit(batches, epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 3 and len(seen) == 3 * n
    epochs = [seen[:n], seen[n : 2 * n], seen[2 * n :]]
    for epoch in epochs:
        assert sorted(epoch) == list(range(n))
    assert epochs[0] != epochs[1] != epochs[2]  # a new shuffle each epoch
    assert len(batches) == -(-n // 16)


@pytest.fixture(scope="module")
def unlabelled(small_audio):
    """The small audio built without labels (as for self-supervised pretraining)."""
    out = small_audio.parent / "unlabelled"
    if not (out / "dataset.json").exists():
        spectroprep.build(small_audio, out, jobs=1, overrides=SMALL)
    return out


def test_unlabelled_data_goes_through_torch_default_collate(unlabelled):
    where, labels = _fingerprints(unlabelled)
    assert labels is None
    examples = ExampleDataset(unlabelled)
    assert examples[0].shape == (257, 11)  # the features alone, no None
    seen = []
    sampler = examples.batch_sampler(batch_size=8, seed=4)
    for x in DataLoader(examples, batch_sampler=sampler, num_workers=2):
        assert isinstance(x, torch.Tensor) and x.shape[1:] == (257, 11)
        seen += [where[row.numpy().tobytes()] for row in x]
    for x in DataLoader(examples, batch_size=8, shuffle=True):
        assert isinstance(x, torch.Tensor)
    batches = BatchDataset(unlabelled, batch_size=8, seed=1)
    for x in DataLoader(batches, batch_size=None, num_workers=2):
        assert isinstance(x, torch.Tensor) and x.shape[1:] == (257, 11)
        seen += [where[row.numpy().tobytes()] for row in x]
    assert sorted(seen) == sorted(2 * list(range(len(where))))  # once per loader


def test_unlabelled_data_goes_to_keras_as_features_alone(unlabelled):
    batches = PyDataset(unlabelled, batch_size=16, seed=2)
    x = batches[0]
    assert isinstance(x, np.ndarray) and x.shape == (16, 257, 11)
    model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3)])
    assert model.predict(batches, verbose=0).shape == (len(batches.dataset), 3)
