"""Audio as it comes from the field: MP3s whose header length is an estimate,
Vorbis/Opus seeks near the end, stereo at 44.1/48 kHz, hours-long recordings."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from conftest import build, decode_to_end, scene, strip_mp3_info_frame, write_blocks

import spectroprep
from spectroprep.config import AudioConfig
from spectroprep.errors import SpectroprepWarning
from spectroprep.ingest.audio.file import exact_length, output_length, probe, read_region
from spectroprep.ingest.segments import count_windows


def _stereo_scene(seconds: float, rate: int, seed: int) -> np.ndarray:
    """A recording-like stereo scene with a noise floor: libsndfile's MP3 encoder
    writes frames that mpg123 decodes inconsistently from digital silence."""
    left = scene(seconds, rate, seed)
    left += 1e-3 * np.random.default_rng(seed).standard_normal(len(left))
    return np.stack([left, 0.6 * np.roll(left, 37)], axis=1).astype(np.float32)


def _mp3_without_info_frame(path: Path, seconds: float, rate: int, start_level: float) -> Path:
    """A VBR MP3 with no Xing/Info frame: libsndfile estimates its length from the
    first frame's bitrate, far too long after a quiet start, too short after a loud one."""
    x = _stereo_scene(seconds, rate, seed=4)
    x[: 2 * rate] *= start_level
    write_blocks(path, x, rate, format="MP3")
    return strip_mp3_info_frame(path)


def test_an_mp3_whose_header_length_is_an_estimate_builds_every_decoded_frame(tmp_path):
    path = _mp3_without_info_frame(tmp_path / "audio" / "field.mp3", 12.0, 44100, 1e-5)
    header = probe(path)
    decoded = decode_to_end(path)
    assert header.estimated and header.frames > len(decoded) + 44100  # the estimate is wrong
    info = exact_length(path, header)
    assert info.frames == len(decoded) and not info.estimated

    out = build(tmp_path / "audio", tmp_path / "ds", jobs=2)
    ds = spectroprep.open_dataset(out)
    audio = AudioConfig(16000, "mean")
    samples = output_length(info, audio)
    assert len(ds) == count_windows(samples, 16000, 16000, "zero", 800)  # min_last 0.05 s
    # the windows hold the whole-file decode, resampled as a whole
    whole = soxr.resample(decoded.mean(axis=1), 44100, 16000)
    assert len(whole) == samples
    region = read_region(path, info, 0, samples, audio)
    np.testing.assert_allclose(region, whole, rtol=0, atol=1e-5)
    with (out / "manifest.csv").open() as f:
        assert [row["source"] for row in csv.DictReader(f)] == ["field.mp3"] * len(ds)


@pytest.mark.parametrize("junk", [b"", b"\0" * 35])  # junk at the end: frames decoded to count
def test_an_mp3_whose_estimate_is_too_short_warns_of_what_libsndfile_leaves_out(tmp_path, junk):
    path = _mp3_without_info_frame(tmp_path / "audio" / "loud.mp3", 12.0, 44100, 8.0)
    path.write_bytes(path.read_bytes() + junk)
    header = probe(path)
    assert header.estimated and header.frames < 10 * 44100  # from a loud first frame
    with pytest.warns(
        SpectroprepWarning,
        match=r"loud\.mp3: MP3 without a Xing/Info header: "
        r"libsndfile decodes \d+\.\d s of its 12\.\d s",
    ):
        out = build(tmp_path / "audio", tmp_path / "ds")
    samples = header.frames * 16000 // 44100
    assert len(spectroprep.open_dataset(out)) == count_windows(samples, 16000, 16000, "zero", 800)


@pytest.mark.parametrize(
    "subtype, rate", [("VORBIS", 44100), ("VORBIS", 48000), ("OPUS", 48000), ("OPUS", 16000)]
)
def test_ogg_regions_anywhere_equal_the_whole_file_decode(tmp_path, subtype, rate):
    x = _stereo_scene(25.0, rate, seed=2)
    x[int(12 * rate) : int(17 * rate)] = 0  # digital silence: long Ogg pages
    path = write_blocks(tmp_path / "take.ogg", x, rate, format="OGG", subtype=subtype)
    info = probe(path)
    assert 0 < info.seek_limit < info.frames
    whole = decode_to_end(path).mean(axis=1, dtype=np.float32)
    assert len(whole) == info.frames
    audio = AudioConfig(rate, "mean")
    rng = np.random.default_rng(0)
    starts = [*rng.integers(0, info.frames - 100, 25), info.seek_limit, info.frames - 1000]
    for start in starts:
        stop = min(info.frames, start + int(rng.integers(1, 3 * rate)))
        np.testing.assert_array_equal(
            read_region(path, info, start, stop, audio), whole[start:stop]
        )


