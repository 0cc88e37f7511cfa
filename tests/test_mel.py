"""The numpy mel filterbank against librosa (the independent reference)."""

import librosa
import numpy as np
import pytest
import soundfile as sf
from conftest import write_audio

import spectroprep
from spectroprep.features.melbank import hz_to_mel, mel_filterbank, mel_to_hz
from spectroprep.features.stft import spectrogram


@pytest.mark.parametrize("htk", [False, True])
def test_mel_scale_matches_librosa_and_inverts(htk):
    hz = np.array([0.0, 50.0, 440.0, 999.9, 1000.0, 1000.1, 4000.0, 14000.0, 22050.0])
    np.testing.assert_allclose(hz_to_mel(hz, htk), librosa.hz_to_mel(hz, htk=htk), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, htk), htk), hz, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "sample_rate, n_fft, n_mels, fmin, fmax, htk, norm",
    [
        (16000, 512, 64, 0.0, None, False, "slaney"),  # logmel-16k
        (32000, 1024, 64, 50.0, 14000.0, False, "slaney"),  # PANNs
        (16000, 400, 40, 20.0, 7600.0, True, None),  # HTK-style, unnormalised
        (22050, 2048, 128, 0.0, None, True, "slaney"),  # librosa's defaults with HTK
        (8000, 256, 23, 100.0, 3800.0, False, None),
    ],
)
def test_filterbank_equals_librosa(sample_rate, n_fft, n_mels, fmin, fmax, htk, norm):
    ours = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, htk, norm)
    theirs = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm
    )
    assert ours.shape == theirs.shape == (n_mels, n_fft // 2 + 1)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7 * theirs.max())
    assert (ours.sum(axis=1) > 0).all()  # no empty band for these settings


def test_the_cached_filterbank_cannot_be_changed():
    weights = mel_filterbank(16000, 512, 64)
    with pytest.raises(ValueError):
        weights[0, 0] = 1.0


@pytest.mark.parametrize(
    "overrides, librosa_kwargs",
    [
        ([], {}),
        (
            ["spectrogram.fmin=50.0", "spectrogram.fmax=7000.0", "spectrogram.mel_scale='htk'"],
            {"fmin": 50.0, "fmax": 7000.0, "htk": True},
        ),
        (["spectrogram.norm='none'", "spectrogram.power=1"], {"norm": None, "power": 1.0}),
    ],
)
def test_mel_spectrogram_equals_librosa_on_real_audio(tmp_path, overrides, librosa_kwargs):
    x, rate = sf.read(write_audio(tmp_path / "a.wav", 1.0, 16000, seed=3), dtype="float32")
    config = spectroprep.load_config(None, ["spectrogram.n_mels=64", *overrides])
    ours = spectrogram(x[None, :], config.spectrogram, rate)[0]
    kwargs = {"power": 2.0, **librosa_kwargs}
    theirs = librosa.feature.melspectrogram(
        y=x.astype(np.float64), sr=rate, n_fft=512, hop_length=160, win_length=400,
        window="hann", center=True, pad_mode="constant", n_mels=64, **kwargs,
    )  # fmt: skip
    assert ours.shape == theirs.shape == (64, 101)
    np.testing.assert_allclose(np.exp(ours.astype(np.float64)), theirs + 1e-6, rtol=1e-5)


def test_a_build_warns_of_mel_bands_no_fft_bin_falls_in(tmp_path):
    """400 bands over a 512-point FFT at 16 kHz: librosa finds the same empty filters."""
    import warnings

    from spectroprep.errors import SpectroprepWarning

    audio = tmp_path / "audio"
    write_audio(audio / "a.flac", 1.0, 44100, channels=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa's own warning about the same filters
        expected = int(
            (librosa.filters.mel(sr=16000, n_fft=512, n_mels=400).max(axis=1) == 0).sum()
        )
    with pytest.warns(SpectroprepWarning, match=rf"n_fft = 512: {expected} mel band\(s\) hold no"):
        spectroprep.build(audio, tmp_path / "ds", jobs=1, overrides=["spectrogram.n_mels=400"])
    assert expected == 95
