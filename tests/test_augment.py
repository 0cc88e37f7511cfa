"""Batch transforms on read: SpecAugment masks, mixup, and the user's own callable,
deterministic from (seed, epoch, batch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported

import numpy as np
import pytest
from conftest import build, build_small, write_audio
from torch.utils.data import DataLoader

import spectroprep
from spectroprep import Compose, Mixup, SpecAugment
from spectroprep.read.augment import batch_rng
from spectroprep.torch import BatchDataset


@pytest.fixture(scope="module")
def dataset(small_audio):
    return build_small(small_audio, "augment")


def test_spec_augment_masks_bands_of_time_and_frequency(dataset):
    ds = spectroprep.open_dataset(dataset)
    x, y = ds.get_batch(range(32))
    masks = SpecAugment(time_masks=1, time_width=4, freq_masks=2, freq_width=30, value=-50.0)
    out, same = masks(x.copy(), y, np.random.default_rng(0))
    assert same is y and out.shape == x.shape and out.dtype == x.dtype
    masked = out == -50.0
    assert masked.any() and not (x == -50.0).any()
    for example, changed, original in zip(out, masked, x, strict=True):
        rows = np.flatnonzero(changed.all(axis=1))  # whole bins: frequency bands
        cols = np.flatnonzero(changed.all(axis=0))  # whole frames: time bands
        # every masked cell lies in a masked bin or a masked frame
        assert (
            changed == (np.isin(np.arange(257), rows)[:, None] | np.isin(np.arange(11), cols))
        ).all()
        assert len(cols) <= 4 and len(rows) <= 60
        np.testing.assert_array_equal(example[~changed], original[~changed])
    # the bands differ from example to example, and "mean" fills each with its own mean
    assert len({m.tobytes() for m in masked}) > 20
    filled, _ = SpecAugment(freq_masks=0, time_width=11, time_masks=3)(
        x.copy(), y, np.random.default_rng(1)
    )
    k = int(np.flatnonzero((filled != x).any(axis=(1, 2)))[0])
    np.testing.assert_allclose(filled[k][filled[k] != x[k]], x[k].mean(), rtol=1e-6)


def test_mixup_mixes_features_and_targets_alike(dataset):
    ds = spectroprep.open_dataset(dataset)
    x, y = ds.get_batch(range(16))
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    out, targets = Mixup(alpha=0.4, classes=len(ds.classes))(x.copy(), y, rng_a)
    partner = rng_b.permutation(16)
    lam = rng_b.beta(0.4, 0.4, 16).astype(np.float32)
    np.testing.assert_allclose(
        out, lam[:, None, None] * x + (1 - lam[:, None, None]) * x[partner], rtol=1e-5
    )
    onehot = np.eye(len(ds.classes), dtype=np.float32)[y]
    np.testing.assert_allclose(
        targets, lam[:, None] * onehot + (1 - lam[:, None]) * onehot[partner], rtol=1e-6
    )
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Mixup\(classes=...\) is needed"):
        Mixup()(x, y, np.random.default_rng(0))


def test_mixup_of_frame_targets(tmp_path):
    audio = tmp_path / "audio"
    for k in range(3):
        write_audio(audio / f"scene{k}.flac", 3.0, 44100, channels=2, seed=k)
    (tmp_path / "events.tsv").write_text(
        "filename\tonset\toffset\tevent_label\nscene0.flac\t0.2\t1.5\tbird\n"
        "scene1.flac\t1.0\t2.9\tcar\nscene2.flac\t0.0\t0.4\tbird\n"
    )
    out = build(audio, tmp_path / "ds", events=tmp_path / "events.tsv")
    ds = spectroprep.open_dataset(out, targets="frames")
    x, frames = ds.get_batch(range(len(ds)))
    _, mixed = Mixup(alpha=1.0)(x, frames, np.random.default_rng(2))
    assert mixed.dtype == np.float32 and mixed.shape == frames.shape
    assert ((mixed > 0) & (mixed < 1)).any() and mixed.max() <= 1


def test_transforms_are_the_same_for_the_same_seed_epoch_and_batch(dataset):
    ds = spectroprep.open_dataset(dataset)
    augment = Compose(SpecAugment(time_width=3, freq_width=40), Mixup(0.3, len(ds.classes)))
    run = [x for x, _ in ds.batches(8, seed=5, epoch=1, transform=augment)]
    again = [x for x, _ in ds.batches(8, seed=5, epoch=1, transform=augment, prefetch=0)]
    other = [x for x, _ in ds.batches(8, seed=5, epoch=2, transform=augment)]
    for a, b in zip(run, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(run[0], other[0])
    # a resumed epoch gets the same transforms for its batches
    it = ds.batches(8, seed=5, epoch=1, transform=augment)
    [next(it) for _ in range(3)]
    rest = [x for x, _ in ds.batches(**it.state_dict(), transform=augment)]
    for a, b in zip(rest, run[3:], strict=True):
        np.testing.assert_array_equal(a, b)
    assert "transform" not in it.state_dict()


def test_the_users_own_transform_through_torch_and_keras(dataset):
    calls = []

    def shift(x, y, rng):
        calls.append(rng.integers(1 << 30))
        return x + 1.0, y

    plain = [x for x, _ in DataLoader(BatchDataset(dataset, batch_size=8, seed=2), batch_size=None)]
    shifted = [
        x
        for x, _ in DataLoader(
            BatchDataset(dataset, batch_size=8, seed=2, transform=shift), batch_size=None
        )
    ]
    for a, b in zip(plain, shifted, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy() + 1.0)
    assert len(calls) == len(plain) and len(set(calls)) == len(calls)

    from spectroprep.keras import PyDataset

    keras_batches = PyDataset(dataset, batch_size=8, seed=2, transform=shift)
    x, _ = keras_batches[1]
    expected = keras_batches.dataset.get_batch(keras_batches.order[8:16])[0] + 1.0
    np.testing.assert_allclose(x, expected)
    assert calls[-1] == batch_rng(2, 0, 1).integers(1 << 30)


def test_each_batch_epoch_and_reader_gets_its_own_draws(dataset):
    ds = spectroprep.open_dataset(dataset)
    draws = []

    def note(x, y, rng):
        draws.append(int(rng.integers(1 << 60)))
        return x + 1.0, y

    plain = [x for x, _ in ds.batches(8, shuffle=False, shards=[0, 1])]
    for epoch in (0, 1):  # the same batches, shuffle off: only the epoch differs
        marked = [x for x, _ in ds.batches(8, shuffle=False, epoch=epoch, seed=1, shards=[0, 1],
                                           transform=note)]  # fmt: skip
        for a, b in zip(plain, marked, strict=True):
            np.testing.assert_allclose(b, a + 1.0)  # applied to every batch
    per_epoch = len(plain)
    assert draws[:per_epoch] != draws[per_epoch:]  # another epoch, other draws
    assert len(set(draws[:per_epoch])) == per_epoch  # every batch its own
    # two readers' first batches (disjoint shards) get different draws
    del draws[:]
    for shards in ([0], [1]):
        next(ds.batches(8, seed=1, shards=shards, transform=note, prefetch=0))
    assert draws[0] != draws[1]
