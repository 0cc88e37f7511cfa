"""Subsets by manifest values (``where=``), and their statistics merged exactly from the
per-source statistics a dataset stores (source_statistics.npz)."""

from __future__ import annotations

import csv
import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import build, write_audio
from torch.utils.data import DataLoader

import spectroprep
from spectroprep.dataset.manifest import read_manifest
from spectroprep.dataset.source_stats import read_source_statistics, write_source_statistics
from spectroprep.dataset.stats import GroupStats
from spectroprep.errors import DatasetError, SpectroprepWarning
from spectroprep.keras import PyDataset
from spectroprep.torch import BatchDataset, ExampleDataset
from spectroprep.verify import verify

FOLDS = 5
# (extension, sample rate, channels) in turn: the containers and rates users have
KINDS = [
    (".flac", 44100, 2),
    (".ogg", 48000, 1),
    (".wav", 22050, 1),
    (".wav", 44100, 2),
    (".mp3", 48000, 2),
]
SUBTYPES = {".mp3": "MPEG_LAYER_III"}
TRAIN = {"fold": [1, 2, 3]}


def _folds_corpus(root):
    """15 recordings of 0.7-3.2 s in five folds, each fold at its own level (so each
    subset has other statistics), labelled dog/cat; meta.csv in ESC-50's manner."""
    rows = []
    for i in range(15):
        ext, rate, channels = KINDS[i % len(KINDS)]
        fold = i % FOLDS + 1
        name = f"rec{i}{ext}"
        seconds = 0.7 + 0.5 * (i % 6)
        path = write_audio(root / "audio" / name, seconds, rate, channels=channels, seed=i,
                           subtype=SUBTYPES.get(ext))  # fmt: skip
        if fold > 1:  # each fold 6 dB below the one before: the subsets' means differ
            x, rate = sf.read(path)
            sf.write(path, x * 0.5 ** (fold - 1), rate, subtype=sf.info(path).subtype)
        rows.append((name, fold, ["dog", "cat"][i % 2]))
    with (root / "meta.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "fold", "category"])
        writer.writerows(rows)
    return root


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    return _folds_corpus(tmp_path_factory.mktemp("folds"))


def _build(folds, out, format="hdf5", jobs=1):
    return build(
        folds / "audio",
        out,
        labels=folds / "meta.csv",
        path_column="filename",
        label_column="category",
        metadata_columns=["fold"],
        format=format,
        jobs=jobs,
        overrides=[
            "segment.length=0.5",
            "segment.hop=0.5",
            "storage.shard_examples=7",
            "storage.block_size=7",
        ],
    )


@pytest.fixture(scope="module", params=["hdf5", "npy"])
def dataset(folds, request):
    return _build(folds, folds / f"ds-{request.param}", request.param, jobs=2)


def _fold_ids(path, folds_wanted):
    return np.array(
        [r.id for r in read_manifest(path / "manifest.csv") if int(r.extra["fold"]) in folds_wanted]
    )


def _reference(features):
    """Mean and std per bin of (n, F, T) features, by numpy in float64."""
    x = features.astype(np.float64)
    return x.mean(axis=(0, 2)), x.std(axis=(0, 2))


def test_a_subset_reads_the_examples_of_its_rows_and_only_those(dataset):
    whole = spectroprep.open_dataset(dataset)
    train = spectroprep.open_dataset(dataset, where=TRAIN)
    ids = _fold_ids(dataset, {1, 2, 3})
    assert 0 < len(train) == len(ids) < len(whole)
    np.testing.assert_array_equal(train.ids, ids)
    x, y = train.get_batch(np.arange(len(train))[::-1])
    x_ref, y_ref = whole.get_batch(ids[::-1] - 1)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(train.labels, whole.labels[ids - 1])
    x_last, y_last = train[-1]
    np.testing.assert_array_equal(x_last, whole[int(ids[-1]) - 1][0])
    assert y_last == whole.labels[ids[-1] - 1]
    assert sum(train.file_examples) == len(train)
    with pytest.raises(IndexError, match=f"out of range for a dataset of {len(train)}"):
        train[len(train)]
    # a value given as text, a number or a one-element list selects the same rows
    for fold in (4, "4", [4], 4.0):
        np.testing.assert_array_equal(
            spectroprep.open_dataset(dataset, where={"fold": fold}).ids, _fold_ids(dataset, {4})
        )
    both = spectroprep.open_dataset(dataset, where={"fold": [1, 2, 3], "label": "dog"})
    assert set(both.labels.tolist()) == {whole.classes.index("dog")}
    assert set(both.ids) < set(ids)


def test_subset_epochs_hold_each_example_once_shuffled_in_runs(dataset):
    train = spectroprep.open_dataset(dataset, where=TRAIN)
    n = len(train)
    epochs = []
    for epoch in range(3):
        x, _ = zip(*train.batches(4, seed=5, epoch=epoch), strict=True)
        order = train.epoch_order(seed=5, epoch=epoch)
        assert sorted(order.tolist()) == list(range(n))
        np.testing.assert_array_equal(np.concatenate(x), train.get_batch(order)[0])
        epochs.append(order.tolist())
    assert epochs[0] != epochs[1] != epochs[2]
    assert train.epoch_order(seed=5, epoch=1).tolist() == epochs[1]
    assert train.epoch_order(shuffle=False).tolist() == list(range(n))
    # two readers' shards split the subset between them, each example once
    readers = [spectroprep.ShardSampler(train, worker=w, num_workers=2) for w in range(2)]
    assert sum(len(r) for r in readers) == n
    seen = [row.tobytes() for r in readers for x, _ in r.batches(3, seed=1) for row in x]
    assert sorted(seen) == sorted(row.tobytes() for row in train.get_batch(range(n))[0])


def test_normalize_on_a_subset_uses_the_statistics_of_that_subset(dataset):
    train = spectroprep.open_dataset(dataset, where=TRAIN)
    raw, _ = train.get_batch(range(len(train)))
    mean, std = _reference(raw)
    normalised = spectroprep.open_dataset(dataset, where=TRAIN, normalize=True)
    x, _ = normalised.get_batch(range(len(normalised)))
    np.testing.assert_allclose(x, (raw - mean[:, None]) / std[:, None], rtol=1e-5, atol=1e-5)
    # not the whole dataset's statistics: the folds differ in level
    whole = json.loads((dataset / "dataset.json").read_text())["statistics"]
    assert np.abs(np.asarray(whole["mean"]) - mean).max() > 0.5
    # "global": one mean and std over every bin of the subset
    x, _ = spectroprep.open_dataset(dataset, where=TRAIN, normalize="global").get_batch([0, 1])
    flat = raw.astype(np.float64)
    np.testing.assert_allclose(x, (raw[:2] - flat.mean()) / flat.std(), rtol=1e-5, atol=1e-5)
    # a validation fold normalised as its model's training folds were
    val = spectroprep.open_dataset(
        dataset, where={"fold": 4}, normalize=True, statistics_where=TRAIN
    )
    raw_val, _ = spectroprep.open_dataset(dataset, where={"fold": 4}).get_batch(range(len(val)))
    x, _ = val.get_batch(range(len(val)))
    np.testing.assert_allclose(x, (raw_val - mean[:, None]) / std[:, None], rtol=1e-5, atol=1e-5)


def test_every_sources_statistics_merge_to_the_datasets(dataset):
    info = json.loads((dataset / "dataset.json").read_text())
    sources = read_source_statistics(dataset, info)
    assert len(sources) == info["counts"]["sources"] == 15
    merged = sources.merged()
    np.testing.assert_allclose(merged.mean, info["statistics"]["mean"], rtol=1e-12)
    np.testing.assert_allclose(merged.std, info["statistics"]["std"], rtol=1e-10)
    with spectroprep.open_dataset(dataset) as ds:
        x, _ = ds.get_batch(range(len(ds)))
    rows = read_manifest(dataset / "manifest.csv")
    for row in (0, len(rows) // 2, len(rows) - 1):
        mine = [i for i, r in enumerate(rows) if r.source == rows[row].source]
        k = sources.example_group[row]
        np.testing.assert_array_equal(np.flatnonzero(sources.example_group == k), mine)
        mean, std = _reference(x[mine])
        np.testing.assert_allclose(sources.mean[k], mean, rtol=1e-12)
        np.testing.assert_allclose(np.sqrt(sources.m2[k] / sources.count[k]), std, rtol=1e-9)


def test_torch_and_keras_adapters_take_where(dataset):
    ids = _fold_ids(dataset, {1, 2, 3})
    with spectroprep.open_dataset(dataset) as ds:
        x, _ = ds.get_batch(ids - 1)
    wanted = sorted(row.tobytes() for row in x)
    batches = BatchDataset(dataset, batch_size=4, seed=0, where=TRAIN)
    for epoch in range(2):
        batches.set_epoch(epoch)
        loader = DataLoader(batches, batch_size=None, num_workers=2)
        seen = sorted(row.numpy().tobytes() for xb, _ in loader for row in xb)
        assert seen == wanted
    examples = ExampleDataset(dataset, where=TRAIN, normalize=True)
    assert len(examples) == len(ids)
    xb, yb = next(iter(DataLoader(examples, batch_size=len(ids))))
    assert xb.dtype == torch.float32 and abs(float(xb.mean())) < 0.05
    keras_batches = PyDataset(dataset, batch_size=5, seed=0, where=TRAIN)
    assert len(keras_batches) == -(-len(ids) // 5)
    seen = sorted(row.tobytes() for k in range(len(keras_batches)) for row in keras_batches[k][0])
    assert seen == wanted


def test_where_mistakes_are_named(dataset):
    with pytest.raises(ValueError, match=r"no value 6 \(its values: 1, 2, 3, 4, 5\)"):
        spectroprep.open_dataset(dataset, where={"fold": 6})
    with pytest.raises(
        ValueError, match=r"no column 'flod' \(columns to select on: source, label, fold\)"
    ):
        spectroprep.open_dataset(dataset, where={"flod": 1})
    with pytest.raises(ValueError, match="holds no example"):
        spectroprep.open_dataset(dataset, where={"fold": 1, "source": "rec1.ogg"})
    with pytest.raises(ValueError, match="statistics_where applies to normalize"):
        spectroprep.open_dataset(dataset, where=TRAIN, statistics_where=TRAIN)


def test_a_subset_that_splits_a_source_cannot_be_normalised_by_its_sources(tmp_path):
    for i, seconds in enumerate((2.2, 1.6)):
        write_audio(tmp_path / "audio" / f"take{i}.flac", seconds, 48000, channels=2, seed=i)
        windows = int(np.ceil(seconds / 0.5))
        np.save(tmp_path / "audio" / f"take{i}-lbl.npy", np.arange(windows) % 2)
    out = build(
        tmp_path / "audio",
        tmp_path / "ds",
        labels_per_window=True,
        overrides=["segment.length=0.5", "segment.hop=0.5"],
    )
    label = spectroprep.open_dataset(out).classes[1]
    part = spectroprep.open_dataset(out, where={"label": label})
    assert 0 < len(part) < len(spectroprep.open_dataset(out))
    with pytest.raises(DatasetError, match=r"takes 2 of the 5 examples of source take0.flac"):
        spectroprep.open_dataset(out, where={"label": label}, normalize=True)
    # a whole file is whole sources
    assert len(spectroprep.open_dataset(out, where={"source": "take1.flac"}, normalize=True)) == 4


def test_shard_keeps_per_source_statistics_through_shuffles_and_splits(folds, tmp_path):
    ds = _build(folds, tmp_path / "ds")
    spectroprep.shard(ds, tmp_path / "mixed", shuffle=True, seed=3, shard_size=4, jobs=2)
    spectroprep.shard(
        ds, tmp_path / "cv", split_column="fold", split_map="train=1,2,3;val=4;test=5", jobs=1
    )
    reference = spectroprep.open_dataset(ds, where=TRAIN, normalize=True)
    x_ref = {i: reference[k][0] for k, i in enumerate(reference.ids)}
    mixed = spectroprep.open_dataset(tmp_path / "mixed", where=TRAIN, normalize=True)
    origins = _origins(tmp_path / "mixed")
    for k in range(len(mixed)):
        np.testing.assert_allclose(mixed[k][0], x_ref[origins[mixed.ids[k]]], rtol=1e-5, atol=1e-5)
    train = spectroprep.open_dataset(tmp_path / "cv" / "train", normalize=True)
    assert len(train) == len(reference)
    x, _ = train.get_batch(range(len(train)))
    raw, _ = spectroprep.open_dataset(tmp_path / "cv" / "train").get_batch(range(len(train)))
    mean, std = _reference(raw)
    np.testing.assert_allclose(x, (raw - mean[:, None]) / std[:, None], rtol=1e-5, atol=1e-5)
    # the test split records train's statistics, and keeps them with where; its own
    # sources' statistics are its own, asked for by statistics_where
    train_mean, train_std = mean, std
    raw, _ = spectroprep.open_dataset(tmp_path / "cv" / "test").get_batch(
        range(len(test_ids := _fold_ids(tmp_path / "cv" / "test", {5})))
    )
    test = spectroprep.open_dataset(tmp_path / "cv" / "test", where={"fold": 5}, normalize=True)
    x, _ = test.get_batch(range(len(test)))
    np.testing.assert_allclose(
        x, (raw - train_mean[:, None]) / train_std[:, None], rtol=1e-5, atol=1e-5
    )
    own = spectroprep.open_dataset(
        tmp_path / "cv" / "test", normalize=True, statistics_where={"fold": 5}
    )
    mean, std = _reference(raw)
    x, _ = own.get_batch(range(len(test_ids)))
    np.testing.assert_allclose(x, (raw - mean[:, None]) / std[:, None], rtol=1e-5, atol=1e-5)
    for folder in (tmp_path / "mixed", *(tmp_path / "cv" / s for s in ("train", "val", "test"))):
        assert verify(folder).ok, folder


def _origins(path):
    return {r.id: int(r.extra["origin_id"]) for r in read_manifest(path / "manifest.csv")}


def test_a_dataset_without_per_source_statistics(folds, tmp_path):
    """As built before source_statistics.npz: subsets read, but normalising one asks for
    a rebuild or a re-shard, which groups by source file."""
    ds = _build(folds, tmp_path / "old")
    info = json.loads((ds / "dataset.json").read_text())
    del info["source_statistics"]
    (ds / "dataset.json").write_text(json.dumps(info))
    (ds / "source_statistics.npz").unlink()
    assert verify(ds).ok
    assert len(spectroprep.open_dataset(ds, where=TRAIN)) == len(_fold_ids(ds, {1, 2, 3}))
    with pytest.raises(DatasetError, match="has no per-source statistics .* re-shard it"):
        spectroprep.open_dataset(ds, where=TRAIN, normalize=True)
    spectroprep.shard(ds, tmp_path / "new", jobs=1)
    new = spectroprep.open_dataset(tmp_path / "new", where=TRAIN, normalize=True)
    x, _ = new.get_batch(range(len(new)))
    raw, _ = spectroprep.open_dataset(tmp_path / "new", where=TRAIN).get_batch(range(len(new)))
    mean, std = _reference(raw)
    np.testing.assert_allclose(x, (raw - mean[:, None]) / std[:, None], rtol=1e-5, atol=1e-5)


def test_verify_checks_the_per_source_statistics(folds, tmp_path):
    ds = _build(folds, tmp_path / "ds")
    path = ds / "source_statistics.npz"
    kept = path.read_bytes()
    path.write_bytes(kept[:-10] + bytes(10))
    assert "source_statistics.npz: size or digest differs" in _lines(ds)
    path.unlink()
    assert "source_statistics.npz: listed in dataset.json but missing" in _lines(ds)
    # arrays that disagree with the dataset, recorded as if written so
    path.write_bytes(kept)
    info = json.loads((ds / "dataset.json").read_text())
    good = read_source_statistics(ds, info)
    shifted = GroupStats(good.example_group, good.groups, good.count, good.mean + 1.0, good.m2)
    info["source_statistics"] = write_source_statistics(ds, shifted)
    (ds / "dataset.json").write_text(json.dumps(info))
    assert "merge to another mean than dataset.json's" in _lines(ds)
    del info["source_statistics"]
    (ds / "dataset.json").write_text(json.dumps(info))
    assert "source_statistics.npz" in _lines(ds)  # not listed: a file verify does not own


def _lines(ds):
    report = verify(ds)
    return "\n".join(p.line() for p in report.problems + report.warnings)


def test_sources_left_out_by_skip_leave_every_other_sources_statistics_in_place(folds, tmp_path):
    """A file that fails to decode, in the middle of the inputs, is left out of its
    shard: every other example keeps its own source's statistics, here and after a
    shuffled shard."""
    audio = tmp_path / "audio"
    audio.mkdir()
    rows = []
    for k, src in enumerate(sorted((folds / "audio").iterdir())):
        name = src.name
        if k == 5:  # a NaN sample, found only by the worker that decodes the file
            x = np.random.default_rng(k).normal(0, 0.1, 48000)
            x[30000] = np.nan
            name = "broken.wav"
            sf.write(audio / name, x, 48000, subtype="FLOAT")
        else:
            (audio / name).symlink_to(src)
        rows.append((name, k % FOLDS + 1, "dog"))
    with (tmp_path / "meta.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("filename", "fold", "category"), *rows])
    with pytest.warns(SpectroprepWarning, match=r"left out .*broken\.wav: 1 NaN"):
        out = build(
            audio,
            tmp_path / "ds",
            labels=tmp_path / "meta.csv",
            path_column="filename",
            label_column="category",
            metadata_columns=["fold"],
            on_error="skip",
            jobs=2,
            overrides=["segment.length=0.5", "segment.hop=0.5", "storage.shard_examples=7"],
        )
    assert "broken.wav" in (out / "rejected.csv").read_text()
    spectroprep.shard(out, tmp_path / "mixed", shuffle=True, seed=1, shard_size=5, jobs=1)
    for path in (out, tmp_path / "mixed"):
        info = json.loads((path / "dataset.json").read_text())
        sources = read_source_statistics(path, info)
        rows = read_manifest(path / "manifest.csv")
        with spectroprep.open_dataset(path) as ds:
            x, _ = ds.get_batch(range(len(ds)))
        names = sorted({r.source for r in rows})
        assert len(sources) == len(names) == 14
        for name in names:
            mine = [i for i, r in enumerate(rows) if r.source == name]
            (k,) = set(sources.example_group[mine].tolist())
            mean, std = _reference(x[mine])
            np.testing.assert_allclose(sources.mean[k], mean, rtol=1e-9)
            np.testing.assert_allclose(np.sqrt(sources.m2[k] / sources.count[k]), std, rtol=1e-7)
        assert verify(path).ok


def test_verify_names_a_source_that_spans_two_files(folds, tmp_path):
    ds = _build(folds, tmp_path / "ds")
    info = json.loads((ds / "dataset.json").read_text())
    good = read_source_statistics(ds, info)
    groups = good.example_group.copy()
    first = int(np.flatnonzero(groups == 0)[0])
    other = int(np.flatnonzero(groups == 1)[0])
    groups[first], groups[other] = 1, 0  # counts still match; files do not
    swapped = GroupStats(groups, good.groups, good.count, good.mean, good.m2)
    info["source_statistics"] = write_source_statistics(ds, swapped)
    (ds / "dataset.json").write_text(json.dumps(info))
    assert "source 0 holds examples of more than one file of manifest.csv (2 such" in _lines(ds)
