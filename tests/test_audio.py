from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import reference_audio, signal, write_audio

from spectroprep.config import AudioConfig
from spectroprep.errors import InputError
from spectroprep.ingest.audio.file import output_length, probe, read_region


@pytest.mark.parametrize(
    "rate, target, ext",
    [
        (16000, 16000, "wav"),
        (44100, 16000, "flac"),
        (8000, 16000, "wav"),
        (22050, 16000, "wav"),
        (48000, 8000, "flac"),
        (11025, 32000, "wav"),
    ],
)
@pytest.mark.parametrize("resampler", ["soxr_hq", "soxr_vhq", "scipy"])
def test_any_region_equals_the_same_slice_of_a_whole_file_resample(
    tmp_path, rate, target, ext, resampler
):
    path = write_audio(tmp_path / f"clip.{ext}", 3.3, rate, seed=7)
    info = probe(path)
    whole = reference_audio(path, target, resampler)
    audio = AudioConfig(sample_rate=target, mono="mean", resampler=resampler)
    assert output_length(info, audio) == len(whole)
    n = len(whole)
    for start, stop in [(0, n), (0, 1000), (1234, 5678), (n // 2, n), (n - 3, n), (777, 778)]:
        region = read_region(path, info, start, stop, audio)
        assert region.dtype == np.float32
        np.testing.assert_allclose(region, whole[start:stop], atol=2e-6)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
@pytest.mark.parametrize("target", [44100, 16000])
def test_a_region_is_exactly_the_same_slice_of_a_whole_file_read(tmp_path, ext, target):
    # 20 s of Vorbis: libsndfile's seek into the last page lands 48 samples off
    path = write_audio(tmp_path / f"long.{ext}", 20.0, 44100, seed=9)
    info = probe(path)
    audio = AudioConfig(sample_rate=target, mono="mean")
    n = output_length(info, audio)
    whole = read_region(path, info, 0, n, audio)
    spans = [(n - 4410, n), (n // 3, n // 3 + 999), (7, 4000), (n - 1, n)]
    for start, stop in [*spans, (262000, 262400)]:  # the last across a resampling block
        np.testing.assert_array_equal(
            read_region(path, info, start, stop, audio), whole[start:stop]
        )


def test_pcm16_fast_path_gives_libsndfiles_float_values(tmp_path):
    path = write_audio(tmp_path / "clip.wav", 0.5, 16000, seed=1)
    info = probe(path)
    assert info.subtype == "PCM_16"
    ours = read_region(path, info, 0, info.frames, AudioConfig(16000, "mean"))
    theirs, _ = sf.read(path, dtype="float32")
    np.testing.assert_array_equal(ours, theirs)


def test_stereo_is_mixed_by_mean_or_a_channel_is_picked(tmp_path):
    path = write_audio(tmp_path / "stereo.flac", 0.5, 16000, channels=2, seed=2)
    info = probe(path)
    assert info.channels == 2
    data, _ = sf.read(path, dtype="float32")
    mean = read_region(path, info, 0, info.frames, AudioConfig(16000, "mean"))
    right = read_region(path, info, 0, info.frames, AudioConfig(16000, 1))
    np.testing.assert_allclose(mean, data.mean(axis=1), atol=1e-7)
    np.testing.assert_array_equal(right, data[:, 1])
    with pytest.raises(InputError, match=r"stereo\.flac: audio\.mono = 2 but the file has 2"):
        read_region(path, info, 0, 10, AudioConfig(16000, 2))


def test_float_wav_is_read_as_written(tmp_path):
    path = write_audio(tmp_path / "float.wav", 0.25, 8000, subtype="FLOAT", seed=3)
    info = probe(path)
    ours = read_region(path, info, 100, 900, AudioConfig(8000, "mean"))
    np.testing.assert_allclose(ours, signal(0.25, 8000, 3)[100:900], atol=1e-7)


def test_unreadable_header_names_the_file(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(InputError, match=r"notes\.wav: cannot read audio header"):
        probe(bad)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.flac: empty file \(0 bytes\)$"):
        probe(empty)


def test_truncated_file_is_reported_when_decoded(tmp_path: Path):
    path = write_audio(tmp_path / "cut.wav", 1.0, 16000)
    info = probe(path)
    path.write_bytes(path.read_bytes()[: 44 + 2 * 8000])  # header still promises 16000 frames
    with pytest.raises(InputError, match=r"cut\.wav: audio ends at frame 8000.*16000 frames"):
        read_region(path, info, 0, 16000, AudioConfig(16000, "mean"))
