"""Epochs drawn by class balance or by per-example weights, with replacement."""

import numpy as np
import pytest
from conftest import build, write_audio
from torch.utils.data import DataLoader

import spectroprep
from spectroprep.torch import BatchDataset

DRAWS = 6000
SETTINGS = ["segment.length=0.1", "segment.hop=0.1", "storage.shard_examples=16"]


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    """60, 20 and 10 examples of three classes: 44.1 kHz FLAC, 48 kHz stereo WAV."""
    root = tmp_path_factory.mktemp("imbalanced")
    audio = root / "audio"
    for k in range(9):
        cls = "rain" if k < 6 else "dog" if k < 8 else "siren"
        ext, rate, channels = (".flac", 44100, 1) if k % 2 else (".wav", 48000, 2)
        write_audio(audio / cls / f"take{k}{ext}", 1.0, rate, channels=channels, seed=k)
    return build(audio, root / "ds", labels_from_folders=True, overrides=SETTINGS)


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """Multi-hot: rain in every file, dog in two, siren in one with dog."""
    root = tmp_path_factory.mktemp("multi")
    rows = ["path,label"]
    for k, cells in enumerate(["rain", "rain", "rain", "rain", "rain;dog", "rain;dog;siren"]):
        write_audio(root / "audio" / f"clip{k}.wav", 1.0, 32000, seed=k)
        rows.append(f"clip{k}.wav,{cells}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return build(root / "audio", root / "ds", labels=root / "labels.csv", overrides=SETTINGS)


def _shares(counts):
    return np.asarray(counts) / np.sum(counts)


def test_class_balance_draws_every_class_as_often(imbalanced):
    ds = spectroprep.open_dataset(imbalanced)
    assert np.bincount(ds.labels).tolist() == [20, 60, 10]  # dog, rain, siren
    order = ds.epoch_order(seed=1, balance="class", length=DRAWS)
    shares = _shares(np.bincount(ds.labels[order], minlength=3))
    np.testing.assert_allclose(shares, 1 / 3, atol=0.03)
    # with replacement: the rare class's examples come about 20 times each
    assert np.bincount(order, minlength=len(ds))[ds.labels == 2].min() > 5
    # the same (seed, epoch), the same draw; another epoch, another
    assert ds.epoch_order(seed=1, balance="class", length=DRAWS).tolist() == order.tolist()
    assert ds.epoch_order(seed=1, epoch=1, balance="class", length=DRAWS).tolist() != order.tolist()
    # batches read those examples, a window at a time
    x, y = zip(*ds.batches(50, seed=1, balance="class", length=400), strict=True)
    expected = ds.get_batch(ds.epoch_order(seed=1, balance="class", length=400))
    np.testing.assert_array_equal(np.concatenate(x), expected[0])
    np.testing.assert_array_equal(np.concatenate(y), expected[1])


def test_multi_label_balance_picks_a_class_then_one_of_its_examples(multi):
    ds = spectroprep.open_dataset(multi)
    labels = ds.labels.astype(float)  # (N, 3) multi-hot: dog, rain, siren
    order = ds.epoch_order(seed=2, balance="class", length=DRAWS)
    # the chance of example i: the sum over its classes c of 1 / (classes x examples of c)
    chance = (labels / labels.sum(axis=0)).sum(axis=1) / labels.shape[1]
    np.testing.assert_allclose(chance.sum(), 1.0)
    expected = DRAWS * chance @ labels  # positives of each class drawn
    np.testing.assert_allclose(labels[order].sum(axis=0), expected, rtol=0.06)
    natural = labels.sum(axis=0) / len(labels)
    drawn = labels[order].sum(axis=0) / DRAWS
    assert drawn[2] > 3 * natural[2]  # the rare siren far more often than in the data


def test_weights_draw_by_them_and_zero_is_never(imbalanced):
    ds = spectroprep.open_dataset(imbalanced)
    weights = np.zeros(len(ds))
    weights[:10] = 1.0
    weights[10:20] = 3.0
    order = ds.epoch_order(seed=0, weights=weights, length=DRAWS)
    assert order.max() < 20
    np.testing.assert_allclose((order >= 10).mean(), 0.75, atol=0.03)
    # with balance too, the weights multiply the class's
    both = ds.epoch_order(seed=0, balance="class", weights=np.ones(len(ds)), length=DRAWS)
    assert both.tolist() == ds.epoch_order(seed=0, balance="class", length=DRAWS).tolist()
    for bad, message in [
        (np.ones(3), "weights must be 90 finite numbers"),
        (-weights, "weights must be 90 finite numbers"),
        (np.zeros(len(ds)), "every example has weight 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            ds.epoch_order(weights=bad)
    with pytest.raises(ValueError, match="keep shuffle"):
        ds.epoch_order(shuffle=False, balance="class")
    with pytest.raises(ValueError, match="balance must be one of class"):
        ds.epoch_order(balance="classes")


def test_balanced_batches_through_a_dataloader_and_a_resumed_epoch(imbalanced):
    batches = BatchDataset(imbalanced, batch_size=10, seed=4, balance="class")
    seen = [y for _, y in DataLoader(batches, batch_size=None, num_workers=2)]
    labels = np.concatenate(seen)
    assert len(labels) == 90  # each worker draws as many as its shards hold
    # each worker balances the classes of its own shards (files come by class here)
    assert np.bincount(labels, minlength=3)[2] > 15  # siren, 10 of 90 in the data
    ds = spectroprep.open_dataset(imbalanced)
    it = ds.batches(16, seed=3, balance="class", length=160)
    first = [next(it) for _ in range(4)]
    rest = list(ds.batches(**it.state_dict()))
    whole = list(ds.batches(16, seed=3, balance="class", length=160))
    assert len(first) + len(rest) == len(whole) == 10
    for a, b in zip(first + rest, whole, strict=True):
        np.testing.assert_array_equal(a[0], b[0])


def test_a_long_balanced_epoch_is_still_read_a_window_at_a_time(imbalanced):
    from spectroprep.read.epochs import fitted

    order, ends = fitted(np.arange(10), np.array([4, 8, 10]), 25)
    assert order.tolist() == list(range(10)) * 2 + list(range(5))
    assert ends.tolist() == [4, 8, 10, 14, 18, 20, 24, 25]
    ds = spectroprep.open_dataset(imbalanced)
    x = np.concatenate(
        [b for b, _ in ds.batches(16, seed=1, shuffle_window=32, length=10 * len(ds))]
    )
    assert len(x) == 10 * len(ds)


def test_a_weighted_epoch_resumes_with_the_same_weights_only(imbalanced):
    ds = spectroprep.open_dataset(imbalanced)
    weights = np.linspace(0.1, 1.0, len(ds))
    it = ds.batches(16, seed=2, weights=weights)
    first = [next(it) for _ in range(2)]
    state = it.state_dict()
    assert "weights" not in state and len(state["weights_digest"]) == 16  # not 90 numbers
    rest = list(ds.batches(**state, weights=weights))
    whole = list(ds.batches(16, seed=2, weights=weights))
    for a, b in zip(first + rest, whole, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="drawn by weights: give the same weights="):
        ds.batches(**state)
    with pytest.raises(ValueError, match="drawn by other weights"):
        ds.batches(**state, weights=weights[::-1])
