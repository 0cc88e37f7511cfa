"""Audio headers, and ranges of samples decoded and resampled to the target rate.

Decoding a range gives the same samples as decoding and resampling the whole
file and slicing it (up to float rounding in the resampler): see ``resample``.
So a shard task only decodes the audio it needs, however long the source file is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ...config import AudioConfig
from ...errors import InputError
from .containers import check_length
from .decode import decode_mono, libsndfile_reason
from .resample import input_span, rate_ratio, resampler
from .streams import (
    MPEG_SUBTYPES,
    OGG_SUBTYPES,
    decoded_frames,
    mpeg_length_is_estimate,
    mpeg_stream_frames,
    ogg_seek_limit,
)


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says, with what its bytes correct."""

    frames: int
    sample_rate: int
    channels: int
    subtype: str
    seek_limit: int | None = None  # seeks to frames up to this land exactly; None: any
    estimated: bool = False  # ``frames`` is an estimate: ``exact_length`` finds it
    undecodable: int = 0  # frames in the stream past where libsndfile stops decoding

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> AudioInfo:
    """Read only the header of ``path``; raise InputError naming the file if unreadable
    or truncated."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        if _is_empty(path):  # libsndfile calls it "Format not recognised"
            raise InputError(f"{path}: empty file (0 bytes)") from exc
        raise InputError(f"{path}: cannot read audio header ({libsndfile_reason(exc)})") from exc
    result = AudioInfo(int(info.frames), int(info.samplerate), int(info.channels), info.subtype)
    check_length(path, info.format, info.subtype, result.channels, result.frames)
    try:
        if info.subtype in OGG_SUBTYPES:
            limit = ogg_seek_limit(path, info.subtype, result.sample_rate)
            result = dataclasses.replace(result, seek_limit=limit)
        elif info.subtype in MPEG_SUBTYPES:
            result = dataclasses.replace(result, estimated=mpeg_length_is_estimate(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    return result


def exact_length(path: Path, info: AudioInfo) -> AudioInfo:
    """``info`` with the number of frames the MP3 really decodes to: its frames
    counted, or when they do not run cleanly to the end, the file decoded.

    libsndfile stops at its estimate when that is too short: the frames of the
    stream past it are counted in ``undecodable``.
    """
    try:
        counted, whole = mpeg_stream_frames(path)
        frames = min(counted, info.frames) if whole else decoded_frames(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot decode audio ({libsndfile_reason(exc)})") from exc
    # libsndfile stopped at its estimate if it decoded exactly that much
    lost = counted - frames if frames == info.frames else 0
    return dataclasses.replace(info, frames=frames, estimated=False, undecodable=max(0, lost))


def output_length(info: AudioInfo, audio: AudioConfig) -> int:
    """Samples of the file after resampling to ``audio.sample_rate``."""
    up, down = rate_ratio(info.sample_rate, audio.sample_rate)
    if up == down:
        return info.frames
    return resampler(audio.resampler).length(info.frames, up, down)


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


def _decode(path: Path, info: AudioInfo, start: int, stop: int, audio: AudioConfig) -> np.ndarray:
    check_channels(path, info, audio)
    return decode_mono(
        path,
        info.subtype,
        info.channels,
        info.sample_rate,
        start,
        stop,
        audio.mono,
        seek_limit=info.frames if info.seek_limit is None else info.seek_limit,
        promised=info.frames,
    )


def read_region(
    path: Path, info: AudioInfo, start: int, stop: int, audio: AudioConfig
) -> np.ndarray:
    """Mono float32 samples [start, stop) at ``audio.sample_rate``.

    ``start``/``stop`` count samples at the target rate and must lie within
    ``output_length(info, audio)``.
    """
    up, down = rate_ratio(info.sample_rate, audio.sample_rate)
    if up == down:
        return _decode(path, info, start, stop, audio)
    chosen = resampler(audio.resampler)
    spans = [
        (lo, hi, *input_span(chosen, lo, hi, up, down, info.frames))
        for lo, hi in _resample_blocks(start, stop)
    ]
    first_in, stop_in = spans[0][2], spans[-1][3]
    samples = _decode(path, info, first_in, stop_in, audio)
    out = np.empty(stop - start, dtype=np.float32)
    for lo, hi, block_in, block_stop in spans:
        part = samples[block_in - first_in : block_stop - first_in]
        resampled = chosen.resample(part, info.sample_rate, audio.sample_rate)
        offset = block_in * up // down
        keep_lo, keep_hi = max(lo, start), min(hi, stop)
        out[keep_lo - start : keep_hi - start] = resampled[keep_lo - offset : keep_hi - offset]
    return out


# Output samples resampled in one call. The blocks sit at fixed places in the
# file's timeline, so a sample's value never depends on which region asked for
# it (libsoxr's block convolution rounds differently at other offsets): a build
# and verify --recompute get the same bits.
_RESAMPLE_BLOCK = 1 << 18  # 16 s at 16 kHz: the cheapest size per sample (docs/performance.md)


def _resample_blocks(start: int, stop: int) -> list[tuple[int, int]]:
    """The fixed output blocks [lo, hi) that cover [start, stop)."""
    first, last = start // _RESAMPLE_BLOCK, (stop - 1) // _RESAMPLE_BLOCK
    return [(b * _RESAMPLE_BLOCK, (b + 1) * _RESAMPLE_BLOCK) for b in range(first, last + 1)]


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
