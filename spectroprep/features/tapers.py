"""Window functions (tapers) for the spectrogram frames, as scipy.signal.get_window
gives them (periodic, for spectral analysis).

Hann and Hamming, nearly every recipe's choice, are computed here with
get_window's own formula; any other spec goes to scipy.signal. That keeps
scipy.signal, slow to import (docs/performance.md) and paid by every worker
process of a build, out of the processes that do not need it.
"""

from __future__ import annotations

import numpy as np

WindowSpec = str | tuple[str | float, ...]

# get_window's generalised Hamming windows a + (1 - a) * cos(x), x over [-pi, pi)
_COSINE = {"hann": 0.5, "hamming": 0.54}


def taper(spec: WindowSpec, length: int) -> np.ndarray:
    """The periodic window ``spec`` of ``length`` samples (float64), equal to
    ``scipy.signal.get_window(spec, length)``. Raises ValueError or TypeError for
    a spec scipy does not know."""
    if isinstance(spec, str) and spec in _COSINE and length > 1:
        a = _COSINE[spec]
        return a + (1.0 - a) * np.cos(np.linspace(-np.pi, np.pi, length + 1)[:-1])
    from scipy.signal import get_window  # only for the less common windows

    return np.asarray(get_window(spec, length), dtype=np.float64)
