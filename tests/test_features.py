import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from conftest import reference_default_power, write_audio

from spectroprep.config import load_config
from spectroprep.features.stft import feature_shape, spectrogram, standardize_rows
from spectroprep.features.tapers import taper

# the references compute in float64, and so do we where they must agree to 1e-5
# in every bin (the float32 default is judged in test_presets)
EXACT = "spectrogram.precision=float64"


def _windows_from_file(path, window):
    x, _ = sf.read(path, dtype="float32")
    n = len(x) // window
    return x[: n * window].reshape(n, window)


def test_seed_8k_equals_scipy_spectrogram_to_float32_precision(tmp_path):
    cfg = load_config("seed-8k")
    path = write_audio(tmp_path / "clip1.wav", 4.0, 8000, seed=11)
    windows = _windows_from_file(path, 8000)
    ours = spectrogram(windows, cfg.spectrogram, 8000)
    assert ours.shape == (4, 257, 400) and ours.dtype == np.float32
    for i, w in enumerate(windows.astype(np.float64)):
        x = (w - w.mean()) / w.std()
        # the recipe's call relied on scipy's defaults: spelled out here
        _, _, s = scipy.signal.spectrogram(
            x, fs=8000, window=("tukey", 0.25), nperseg=20, noverlap=0, nfft=512,
            detrend="constant", return_onesided=True, scaling="density", mode="psd",
        )  # fmt: skip
        np.testing.assert_allclose(ours[i], np.log(s + 1e-6), rtol=1e-5, atol=1e-5)


def test_default_equals_scipy_stft_power(tmp_path):
    cfg = load_config(None, [EXACT])
    path = write_audio(tmp_path / "clip2.flac", 3.0, 16000, seed=12)
    windows = _windows_from_file(path, 16000)
    ours = spectrogram(windows, cfg.spectrogram, 16000)
    assert ours.shape == (3, *feature_shape(16000, cfg.spectrogram)) == (3, 257, 101)
    power = reference_default_power(windows.astype(np.float64))
    # log(S + eps) in float32: compare S + eps to 1e-5 relative
    np.testing.assert_allclose(np.exp(ours.astype(np.float64)), power + 1e-6, rtol=1e-5)


def test_reflect_padding_matches_scipys_even_extension(tmp_path):
    cfg = load_config(None, [EXACT, "spectrogram.pad_mode=reflect", "spectrogram.scale=linear"])
    windows = _windows_from_file(write_audio(tmp_path / "c.wav", 2.0, 16000, seed=13), 16000)
    ours = spectrogram(windows, cfg.spectrogram, 16000)
    power = reference_default_power(windows.astype(np.float64), boundary="even")
    np.testing.assert_allclose(ours, power, rtol=1e-5, atol=1e-12 * power.max())


@pytest.mark.parametrize("scaling", ["density", "spectrum"])
def test_magnitude_and_scaling_match_scipy_spectrogram(tmp_path, scaling):
    overrides = [
        EXACT,
        "spectrogram.center=false",
        "spectrogram.power=1",
        "spectrogram.scale=linear",
        f"spectrogram.scaling={scaling}",
        "spectrogram.window=hamming",
    ]
    cfg = load_config(None, overrides)
    windows = _windows_from_file(write_audio(tmp_path / "c.wav", 2.0, 16000, seed=14), 16000)
    ours = spectrogram(windows, cfg.spectrogram, 16000)
    _, _, s = scipy.signal.spectrogram(
        windows.astype(np.float64),
        fs=16000,
        window="hamming",
        nperseg=400,
        noverlap=240,
        nfft=512,
        detrend=False,
        scaling=scaling,
    )
    assert ours.shape == s.shape == (2, 257, 98)
    np.testing.assert_allclose(ours, np.sqrt(s), rtol=1e-5, atol=1e-9 * np.sqrt(s).max())


def test_short_frames_use_the_dft_matrix_and_still_match_rfft():
    # win 32 of n_fft 512 takes the matrix route; the same frames through rfft must agree
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((5, 3200)).astype(np.float32)
    base = ["spectrogram.center=false", "spectrogram.hop_length=32", "spectrogram.scale=linear"]
    short = load_config(None, [*base, "spectrogram.win_length=32"]).spectrogram
    ours = spectrogram(windows, short, 16000)
    frames = windows.reshape(5, 100, 32).astype(np.float64) * scipy.signal.get_window("hann", 32)
    expected = np.abs(np.fft.rfft(frames, n=512, axis=-1)) ** 2
    np.testing.assert_allclose(
        ours, expected.transpose(0, 2, 1), rtol=1e-4, atol=1e-5 * expected.max()
    )


def test_standardize_handles_silence():
    x = np.zeros((2, 100), dtype=np.float32)
    x[1] = np.linspace(-1, 1, 100)
    s = x.copy()
    standardize_rows(s)
    assert not s[0].any()
    assert abs(s[1].mean()) < 1e-6 and abs(s[1].std() - 1) < 1e-5
    assert np.isfinite(
        spectrogram(x[:, :100].repeat(80, axis=1), load_config("seed-8k").spectrogram, 8000)
    ).all()


@pytest.mark.parametrize("window", ["hann", "hamming", ("tukey", 0.25), "blackman"])
@pytest.mark.parametrize("length", [1, 2, 20, 400, 401, 1024])
def test_tapers_equal_scipy_get_window(window, length):
    np.testing.assert_array_equal(taper(window, length), scipy.signal.get_window(window, length))


def test_a_worker_needs_no_scipy_signal_without_resampling():
    # scipy.signal is a ~1 s import that every build worker process would pay
    code = (
        "import sys, spectroprep.builder.tasks, spectroprep.cli.main; "
        "print(sorted(m for m in sys.modules if m.startswith('scipy.signal')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
