"""Epochs in real training loops: every epoch a new order that depends only on (seed,
epoch), every example once, however the DataLoader's workers are set up."""

import numpy as np
import pytest
from conftest import build_small, positions_by_bytes
from torch.utils.data import DataLoader

import spectroprep
from spectroprep.torch import BatchDataset, ExampleDataset

EPOCHS = 3


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "epochs")


def _epochs(loader, set_epoch, where, epochs=EPOCHS):
    """The example positions of each epoch, in the order the loop saw them."""
    seen = []
    for epoch in range(epochs):
        set_epoch(epoch)
        seen.append([where[row.numpy().tobytes()] for x, _ in loader for row in x])
    return seen


@pytest.mark.parametrize(
    ("workers", "persistent"), [(0, False), (2, False), (2, True)], ids=["main", "fresh", "kept"]
)
def test_batch_dataset_epochs_reach_every_worker(dataset, workers, persistent):
    """``persistent_workers=True`` keeps the workers' copies of the dataset between
    epochs: ``set_epoch`` in the training process must still reach them."""
    where = positions_by_bytes(dataset)
    batches = BatchDataset(dataset, batch_size=8, seed=7)
    loader = DataLoader(
        batches, batch_size=None, num_workers=workers, persistent_workers=persistent
    )
    seen = _epochs(loader, batches.set_epoch, where)
    for epoch in seen:
        assert sorted(epoch) == list(range(len(where)))
    assert seen[0] != seen[1] != seen[2] != seen[0]
    # the same (seed, epoch) gives the same order with workers fresh or kept
    again = BatchDataset(dataset, batch_size=8, seed=7)
    fresh = DataLoader(again, batch_size=None, num_workers=workers)
    assert _epochs(fresh, again.set_epoch, where) == seen


def test_batch_dataset_epoch_can_be_set_back_for_kept_workers(dataset):
    where = positions_by_bytes(dataset)
    batches = BatchDataset(dataset, batch_size=8, seed=1)
    loader = DataLoader(batches, batch_size=None, num_workers=2, persistent_workers=True)
    first = _epochs(loader, batches.set_epoch, where, 2)
    batches.set_epoch(0)
    assert [where[r.numpy().tobytes()] for x, _ in loader for r in x] == first[0]


@pytest.mark.parametrize("persistent", [False, True])
def test_example_dataset_batch_sampler_with_kept_workers(dataset, persistent):
    where = positions_by_bytes(dataset)
    examples = ExampleDataset(dataset)
    sampler = examples.batch_sampler(batch_size=16, seed=3)
    loader = DataLoader(
        examples, batch_sampler=sampler, num_workers=2, persistent_workers=persistent
    )
    seen = _epochs(loader, sampler.set_epoch, where)
    for epoch in seen:
        assert sorted(epoch) == list(range(len(where)))
    assert seen[0] != seen[1] != seen[2]
    order = [examples.dataset.epoch_order(seed=3, epoch=e).tolist() for e in range(EPOCHS)]
    assert seen == order


def test_a_batch_dataset_pickles_outside_a_loader(dataset):
    """Pickled by hand (not while a loader starts its workers), the epoch travels as a
    number."""
    import pickle

    batches = BatchDataset(dataset, batch_size=8, seed=2)
    batches.set_epoch(4)
    copy = pickle.loads(pickle.dumps(batches))
    assert copy.epoch == 4
    copy.set_epoch(5)
    assert batches.epoch == 4
    x = [b.numpy() for b, _ in copy]
    batches.set_epoch(5)
    np.testing.assert_array_equal(
        np.concatenate(x), np.concatenate([b.numpy() for b, _ in batches])
    )


def test_kept_workers_started_by_spawn_see_the_epoch_too(dataset):
    """Spawned workers get the dataset pickled while they start: the epoch goes along
    as shared memory, not as the number it was."""
    where = positions_by_bytes(dataset)
    batches = BatchDataset(dataset, batch_size=8, seed=7)
    loader = DataLoader(
        batches,
        batch_size=None,
        num_workers=2,
        persistent_workers=True,
        multiprocessing_context="spawn",
    )
    seen = _epochs(loader, batches.set_epoch, where, 2)
    again = BatchDataset(dataset, batch_size=8, seed=7)
    forked = DataLoader(again, batch_size=None, num_workers=2)
    assert seen == _epochs(forked, again.set_epoch, where, 2)
    assert seen[0] != seen[1]


@pytest.mark.parametrize(("world", "workers"), [(1, 3), (2, 2), (3, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_even_gives_every_rank_and_worker_the_same_batches(dataset, world, workers, drop_last):
    ds = spectroprep.open_dataset(dataset)
    where = positions_by_bytes(dataset)
    readers = [
        spectroprep.ShardSampler(
            ds, rank=r, world_size=world, worker=w, num_workers=workers, even=True
        )  # fmt: skip
        for r in range(world)
        for w in range(workers)
    ]
    parts = world * workers
    counts = [sum(ds.file_examples[f] for f in r.shards) for r in readers]
    assert len(set(counts)) > 1  # uneven without even=True
    length = -(-len(ds) // parts)
    seen, batches = [], []
    for r in readers:
        assert len(r) == length
        mine = list(r.batches(4, seed=3, drop_last=drop_last))
        batches.append(len(mine))
        seen += [where[row.tobytes()] for x, _ in mine for row in x]
    assert len(set(batches)) == 1
    assert batches[0] == (length // 4 if drop_last else -(-length // 4))
    if not drop_last:  # readers above the mean leave a few out, those below repeat a few
        assert len(set(seen)) == sum(min(c, length) for c in counts)
        assert len(seen) == parts * length


@pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker processes")
def test_even_batch_dataset_with_three_workers(dataset):
    where = positions_by_bytes(dataset)
    batches = BatchDataset(dataset, batch_size=5, seed=0, even=True)
    seen = [where[r.numpy().tobytes()] for x, _ in DataLoader(batches, batch_size=None,
            num_workers=3) for r in x]  # fmt: skip
    length = -(-len(where) // 3)
    assert len(seen) == 3 * length and len(set(seen)) > len(where) - 13


def test_even_needs_examples_for_every_reader(dataset):
    ds = spectroprep.open_dataset(dataset)
    with pytest.raises(ValueError, match="even=True needs examples for each of the 40 readers"):
        spectroprep.ShardSampler(ds, worker=0, num_workers=40, even=True)
