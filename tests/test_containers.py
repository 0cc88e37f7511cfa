"""Cut-off audio files are refused in the header pass, for every container with a
size field: libsndfile itself reads them as shorter files without a word."""

from __future__ import annotations

import contextlib
import csv
import random
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import soundfile as sf
from conftest import signal, write_audio

import spectroprep
from spectroprep.errors import InputError
from spectroprep.ingest.audio.containers import check_length
from spectroprep.ingest.audio.file import probe

SECONDS = 0.5
WIDTH = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}
W64_DATA = b"data\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"


class Case(NamedTuple):
    container: str
    subtype: str
    channels: int
    rate: int
    ext: str
    endian: str = "FILE"

    @property
    def frames(self) -> int:
        return int(round(SECONDS * self.rate))

    @property
    def audio_bytes(self) -> int:
        return self.frames * self.channels * WIDTH[self.subtype]


CASES = [
    Case("WAV", "PCM_16", 1, 44100, "wav"),
    Case("WAV", "PCM_24", 2, 48000, "wav"),
    Case("WAV", "PCM_16", 2, 44100, "wav", "BIG"),  # RIFX
    Case("WAVEX", "PCM_16", 2, 44100, "wav"),
    Case("WAVEX", "FLOAT", 1, 48000, "wav"),
    Case("RF64", "PCM_24", 2, 48000, "rf64"),
    Case("RF64", "FLOAT", 1, 44100, "rf64"),
    Case("W64", "PCM_16", 1, 48000, "w64"),
    Case("W64", "FLOAT", 2, 44100, "w64"),
    Case("AIFF", "PCM_16", 2, 44100, "aiff"),
    Case("AIFF", "PCM_24", 1, 48000, "aiff"),
    Case("AIFF", "FLOAT", 2, 48000, "aifc"),  # float needs AIFC
    Case("CAF", "PCM_24", 1, 44100, "caf"),
    Case("CAF", "FLOAT", 2, 48000, "caf"),
    Case("AU", "PCM_16", 2, 48000, "au"),
    Case("AU", "FLOAT", 1, 44100, "au"),
    Case("AU", "PCM_16", 1, 44100, "au", "LITTLE"),  # DEC's "dns."
]
IDS = [f"{c.container}-{c.subtype}-{c.channels}ch-{c.rate}-{c.endian}" for c in CASES]


def write(folder: Path, case: Case, name: str = "clip") -> Path:
    path = folder / f"{name}.{case.ext}"
    x = signal(SECONDS, case.rate, seed=3, channels=case.channels)
    sf.write(path, x, case.rate, case.subtype, case.endian, case.container)
    return path


def cut(path: Path, removed: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - removed])


def patch(path: Path, offset: int, value: bytes) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    path.write_bytes(bytes(data))


def unknown_size(path: Path, container: str) -> None:
    """Set the audio size field to what a recorder leaves when it never finalises the file."""
    data = path.read_bytes()
    if container in ("WAV", "WAVEX"):
        patch(path, data.index(b"data") + 4, b"\xff" * 4)
    elif container == "RF64":  # libsndfile refuses an all-ones ds64 size, reads 0 as empty
        patch(path, data.index(b"ds64") + 16, b"\0" * 8)
    elif container == "W64":
        patch(path, data.index(W64_DATA) + 16, b"\xff" * 8)
    elif container == "AIFF":
        patch(path, data.index(b"SSND") + 4, b"\xff" * 4)
    elif container == "CAF":
        patch(path, data.index(b"data") + 4, b"\xff" * 8)  # -1
    else:
        patch(path, 8, b"\xff" * 4)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_intact_file_passes_with_every_frame(tmp_path, case):
    path = write(tmp_path, case)
    assert sf.info(str(path)).format == case.container
    assert probe(path).frames == case.frames


