"""Label arrays aligned with the examples: window labels and frame targets.

Window ``w`` of a source covers samples [w * hop, w * hop + window) at the
target rate. For event annotations:

* a class labels a window when its events cover at least
  ``min(labels.min_overlap, segment.length)`` seconds of it, or when one whole
  event (overlapping events of a class merged) lies inside it;
* frame ``t`` of a window is active for a class when the frame's centre, to
  the nearest sample, lies inside one of its events, [onset, offset), and
  inside the window's own audio (a centred STFT's last frame is centred on the
  window's end, on padding).

The same functions run in the workers (to write the arrays and count them)
and in the parent (for the manifest), so both always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...config import Config
from ...features.stft import frame_centres
from .model import FileLabels, LabelSet

FRAME_RULE = "active when the frame centre lies in [onset, offset) and inside the window"


@dataclass(frozen=True, eq=False)
class Targets:
    """What labels each example gets, for one label kind and config."""

    kind: str
    n_classes: int
    window: int  # samples per segment window
    hop: int  # samples between windows
    min_overlap: int  # samples
    centres: np.ndarray  # frame centres, samples from the window start

    @classmethod
    def from_config(cls, labels: LabelSet, config: Config) -> Targets:
        rate, window = config.audio.sample_rate, config.window_samples
        return cls(
            labels.kind,
            len(labels.classes),
            window,
            config.hop_samples,
            min(round(config.labels.min_overlap * rate), window),
            # half a sample off when win_length is odd: round to the sample grid
            np.floor(frame_centres(window, config.spectrogram) + 0.5),
        )

    @property
    def has_frames(self) -> bool:
        return self.kind == "events"

    def _starts(self, first: int, count: int) -> np.ndarray:
        return (first + np.arange(count, dtype=np.int64)) * self.hop

    def _events_near(self, file: FileLabels, starts: np.ndarray) -> np.ndarray:
        """The events that overlap windows starting at ``starts``."""
        events = file.events
        return events[(events[:, 0] < starts[-1] + self.window) & (events[:, 1] > starts[0])]

    def labels(self, file: FileLabels, first: int, count: int) -> np.ndarray | None:
        """Labels of windows ``first .. first+count-1``: (count,) int64 class ids,
        (count, C) uint8 multi-hot, or None when unlabelled."""
        if self.kind == "none":
            return None
        if self.kind == "single":
            return np.full(count, file.classes[0], dtype=np.int64)
        if self.kind == "per-window":
            assert file.windows is not None
            return np.asarray(file.windows[first : first + count], dtype=np.int64)
        out = np.zeros((count, self.n_classes), dtype=np.uint8)
        if self.kind == "multi":
            out[:, list(file.classes)] = 1
            return out
        starts = self._starts(first, count)[:, None]
        start, stop, cls = self._events_near(file, starts[:, 0]).T
        covered = np.clip(
            np.minimum(stop, starts + self.window) - np.maximum(start, starts), 0, None
        )
        whole = covered == stop - start
        for c in np.unique(cls):
            mine = cls == c
            total = covered[:, mine].sum(axis=1)
            enough = (total >= self.min_overlap) | whole[:, mine].any(axis=1)
            out[:, c] = (total > 0) & enough
        return out

    def frames(self, file: FileLabels, first: int, count: int) -> np.ndarray:
        """Frame targets of windows ``first .. first+count-1``: (count, T, C) uint8."""
        out = np.zeros((count, len(self.centres), self.n_classes), dtype=np.uint8)
        in_window = (self.centres >= 0) & (self.centres < self.window)
        starts = self._starts(first, count)
        centres = starts[:, None] + self.centres[None, :]
        for start, stop, cls in self._events_near(file, starts).tolist():
            out[:, :, cls] |= (start <= centres) & (centres < stop) & in_window
        return out

    def params(self, config: Config) -> dict[str, Any]:
        """The conversion parameters dataset.json records."""
        if not self.has_frames:
            return {}
        rate = config.audio.sample_rate
        return {
            "min_overlap": config.labels.min_overlap,
            "frames": {
                "rule": FRAME_RULE,
                "first_centre": float(self.centres[0]) / rate,
                "step": config.spectrogram.hop_length / rate,
            },
        }
