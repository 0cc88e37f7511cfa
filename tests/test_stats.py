"""Normalisation statistics merged across shards and workers; the reader's
``normalize``; float16 storage error and range."""

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import build, scene

import spectroprep
from spectroprep.dataset.stats import BinStats, merge_all
from spectroprep.errors import ConfigError, DatasetError


def all_features(out):
    with spectroprep.open_dataset(out) as ds:
        return ds.get_batch(np.arange(len(ds)))[0]


def statistics(out):
    return json.loads((out / "dataset.json").read_text())["statistics"]


def assert_statistics_of(stats, x):
    """``stats`` equal a single numpy pass over the (n, F, T) features ``x``, to 1e-6."""
    x = x.astype(np.float64)
    assert stats["count"] == x.shape[0] * x.shape[2]
    np.testing.assert_allclose(stats["mean"], x.mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(stats["std"], x.std(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(stats["global"]["mean"], x.mean(), rtol=1e-6)
    np.testing.assert_allclose(stats["global"]["std"], x.std(), rtol=1e-6)


@pytest.fixture
def scenes(tmp_path):
    root = tmp_path / "audio"
    root.mkdir()
    for i, (seconds, rate) in enumerate([(4.2, 16000), (2.0, 44100), (3.5, 8000), (1.0, 16000)]):
        sf.write(root / f"scene{i}.wav", scene(seconds, rate, seed=i), rate, subtype="PCM_16")
    return root


@pytest.mark.parametrize(
    "preset, dtype, fmt",
    [
        ("default", "float32", "hdf5"),
        ("logmel-16k", "float16", "npy"),
        ("speech-commands", "float32", "npy"),
    ],
)
def test_merged_statistics_equal_one_numpy_pass_for_any_jobs(scenes, tmp_path, preset, dtype, fmt):
    overrides = [f"storage.dtype={dtype}", "storage.shard_examples=3", "storage.block_size=2"]
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"ds{jobs}"
        build(scenes, out, config=preset, overrides=overrides, format=fmt, jobs=jobs)
        outs.append(out)
    x = all_features(outs[0])
    assert len(x) == 12 and x.dtype == dtype
    assert len(json.loads((outs[0] / "dataset.json").read_text())["files"]) > 3  # many merges
    assert_statistics_of(statistics(outs[0]), x)
    # one BLAS thread per task and a merge in shard order: the same bits for any --jobs
    np.testing.assert_array_equal(all_features(outs[1]), x)
    assert statistics(outs[1]) == statistics(outs[0])


def test_merging_splits_equals_the_whole():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((23, 5, 7)) * [[1], [10], [0.1], [3], [0]] - 50).astype(np.float32)
    whole = BinStats.of(x)
    merged = merge_all(BinStats.of(x[a:b]) for a, b in [(0, 1), (1, 9), (9, 10), (10, 23)])
    x64 = x.astype(np.float64)
    for stats in (whole, merged):
        assert stats.count == 23 * 7
        np.testing.assert_allclose(stats.mean, x64.mean(axis=(0, 2)), rtol=1e-9)
        np.testing.assert_allclose(stats.std, x64.std(axis=(0, 2)), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(stats.overall(), (x64.mean(), x64.std()), rtol=1e-9)
    assert merged.std[4] == 0  # a constant bin


@pytest.mark.parametrize("fmt, dtype", [("hdf5", "float32"), ("npy", "float16")])
def test_normalize_applies_the_statistics(scenes, tmp_path, fmt, dtype):
    out = build(
        scenes,
        tmp_path / "ds",
        config="logmel-16k",
        format=fmt,
        overrides=[f"storage.dtype={dtype}"],
    )
    raw = all_features(out).astype(np.float64)
    stats = statistics(out)
    mean = np.array(stats["mean"])[:, None]
    std = np.array(stats["std"])[:, None]
    with spectroprep.open_dataset(out, normalize=True) as ds:
        assert ds.dtype == np.float32
        x, y = ds.get_batch([3, 0, 7])
        assert x.dtype == np.float32 and y is None
        np.testing.assert_allclose(x, (raw[[3, 0, 7]] - mean) / std, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(ds[7][0], x[2])
        every, _ = ds.get_batch(np.arange(len(ds)))
    np.testing.assert_allclose(every.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(every.std(axis=(0, 2)), 1, rtol=1e-4)
    with spectroprep.open_dataset(out, normalize="global") as ds:
        g = stats["global"]
        np.testing.assert_allclose(ds[2][0], (raw[2] - g["mean"]) / g["std"], rtol=1e-5, atol=1e-5)
    with spectroprep.open_dataset(out) as ds:  # off by default: the stored values
        assert ds.dtype == dtype
        np.testing.assert_array_equal(ds[3][0], raw[3].astype(dtype))


def test_normalize_refuses_bad_values(scenes, tmp_path):
    out = build(scenes, tmp_path / "ds")
    for bad in (1, "mean", None):
        with pytest.raises(ValueError, match="normalize must be True, False, 'bins' or 'global'"):
            spectroprep.open_dataset(out, normalize=bad)


@pytest.mark.parametrize("preset", ["default", "logmel-16k"])
def test_float16_adds_at_most_half_a_float16_step(scenes, tmp_path, preset):
    exact = all_features(build(scenes, tmp_path / "f32", config=preset))
    half = all_features(
        build(scenes, tmp_path / "f16", config=preset, overrides=["storage.dtype=float16"])
    )
    assert half.dtype == np.float16
    exact64, err = exact.astype(np.float64), np.abs(half.astype(np.float64) - exact)
    # round to nearest: half a step, 2**-11 relative for normal numbers, 2**-25 below 2**-14
    assert (err <= np.maximum(2.0**-11 * np.abs(exact64), 2.0**-25)).all()
    assert err.max() > 0


def test_float16_is_refused_for_linear_spectra():
    with pytest.raises(ConfigError, match=r"storage\.dtype = 'float16': holds log or dB features"):
        spectroprep.load_config(None, ["storage.dtype=float16", "spectrogram.scale=linear"])
    assert spectroprep.load_config(None, ["storage.dtype=float16", "spectrogram.scale=db"])


def test_a_dataset_json_from_before_the_feature_keys_still_opens(scenes, tmp_path):
    out = build(scenes, tmp_path / "ds")
    expected = all_features(out)
    info = json.loads((out / "dataset.json").read_text())
    added = ("n_mels", "fmin", "fmax", "mel_scale", "norm", "ref", "amin", "top_db", "precision")
    for key in added:
        del info["config"]["spectrogram"][key]
    del info["config"]["labels"]
    del info["statistics"]
    (out / "dataset.json").write_text(json.dumps(info))
    with spectroprep.open_dataset(out) as ds:
        spec = ds.params["spectrogram"]
        assert spec["n_mels"] == 0 and spec["precision"] == "float32"  # how those builds ran
        np.testing.assert_array_equal(ds.get_batch(np.arange(len(ds)))[0], expected)
    with pytest.raises(DatasetError, match="has no statistics to normalize with"):
        spectroprep.open_dataset(out, normalize=True)