def test_float_aiff_is_written_as_aifc(tmp_path):
    path = write(tmp_path, CASES[IDS.index("AIFF-FLOAT-2ch-48000-FILE")])
    assert path.read_bytes()[8:12] == b"AIFC"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_file_cut_mid_data_is_refused_with_both_byte_counts(tmp_path, case):
    path = write(tmp_path, case)
    removed = 1001  # mid-frame, and small enough for libsndfile to open a cut CAF
    cut(path, removed)
    holds = sf.info(str(path)).frames
    assert holds < case.frames  # libsndfile alone would not notice
    promised = case.audio_bytes
    with pytest.raises(InputError) as error:
        probe(path)
    assert str(error.value) == (
        f"{path}: truncated: the header promises {case.frames} frames, the file holds "
        f"{holds} ({promised} bytes of audio promised, {promised - removed} found)"
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_file_cut_in_half_is_refused(tmp_path, case):
    path = write(tmp_path, case)
    cut(path, case.audio_bytes // 2)
    # libsndfile refuses a CAF cut by more than its header's length on its own
    reason = "cannot read audio header" if case.container == "CAF" else "truncated"
    with pytest.raises(InputError, match=rf"clip\.{case.ext}: {reason}"):
        probe(path)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_unknown_size_is_accepted_whole_or_cut(tmp_path, case):
    path = write(tmp_path, case)
    unknown_size(path, case.container)
    if case.container == "CAF":  # libsndfile refuses a data size of -1: check it alone
        check_length(path, "CAF", case.subtype, case.channels, case.frames)
        cut(path, case.audio_bytes // 2)
        check_length(path, "CAF", case.subtype, case.channels, case.frames // 2)
        return
    probe(path)
    cut(path, case.audio_bytes // 2)
    probe(path)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_trailing_bytes_after_the_audio_are_not_refused(tmp_path, case):
    path = write(tmp_path, case)
    path.write_bytes(path.read_bytes() + b"LIST\x0c\0\0\0INFOjunk1234")
    assert probe(path).frames >= case.frames  # libsndfile reads W64's junk as audio


def test_a_wav_cut_in_a_list_chunk_after_its_data_is_accepted(tmp_path):
    path = write_audio(tmp_path / "clip.wav", SECONDS, 44100)
    info = b"INFOISFT\x0e\0\0\0spectroprep 1\0"
    data = path.read_bytes() + b"LIST" + len(info).to_bytes(4, "little") + info
    data = data[:4] + (len(data) - 8).to_bytes(4, "little") + data[8:]  # the RIFF size
    path.write_bytes(data)
    assert probe(path).frames == 22050
    cut(path, 10)  # the LIST chunk is short, the audio whole
    assert probe(path).frames == 22050


@pytest.mark.parametrize("subtype", ["IMA_ADPCM", "GSM610"])
def test_variable_size_codings_are_not_checked(tmp_path, subtype):
    path = write_audio(tmp_path / "clip.wav", 1.0, 8000, subtype=subtype)
    cut(path, path.stat().st_size // 2)
    assert probe(path).frames < 8000  # bytes do not map to frames: left to the decoder


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_malformed_headers_raise_nothing_but_input_error(tmp_path, case):
    path = write(tmp_path, case)
    clean = path.read_bytes()
    header = len(clean) - case.audio_bytes
    rng = random.Random(str(case))
    for _ in range(200):
        data = bytearray(clean)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(header)] = rng.choice([0, 0xFF, rng.randrange(256)])
        path.write_bytes(bytes(data[: rng.choice([len(data), rng.randrange(len(data))])]))
        with contextlib.suppress(InputError):  # a refusal is fine, a crash is not
            check_length(path, case.container, case.subtype, case.channels, case.frames // 2)


def test_a_truncated_wavex_is_skipped_and_listed_in_rejected_csv(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    write_audio(audio / "good.wav", 1.5, 16000)
    wavex = Case("WAVEX", "PCM_16", 1, 16000, "wav")
    cut(write(audio, wavex, "cut"), 6000)
    out = spectroprep.build(audio, tmp_path / "ds", jobs=1, on_error="skip")
    with (out / "rejected.csv").open(newline="", encoding="utf-8") as f:
        rejected = {row["path"]: row["reason"] for row in csv.DictReader(f)}
    assert rejected == {
        "cut.wav": "truncated: the header promises 8000 frames, the file holds 5000 "
        "(16000 bytes of audio promised, 10000 found)"
    }
    dataset = spectroprep.open_dataset(out)
    assert len(dataset) == 2 and np.isfinite(dataset[0][0]).all()
