"""The PyTorch adapters with the real framework: short training loops of a tiny model,
with two loader workers, consume every example once per epoch (Keras: test_keras.py)."""

import pickle

import numpy as np
import pytest
import torch
from conftest import build_small, positions_by_bytes
from torch.utils.data import DataLoader

import spectroprep
from spectroprep.torch import BatchDataset, ExampleDataset


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
