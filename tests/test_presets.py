"""The presets and the log / dB / linear scales against librosa and scipy.

Every reference call spells out its numbers rather than reading them from the
preset, so these tests also pin what each preset file says. The audio is a
recording-like scene written as 16-bit PCM and read back as float32, as the
build reads it; librosa computes in float64 from the same samples, so the
comparisons run our FFT in float64 too (``spectrogram.precision``); the
float32 default is judged against that below.
"""

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from click.testing import CliRunner
from conftest import scene

import spectroprep
from spectroprep.cli.main import cli
from spectroprep.features.stft import spectrogram


def scene_windows(tmp_path, rate, window, count, seed=0):
    """``count`` windows of ``window`` samples of a scene file, as float32."""
    path = tmp_path / f"scene-{rate}.wav"
    sf.write(path, scene(count * window / rate, rate, seed), rate, subtype="PCM_16")
    x, _ = sf.read(path, dtype="float32")
    return x[: count * window].reshape(count, window)


EXACT = "spectrogram.precision=float64"


def ours(windows, preset, rate, *overrides, precision=EXACT):
    """Our features of float32 windows, as float64; ``precision=None``: the preset's own."""
    config = spectroprep.load_config(preset, [p for p in (precision, *overrides) if p])
    return spectrogram(windows, config.spectrogram, rate).astype(np.float64)


def assert_power_equal(ours_power, theirs):
    """1e-5 relative in every bin (exact zeros, in digital silence, stay zero)."""
    assert ours_power.shape == theirs.shape
    np.testing.assert_allclose(ours_power, theirs, rtol=1e-5, atol=1e-12 * theirs.max())


def assert_db_equal(ours_db, theirs_db):
    """1e-5 relative; values within 1 dB of 0 dB to 1e-5 dB (2.3e-6 relative in power)."""
    np.testing.assert_allclose(ours_db, theirs_db, rtol=1e-5, atol=1e-5)


def librosa_mel(x, **kwargs):
    """librosa.feature.melspectrogram of float32 windows, computed from float64."""
    return librosa.feature.melspectrogram(y=x.astype(np.float64), window="hann", **kwargs)


def power_to_db_each(power, **kwargs):
    """librosa.power_to_db of each example on its own (top_db and ref="max" are per call)."""
    return np.stack([librosa.power_to_db(p, **kwargs) for p in power])


def test_default_equals_librosa_stft_power_and_log(tmp_path):
    x = scene_windows(tmp_path, 16000, 16000, 4)
    stft = librosa.stft(
        x.astype(np.float64), n_fft=512, hop_length=160, win_length=400,
        window="hann", center=True, pad_mode="constant",
    )  # fmt: skip
    theirs = np.abs(stft) ** 2
    assert theirs.shape == (4, 257, 101)
    assert_power_equal(ours(x, "default", 16000, "spectrogram.scale=linear"), theirs)
    np.testing.assert_allclose(
        np.exp(ours(x, "default", 16000)), theirs + 1e-6, rtol=1e-5
    )  # log(S + eps), judged as S + eps


def test_logmel_16k_equals_librosa_melspectrogram_and_power_to_db(tmp_path):
    x = scene_windows(tmp_path, 16000, 16000, 4, seed=1)
    theirs = librosa_mel(
        x, sr=16000, n_fft=512, hop_length=160, win_length=400, center=True,
        pad_mode="constant", power=2.0, n_mels=64, fmin=0.0, fmax=8000.0, htk=False,
        norm="slaney",
    )  # fmt: skip
    assert theirs.shape == (4, 64, 101)
    assert_power_equal(ours(x, "logmel-16k", 16000, "spectrogram.scale=linear"), theirs)
    db = power_to_db_each(theirs, ref=1.0, amin=1e-10, top_db=80.0)
    assert (db == db.max(axis=(1, 2), keepdims=True) - 80).any()  # the floor is exercised
    assert_db_equal(ours(x, "logmel-16k", 16000), db)


def test_panns_32k_equals_librosa_melspectrogram_and_power_to_db(tmp_path):
    x = scene_windows(tmp_path, 32000, 320000, 2, seed=2)
    theirs = librosa_mel(
        x, sr=32000, n_fft=1024, hop_length=320, win_length=1024, center=True,
        pad_mode="reflect", power=2.0, n_mels=64, fmin=50.0, fmax=14000.0, htk=False,
        norm="slaney",
    )  # fmt: skip
    assert theirs.shape == (2, 64, 1001)
    assert_power_equal(ours(x, "panns-32k", 32000, "spectrogram.scale=linear"), theirs)
    db = power_to_db_each(theirs, ref=1.0, amin=1e-10, top_db=None)
    assert db.min() == -100.0  # digital silence reaches amin: no top_db floor
    assert_db_equal(ours(x, "panns-32k", 32000), db)


def test_speech_commands_equals_scipy_frames_and_librosa_filters(tmp_path):
    # uncentred 480-sample frames every 160 (TensorFlow's framing: 98 per second),
    # 40 HTK mel filters over 20-4000 Hz without area normalisation on the magnitude
    x = scene_windows(tmp_path, 16000, 16000, 3, seed=3)
    _, _, z = scipy.signal.stft(
        x.astype(np.float64), window="hann", nperseg=480, noverlap=320, nfft=512,
        detrend=False, return_onesided=True, boundary=None, padded=False, scaling="spectrum",
    )  # fmt: skip
    magnitude = np.abs(z) * scipy.signal.get_window("hann", 480).sum()
    theirs = librosa.feature.melspectrogram(
        S=magnitude, sr=16000, n_fft=512, n_mels=40, fmin=20.0, fmax=4000.0, htk=True, norm=None
    )
    assert theirs.shape == (3, 40, 98)
    assert_power_equal(ours(x, "speech-commands", 16000, "spectrogram.scale=linear"), theirs)
    np.testing.assert_allclose(np.exp(ours(x, "speech-commands", 16000)), theirs + 1e-12, rtol=1e-5)


