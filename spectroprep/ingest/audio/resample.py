"""Resamplers behind one small interface, chosen by ``audio.resampler``.

A region of a file is resampled on its own, widened by a margin of input
samples that covers the filter's reach and started on a multiple of the rate
ratio's denominator, so every kept output sample sees the same inputs at the
same filter phase as in a whole-file resample. Shard tasks then decode only the
audio they need, however long the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np

from ...plugins import RESAMPLERS


def rate_ratio(rate_in: int, rate_out: int) -> tuple[int, int]:
    """(up, down) in lowest terms."""
    g = math.gcd(rate_in, rate_out)
    return rate_out // g, rate_in // g


class Resampler(Protocol):
    def length(self, frames: int, up: int, down: int) -> int:
        """Output samples of a whole input of ``frames`` samples."""
        ...

    def margin(self, up: int, down: int) -> int:
        """Input samples either side of a region that the filter reaches."""
        ...

    def resample(self, x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
        """``x`` (float32 mono) at ``rate_out``, as float32."""
        ...


@dataclass(frozen=True)
class Soxr:
    """libsoxr through the ``soxr`` package, at one of its quality presets.

    Linear phase. "HQ" keeps 0-91 % of the output Nyquist band within 0.01 dB,
    is 3 dB down at 95 % and rejects from 100 % on by more than 130 dB
    (docs/audio.md); "VHQ" is the same band with more rejection.
    """

    quality: str

    def length(self, frames: int, up: int, down: int) -> int:
        # soxr rounds the output length half up
        return (2 * frames * up + down) // (2 * down)

    def margin(self, up: int, down: int) -> int:
        # the filter reaches about 128 input samples per unit of decimation
        # (docs/audio.md); twice that, for any quality preset
        return 256 * (-(-down // up) + 1)

    def resample(self, x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
        import soxr  # imported where used: most builds never resample

        return np.asarray(soxr.resample(x, rate_in, rate_out, quality=self.quality), np.float32)


class Polyphase:
    """scipy.signal.resample_poly (Kaiser-windowed FIR, scipy's defaults)."""

    def length(self, frames: int, up: int, down: int) -> int:
        return -(-frames * up // down)

    def margin(self, up: int, down: int) -> int:
        # resample_poly's filter reaches 10 * max(up, down) upsampled samples
        return -(-10 * max(up, down) // up) + 1

    def resample(self, x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
        # scipy.signal costs a process about a second to import: only this route pays it
        from scipy.signal import resample_poly

        up, down = rate_ratio(rate_in, rate_out)
        return np.asarray(resample_poly(x, up, down), dtype=np.float32)


# registered by name in plugins.RESAMPLERS
SOXR_HQ = Soxr("HQ")
SOXR_VHQ = Soxr("VHQ")
POLYPHASE = Polyphase()


def resampler(name: str) -> Resampler:
    """The resampler called ``name`` (``audio.resampler``)."""
    return cast(Resampler, RESAMPLERS.get(name))


def input_span(
    resampler: Resampler, start: int, stop: int, up: int, down: int, frames: int
) -> tuple[int, int]:
    """Input samples [first, stop) to resample for output samples [start, stop):
    the region widened by the filter's margin, starting on a multiple of ``down``
    (so output sample ``first * up // down`` of the part is a whole-file sample)."""
    margin = resampler.margin(up, down)
    first = max(0, (start * down // up - margin) // down * down)
    return first, min(frames, -(-stop * down // up) + margin)
