"""Audio headers and decoding of sample ranges, resampled to the target rate.

Decoding a range gives the same samples as decoding and resampling the whole
file and slicing it: the range is widened by the resampling filter's reach and
aligned to the filter's phase, then trimmed. So a shard task only decodes the
audio it needs, however long the source file is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .config import AudioConfig
from .errors import InputError

# PCM_16 is read as int16 and scaled in numpy: 3.6x faster than libsndfile's float path
# (PERFORMANCE.md) and the same values (libsndfile also divides by 2**15).
_INT16_SCALE = np.float32(2.0**-15)

# libsndfile's seek in these codecs can land some samples off (Vorbis: 48), so
# such files are decoded from their start and the head is discarded.
_INEXACT_SEEK = {"VORBIS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"}


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says."""

    frames: int
    sample_rate: int
    channels: int
    subtype: str

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> AudioInfo:
    """Read only the header of ``path``; raise InputError naming the file if unreadable
    or, for WAV, truncated."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot read audio header ({_reason(exc)})") from exc
    result = AudioInfo(int(info.frames), int(info.samplerate), int(info.channels), info.subtype)
    if info.format == "WAV":
        _check_wav_length(path, result)
    return result


# bytes per sample of the fixed-size WAV codings
_SAMPLE_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
_SIZE_UNKNOWN = (0, 0xFFFFFFFF)  # data sizes left by recorders that never finalised the file


def _check_wav_length(path: Path, info: AudioInfo) -> None:
    """Refuse a WAV file whose data chunk is shorter than its header says.

    libsndfile quietly reads such a file as shorter, so a cut-off copy would
    otherwise lose its end without a word.
    """
    width = _SAMPLE_BYTES.get(info.subtype)
    if width is None:
        return
    with path.open("rb") as f:
        head = f.read(1 << 16)
    pos = 12  # after "RIFF", the RIFF size and "WAVE"
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            promised = size // (width * info.channels)
            if size not in _SIZE_UNKNOWN and promised > info.frames:
                raise InputError(
                    f"{path}: truncated: the header promises {promised} frames, "
                    f"the file holds {info.frames}"
                )
            return
        pos += 8 + size + size % 2  # chunks are padded to an even size


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "error_string", None) or exc).strip()


def rate_ratio(rate_in: int, rate_out: int) -> tuple[int, int]:
    """(up, down) in lowest terms."""
    g = math.gcd(rate_in, rate_out)
    return rate_out // g, rate_in // g


def output_length(info: AudioInfo, rate_out: int) -> int:
    """Samples of the file after resampling to ``rate_out`` (resample_poly's ceil rule)."""
    up, down = rate_ratio(info.sample_rate, rate_out)
    return -(-info.frames * up // down)


def check_channels(path: Path, info: AudioInfo, audio: AudioConfig) -> None:
    """Raise InputError if the file has more channels than ``audio.max_channels``
    allows, or lacks the one ``audio.mono`` picks."""
    if audio.max_channels and info.channels > audio.max_channels:
        raise InputError(
            f"{path}: {info.channels} channels, more than audio.max_channels = {audio.max_channels}"
        )
    if audio.mono != "mean" and int(audio.mono) >= info.channels:
        raise InputError(
            f"{path}: audio.mono = {audio.mono} but the file has {info.channels} channel(s)"
        )


def _check_finite(path: Path, data: np.ndarray, first: int, rate: int) -> None:
    """Refuse NaN or infinite samples (float WAV/AIFF can hold them): they would make
    every feature of the window NaN."""
    bad = ~np.isfinite(data)
    if bad.any():
        frame = first + int(np.flatnonzero(bad.any(axis=1))[0])
        raise InputError(
            f"{path}: {int(bad.sum())} NaN or infinite sample(s), the first at {frame / rate:.3f} s"
        )


def _decode(path: Path, info: AudioInfo, start: int, stop: int, audio: AudioConfig) -> np.ndarray:
    """Frames [start, stop) of the file, mixed to one float32 channel."""
    check_channels(path, info, audio)
    mono = audio.mono
    as_int16 = info.subtype == "PCM_16"
    first = 0 if info.subtype in _INEXACT_SEEK else start
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(first)
            data = f.read(stop - first, dtype="int16" if as_int16 else "float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot decode audio ({_reason(exc)})") from exc
    if len(data) != stop - first:
        raise InputError(
            f"{path}: audio ends at frame {first + len(data)}, "
            f"but the header promises {info.frames} frames (truncated file?)"
        )
    data = data[start - first :]
    if not as_int16:
        _check_finite(path, data, start, info.sample_rate)
    if mono == "mean":
        samples = data[:, 0] if info.channels == 1 else data.mean(axis=1, dtype=np.float32)
    else:
        samples = data[:, int(mono)]
    samples = samples.astype(np.float32, copy=False)
    if as_int16:
        samples *= _INT16_SCALE
    return samples


def read_region(
    path: Path, info: AudioInfo, start: int, stop: int, audio: AudioConfig
) -> np.ndarray:
    """Mono float32 samples [start, stop) at ``audio.sample_rate``.

    ``start``/``stop`` count samples at the target rate and must lie within
    ``output_length(info, ...)``.
    """
    up, down = rate_ratio(info.sample_rate, audio.sample_rate)
    if up == down:
        return _decode(path, info, start, stop, audio)
    # resample_poly's filter reaches 10 * max(up, down) samples of the upsampled
    # signal either side; widen the range by that many input samples and start it
    # on a multiple of `down`, so every kept output sample sees the same inputs
    # with the same filter phase as in a whole-file resample.
    reach = -(-10 * max(up, down) // up) + 1
    first_in = max(0, (start * down // up - reach) // down * down)
    stop_in = min(info.frames, -(-stop * down // up) + reach)
    samples = _decode(path, info, first_in, stop_in, audio)
    # imported here: scipy.signal costs every worker process ~1 s, and most builds
    # never resample
    from scipy.signal import resample_poly

    resampled = resample_poly(samples, up, down)
    offset = first_in * up // down
    return np.asarray(resampled[start - offset : stop - offset], dtype=np.float32)