@pytest.mark.parametrize(
    "overrides, to_db",
    [
        (["spectrogram.ref='max'"], lambda s: power_to_db_each(s, ref=np.max, top_db=80.0)),
        (
            ["spectrogram.ref=2.5", "spectrogram.amin=1e-5", "spectrogram.top_db=40"],
            lambda s: power_to_db_each(s, ref=2.5, amin=1e-5, top_db=40.0),
        ),
        (
            ["spectrogram.top_db=0", "spectrogram.amin=1e-3"],
            lambda s: power_to_db_each(s, ref=1.0, amin=1e-3, top_db=None),
        ),
    ],
)
def test_db_options_follow_power_to_db(tmp_path, overrides, to_db):
    x = scene_windows(tmp_path, 16000, 16000, 3, seed=4)
    power = ours(x, "logmel-16k", 16000, "spectrogram.scale=linear")
    assert_db_equal(ours(x, "logmel-16k", 16000, *overrides), to_db(power))


def test_db_of_a_magnitude_spectrum_follows_amplitude_to_db(tmp_path):
    x = scene_windows(tmp_path, 16000, 16000, 3, seed=5)
    magnitude = ours(x, "logmel-16k", 16000, "spectrogram.power=1", "spectrogram.scale=linear")
    theirs = np.stack(
        [librosa.amplitude_to_db(m, ref=2.0, amin=1e-5, top_db=60.0) for m in magnitude]
    )
    overrides = ["spectrogram.power=1", "spectrogram.ref=2.0", "spectrogram.top_db=60"]
    db = ours(x, "logmel-16k", 16000, "spectrogram.amin=1e-5", *overrides)
    assert_db_equal(db, theirs)
    mel = librosa_mel(
        x, sr=16000, n_fft=512, hop_length=160, win_length=400, center=True,
        pad_mode="constant", power=1.0, n_mels=64,
    )  # fmt: skip
    assert_power_equal(magnitude, mel)


@pytest.mark.parametrize(
    "overrides, kwargs",
    [
        ([], {"ref": 1.0, "top_db": 80.0}),
        (["spectrogram.ref='max'"], {"ref": np.max, "top_db": 80.0}),
        (["spectrogram.ref='max'", "spectrogram.top_db=0"], {"ref": np.max, "top_db": None}),
        (["spectrogram.top_db=0"], {"ref": 1.0, "top_db": None}),
    ],
)
def test_a_silent_example_is_finite_and_as_librosa_scales_it(tmp_path, overrides, kwargs):
    x = scene_windows(tmp_path, 16000, 16000, 2, seed=7)
    x[1] = 0  # digital silence for a whole window
    power = ours(x, "logmel-16k", 16000, "spectrogram.scale=linear")
    assert not power[1].any()
    db = ours(x, "logmel-16k", 16000, *overrides)
    assert_db_equal(db, power_to_db_each(power, amin=1e-10, **kwargs))
    assert np.isfinite(db).all() and (db[1] == db[1, 0, 0]).all()
    log = ours(x, "default", 16000)
    assert np.isfinite(log).all() and (log[1] == np.float32(np.log(np.float32(1e-6)))).all()


@pytest.mark.parametrize("preset", ["default", "logmel-16k"])
def test_the_float32_default_stays_within_a_millionth_of_each_peak(tmp_path, preset):
    x = scene_windows(tmp_path, 16000, 16000, 4, seed=6)
    exact = ours(x, preset, 16000, "spectrogram.scale=linear")
    fast = ours(x, preset, 16000, "spectrogram.scale=linear", precision=None)
    assert spectroprep.load_config(preset).spectrogram.precision == "float32"
    peaks = exact.max(axis=(1, 2), keepdims=True)
    assert np.abs(fast - exact).max() > 0  # a different computation
    assert (np.abs(fast - exact) <= 1e-6 * peaks).all()


@pytest.mark.parametrize(
    "preset, rate, seconds, shape",
    [
        ("default", 16000, 2.5, (257, 101)),
        ("seed-8k", 8000, 2.5, (257, 400)),
        ("logmel-16k", 16000, 2.5, (64, 101)),
        ("panns-32k", 32000, 12.0, (64, 1001)),
        ("speech-commands", 16000, 0.7, (40, 98)),
    ],
)
def test_every_preset_builds_by_name(tmp_path, preset, rate, seconds, shape):
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a.wav", scene(seconds, rate), rate, subtype="PCM_16")
    sf.write(audio / "b.flac", scene(seconds, 44100, seed=1), 44100)  # resampled
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        cli, ["build", str(audio), "--out", str(out), "--config", preset, "--jobs", "2"]
    )
    assert result.exit_code == 0, result.output
    with spectroprep.open_dataset(out) as ds:
        assert ds.shape == shape
        assert ds.params == spectroprep.load_config(preset).to_dict()
        x, _ = ds.get_batch(np.arange(len(ds)))
    assert np.isfinite(x).all()
    windows = len(x) // 2
    assert windows == max(1, int(np.ceil(seconds / ds.config.segment.length)))
