"""The numpy mel filterbank against librosa (the independent reference)."""

import librosa
import numpy as np
import pytest

from spectroprep.mel import hz_to_mel, mel_filterbank, mel_to_hz


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