def test_mp3_regions_anywhere_equal_the_whole_file_decode(tmp_path):
    path = write_blocks(tmp_path / "take.mp3", _stereo_scene(20.0, 48000, 5), 48000, format="MP3")
    info = probe(path)
    assert not info.estimated  # libsndfile's encoder writes an Info frame
    whole = decode_to_end(path).mean(axis=1, dtype=np.float32)
    assert len(whole) == info.frames
    audio = AudioConfig(48000, "mean")
    for start in np.random.default_rng(1).integers(0, info.frames - 100, 25):
        stop = min(info.frames, start + 40000)
        np.testing.assert_array_equal(
            read_region(path, info, start, stop, audio), whole[start:stop]
        )


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_stereo_is_mixed_from_blocks_exactly_as_the_channel_mean(tmp_path, ext):
    x = _stereo_scene(3.0, 44100, 6)
    path = tmp_path / f"stereo.{ext}"
    sf.write(path, x, 44100, subtype="PCM_16")
    info = probe(path)
    ours = read_region(path, info, 1000, info.frames, AudioConfig(44100, "mean"))
    theirs = sf.read(path, dtype="float32")[0].mean(axis=1, dtype=np.float32)
    np.testing.assert_array_equal(ours, theirs[1000:])


# jobs=1 runs the header pass and every shard task in the one process, whose peak
# RSS (VmHWM: ru_maxrss would count the forking test process's pages) is printed
_PEAK_RSS = """
import sys, warnings
import spectroprep
warnings.simplefilter("ignore")
spectroprep.build(sys.argv[1], sys.argv[2], jobs=1, overrides=sys.argv[3:])
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]))
"""


def _peak_rss_kb(audio: Path, out: Path) -> int:
    settings = [
        "audio.sample_rate=8000",
        "segment.length=4.0",
        "segment.hop=4.0",
        "spectrogram.n_mels=32",
        "storage.shard_examples=32",
    ]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(audio), str(out), *[f"{s}" for s in settings]],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return int(done.stdout.splitlines()[-1])


def test_memory_does_not_grow_with_a_files_length(tmp_path):
    """Hours-long FLAC, OGG and MP3 recordings (mostly quiet, to stay small) build with
    the same peak memory per process as ten-minute ones: regions are decoded in
    blocks and seeks land where they should, never decoding from the start."""
    rate = 16000
    minute = np.zeros((60 * rate, 2), dtype=np.float32)
    minute[: rate // 2] = _stereo_scene(0.5, rate, 3)
    peaks = {}
    for length, minutes in (("short", 10), ("long", 120)):
        folder = tmp_path / length
        x = np.tile(minute, (minutes, 1))
        write_blocks(folder / "rec.flac", x, rate, format="FLAC")
        mp3 = write_blocks(folder / "rec.mp3", minute, rate, format="MP3")
        strip_mp3_info_frame(mp3, repeat=minutes)  # no estimate-free header, chained frames
        # Vorbis is slow to encode: mono at 8 kHz (2 h of it would be 230 MB decoded at once)
        write_blocks(folder / "rec.ogg", x[::2, 0], rate // 2, format="OGG", subtype="VORBIS")
        peaks[length] = _peak_rss_kb(folder, tmp_path / f"{length}-ds")
    # the long files' audio, decoded at once, would be 1.1 GB of float32 stereo
    assert peaks["long"] - peaks["short"] < 40_000, peaks  # kB


@pytest.mark.parametrize("resampler, imported", [("soxr_hq", False), ("scipy", True)])
def test_no_process_of_a_build_imports_scipy_signal_unless_it_resamples_with_it(
    tmp_path, resampler, imported
):
    """``-X importtime`` reaches the fork server and the workers forked from it:
    their imports are listed on stderr with the parent's."""
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "take.flac", _stereo_scene(3.0, 44100, 1), 44100)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "spectroprep", "build", tmp_path / "audio",
         "--out", tmp_path / "ds", "--jobs", "2", "-q", "--set", f"audio.resampler={resampler}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "soxr" in modules or imported
    assert ("scipy.signal" in modules) == imported


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])  # MPEG-2.5, 2 and 1
@pytest.mark.parametrize("channels", [1, 2])
def test_counted_mp3_frames_equal_what_libsndfile_decodes(tmp_path, rate, channels):
    x = _stereo_scene(6.0, rate, seed=rate % 7)[:, :channels]
    x[: 2 * rate] *= 1e-5  # a quiet start: libsndfile's estimate is too long
    path = strip_mp3_info_frame(write_blocks(tmp_path / "take.mp3", x, rate, format="MP3"))
    decoded = len(decode_to_end(path))
    info = exact_length(path, probe(path))
    assert (info.frames, info.undecodable) == (decoded, 0)


def test_an_mp3_with_junk_between_frames_is_decoded_to_learn_its_length(tmp_path):
    path = strip_mp3_info_frame(
        write_blocks(tmp_path / "take.mp3", _stereo_scene(6.0, 44100, 3), 44100, format="MP3")
    )
    data = path.read_bytes()
    middle = len(data) // 2
    path.write_bytes(data[:middle] + b"\0" * 300 + data[middle:])  # frame count in doubt
    info = exact_length(path, probe(path))
    assert info.frames == len(decode_to_end(path)) and not info.estimated
