"""Decoding a range of frames to one float32 channel, a block at a time.

Blocks keep a worker's memory to the range it needs whatever the file's length,
and each block is mixed as it arrives, so the interleaved multi-channel samples
never exist at full length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ...errors import InputError

# PCM_16 is read as int16 and scaled in numpy: several times faster than
# libsndfile's float path, with the same values (libsndfile also divides by 2**15)
_INT16_SCALE = np.float32(2.0**-15)
_BLOCK = 1 << 16  # frames per read


def libsndfile_reason(exc: BaseException) -> str:
    return str(getattr(exc, "error_string", None) or exc).strip()


def decode_mono(
    path: Path,
    subtype: str,
    channels: int,
    rate: int,
    start: int,
    stop: int,
    mono: str | int,
    *,
    seek_limit: int,
    promised: int,
) -> np.ndarray:
    """Frames [start, stop) of the file as float32, channels mixed by ``mono``
    ("mean", or the index of the one channel to keep).

    A seek goes no further than ``seek_limit`` (where the codec's seek stops being
    exact); the frames between are decoded and dropped. ``promised`` is the
    file's length for the message when the audio ends early.
    """
    as_int16 = subtype == "PCM_16"
    dtype = np.int16 if as_int16 else np.float32
    out = np.empty(stop - start, dtype=np.float32)
    first = min(start, seek_limit)
    block = np.empty((min(_BLOCK, max(stop - first, 1)), channels), dtype=dtype)
    try:
        with sf.SoundFile(str(path)) as f:
            if first:
                f.seek(first)
            pos = first
            while pos < stop:
                want = min(len(block), stop - pos)
                got = f.read(want, dtype=block.dtype.name, out=block[:want])
                if len(got) < want:
                    raise InputError(
                        f"{path}: audio ends at frame {pos + len(got)}, "
                        f"but the header promises {promised} frames (truncated file?)"
                    )
                lo = max(start, pos)
                if lo < pos + want:
                    _mix(got[lo - pos :], mono, out[lo - start : pos + want - start])
                pos += want
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot decode audio ({libsndfile_reason(exc)})") from exc
    if as_int16:
        out *= _INT16_SCALE
    else:
        _check_finite(path, out, start, rate)
    return out


def _mix(block: np.ndarray, mono: str | int, out: np.ndarray) -> None:
    """One channel of ``out`` from the (frames, channels) ``block``: the channel
    mean (summed in channel order, then divided) or the channel ``mono``."""
    channels = block.shape[1]
    if mono != "mean":
        np.copyto(out, block[:, int(mono)], casting="unsafe")
        return
    if channels == 1:
        np.copyto(out, block[:, 0], casting="unsafe")
        return
    np.add(block[:, 0], block[:, 1], out=out, dtype=np.float32)
    for c in range(2, channels):
        np.add(out, block[:, c], out=out, casting="unsafe")
    out /= np.float32(channels)


def _check_finite(path: Path, samples: np.ndarray, first: int, rate: int) -> None:
    """Refuse NaN or infinite samples (float WAV/AIFF can hold them): they would make
    every feature of the window NaN."""
    bad = ~np.isfinite(samples)
    if bad.any():
        frame = first + int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{path}: {int(bad.sum())} NaN or infinite sample(s), the first at {frame / rate:.3f} s"
        )
