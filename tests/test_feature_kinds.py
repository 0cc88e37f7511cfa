"""The feature-kind seam: ``spectrogram.kind`` picks a kind from a registry; mel is
one kind among others, a kind defined in this file builds like the built-in ones,
and datasets written before the key existed still open."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import build, write_audio

import spectroprep
from spectroprep.config import SpectrogramConfig, load_config
from spectroprep.errors import ConfigError
from spectroprep.plugins import FEATURE_KINDS
from spectroprep.read.summary import summarize
from spectroprep.verify import verify

LINEAR = ["spectrogram.scale=linear"]


def rows(spec: SpectrogramConfig) -> int:
    return 2


def check(spec: SpectrogramConfig, sample_rate: int) -> None:
    if spec.n_mels:
        raise ConfigError("spectrogram.n_mels: not for kind 'halves'")


def projection(spec: SpectrogramConfig, sample_rate: int):
    """The power of the lower and of the upper half of the FFT bins."""
    middle = spec.n_fft // 4

    def project(power: np.ndarray, out: np.ndarray) -> None:
        out[:, 0] = power[..., :middle].sum(axis=-1)
        out[:, 1] = power[..., middle:].sum(axis=-1)

    return project


def describe(spec: SpectrogramConfig) -> str:
    return "2 half-bands"


# module-level functions: the kind pickles by reference, to the workers
HALVES = SimpleNamespace(rows=rows, check=check, projection=projection, describe=describe)


@pytest.fixture
def halves():
    FEATURE_KINDS.register("halves", HALVES)
    yield HALVES
    FEATURE_KINDS.unregister("halves")


@pytest.fixture
def audio(tmp_path):
    root = tmp_path / "audio"
    write_audio(root / "a" / "one.wav", 2.0, 16000, seed=1)
    write_audio(root / "b" / "two.flac", 1.5, 44100, seed=2, channels=2)
    return root


def test_a_kind_defined_here_builds_on_worker_processes(halves, audio, tmp_path):
    ours = build(
        audio,
        tmp_path / "halves",
        labels_from_folders=True,
        overrides=[*LINEAR, "spectrogram.kind=halves"],
        jobs=2,
    )
    linear = build(audio, tmp_path / "linear", labels_from_folders=True, overrides=LINEAR)
    with spectroprep.open_dataset(ours) as a, spectroprep.open_dataset(linear) as b:
        assert a.config.spectrogram.kind == "halves" and a.shape == (2, b.shape[1])
        x, y = a.get_batch(range(len(a)))
        spectra = b.get_batch(range(len(b)))[0].astype(np.float64)
        middle = 512 // 4
        expected = np.stack([spectra[:, :middle].sum(1), spectra[:, middle:].sum(1)], axis=1)
        np.testing.assert_allclose(x, expected, rtol=2e-5)
        np.testing.assert_array_equal(y, b.labels)
    assert verify(ours).ok
    assert summarize(spectroprep.open_dataset(ours))["frequency"] == "2 half-bands"
    assert json.loads((ours / "dataset.json").read_text())["config"]["spectrogram"]["kind"] == (
        "halves"
    )


def test_a_dataset_of_an_unregistered_kind_names_the_known_ones(halves, audio, tmp_path):
    out = build(audio, tmp_path / "ds", overrides=["spectrogram.kind=halves"])
    FEATURE_KINDS.unregister("halves")
    with pytest.raises(ConfigError, match=r"spectrogram\.kind = 'halves': must be one of"):
        spectroprep.open_dataset(out)
    FEATURE_KINDS.register("halves", HALVES)


def test_auto_is_what_configs_before_the_key_meant(audio, tmp_path):
    assert load_config().spectrogram.kind == "linear"
    assert load_config(None, ["spectrogram.n_mels=40"]).spectrogram.kind == "mel"
    assert load_config("logmel-16k").spectrogram.kind == "mel"
    out = build(audio, tmp_path / "mel", overrides=["spectrogram.n_mels=40"])
    info = json.loads((out / "dataset.json").read_text())
    del info["config"]["spectrogram"]["kind"]  # as datasets built before the key hold it
    (out / "dataset.json").write_text(json.dumps(info))
    with spectroprep.open_dataset(out) as ds:
        assert ds.config.spectrogram.kind == "mel" and ds.shape[0] == 40


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["spectrogram.kind=linear", "spectrogram.n_mels=64"], r"mel bands need kind = 'mel'"),
        (["spectrogram.kind=mel"], r"kind = 'mel' needs mel bands"),
        (["spectrogram.kind=mfcc"], r"spectrogram\.kind = 'mfcc': must be one of 'linear', 'mel'"),
    ],
)
def test_a_kind_that_does_not_fit_its_settings_is_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)
