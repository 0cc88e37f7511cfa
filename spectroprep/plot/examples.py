"""``spectroprep preview``: a grid of a dataset's examples, each with its labels, its
source file and start second, the frame targets of an events dataset under it, and
optionally the waveform of the same window from the source file above it."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..errors import ConfigError
from ..read.reader import Dataset, open_dataset
from .axes import Box, frequency_ticks, plt, row_frequencies, scale_label

PANEL_INCHES = (4.6, 3.6)
DPI = 100


@dataclass(frozen=True)
class Panel:
    """One example's place in the picture."""

    id: int  # its manifest id
    title: str
    spectrogram: Box
    frames: Box | None  # the frame-target strip, rows the classes it shows (top first)
    frame_classes: list[str]
    waveform: Box | None


@dataclass(frozen=True)
class Preview:
    path: Path
    size: tuple[int, int]  # (width, height) in pixels
    panels: list[Panel]


def choose(
    ds: Dataset,
    ids: Sequence[int] | None = None,
    label: str | None = None,
    count: int = 6,
    seed: int = 0,
) -> np.ndarray:
    """Positions of the examples to show: the manifest ``ids`` given, else ``count``
    picked at random with ``seed`` (among those labelled ``label``), in dataset order."""
    if ids is not None:
        bad = [i for i in ids if not 1 <= i <= len(ds)]
        if bad:
            raise ConfigError(f"{ds.path}: no example with id {bad[0]} (ids are 1 to {len(ds)})")
        return np.asarray(ids, dtype=np.int64) - 1
    candidates = np.arange(len(ds))
    if label is not None:
        candidates = np.flatnonzero(_has_class(ds, label))
    if count < 1:
        raise ConfigError(f"--random must be at least 1, not {count}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(candidates, size=min(count, len(candidates)), replace=False))


def _has_class(ds: Dataset, label: str) -> np.ndarray:
    if label not in ds.classes:
        near = difflib.get_close_matches(label, ds.classes, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else f" (classes: {', '.join(ds.classes)})"
        raise ConfigError(f"{ds.path}: no class {label!r}{hint}")
    k, labels = ds.classes.index(label), ds.labels
    assert labels is not None  # a dataset with classes is labelled
    return labels == k if labels.ndim == 1 else labels[:, k] > 0


def preview(
    dataset: str | Path,
    out: str | Path,
    ids: Sequence[int] | None = None,
    label: str | None = None,
    count: int = 6,
    seed: int = 0,
    audio: bool = False,
    columns: int = 3,
) -> Preview:
    """Draw examples of ``dataset`` (see ``choose``) into the PNG ``out``."""
    ds = open_dataset(dataset)
    frames = "active_frames" in ds.info["counts"]
    if frames:  # an events dataset: its frame targets draw the strips
        ds = open_dataset(dataset, targets="frames")
    picked = choose(ds, ids, label, count, seed)
    if not len(picked):
        what = f"no example labelled {label!r}" if label is not None else "no example to draw"
        raise ConfigError(f"{ds.path}: {what}")
    x, y = ds.get_batch(picked)
    weak = None if ds.labels is None else ds.labels[picked]  # the titles' labels
    cols = min(columns, len(picked))
    rows = -(-len(picked) // cols)
    fig = plt.figure(figsize=(PANEL_INCHES[0] * cols, PANEL_INCHES[1] * rows), dpi=DPI)
    grid = fig.add_gridspec(rows, cols, hspace=0.55, wspace=0.6)
    drawn = []
    for k, position in enumerate(picked):
        parts = ["spectrogram"] + (["frames"] if frames else [])
        parts = (["waveform"] if audio else []) + parts
        heights = {"waveform": 1.0, "spectrogram": 3.5, "frames": 1.0}
        cell = grid[k // cols, k % cols].subgridspec(
            len(parts), 1, height_ratios=[heights[p] for p in parts], hspace=0.08
        )
        axes = {part: fig.add_subplot(cell[i]) for i, part in enumerate(parts)}
        strip = y[k] if frames and y is not None else None
        drawn.append(_draw(ds, int(position), x[k], strip, weak, k, axes, fig))
    fig.canvas.draw()
    height = fig.canvas.get_width_height()[1]
    panels = [
        Panel(
            id=int(position) + 1,
            title=title,
            spectrogram=Box.of(axes["spectrogram"], height),
            frames=Box.of(axes["frames"], height) if "frames" in axes else None,
            frame_classes=classes,
            waveform=Box.of(axes["waveform"], height) if "waveform" in axes else None,
        )
        for position, (title, classes, axes) in zip(picked, drawn, strict=True)
    ]
    out = Path(out)
    fig.savefig(out, dpi=DPI)
    size = fig.canvas.get_width_height()
    plt.close(fig)
    return Preview(out, size, panels)


def _draw(
    ds: Dataset,
    position: int,
    features: np.ndarray,
    frame_targets: np.ndarray | None,
    weak: np.ndarray | None,
    k: int,
    axes: dict[str, Any],
    fig: Any,
) -> tuple[str, list[str], dict[str, Any]]:
    """One example's axes; returns (its title, the classes its strip shows, its axes)."""
    config = ds.config
    hop = config.spectrogram.hop_length / config.audio.sample_rate
    frames = features.shape[1]
    span = (-hop / 2, (frames - 0.5) * hop)
    ax = axes["spectrogram"]
    image = ax.imshow(
        features,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="magma",
        extent=(*span, -0.5, features.shape[0] - 0.5),
    )
    frequency_ticks(ax, row_frequencies(config))
    fig.colorbar(image, ax=list(axes.values()), label=scale_label(config), fraction=0.05)
    manifest = ds.manifest
    source = manifest.source.values[manifest.source.codes[position]]
    start = float(manifest.start[position])
    title = f"{_label_text(ds, weak[k] if weak is not None else None)}\n{source} @ {start:.2f} s"
    (axes.get("waveform") or ax).set_title(title, fontsize=8)
    shown: list[str] = []
    if frame_targets is not None:
        shown = _draw_frames(axes["frames"], frame_targets, ds.classes, span)
    if "waveform" in axes:
        _draw_waveform(axes["waveform"], ds, source, start, span)
    bottom = axes.get("frames", ax)
    for other in axes.values():
        if other is not bottom:
            other.tick_params(labelbottom=False)
    bottom.set_xlabel("s")
    return title, shown, axes


def _label_text(ds: Dataset, labels: np.ndarray | None) -> str:
    if labels is None:
        return "unlabelled"
    if np.ndim(labels) == 0:
        return ds.classes[int(labels)]
    names = [ds.classes[c] for c in np.flatnonzero(labels)]
    return ", ".join(names) if names else "(no class)"


def _draw_frames(
    ax: Any, targets: np.ndarray, classes: list[str], span: tuple[float, float]
) -> list[str]:
    """The active frames of each class the example has, a row a class (top first)."""
    active = np.flatnonzero(targets.any(axis=0))
    if not len(active):
        ax.text(0.5, 0.5, "no events", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlim(span)
        ax.set_yticks([])
        return []
    ax.imshow(
        targets[:, active[::-1]].T,
        aspect="auto",
        interpolation="nearest",
        cmap="Greys",
        vmin=0,
        vmax=1,
        extent=(*span, -0.5, len(active) - 0.5),
    )
    ax.set_yticks(np.arange(len(active)))
    ax.set_yticklabels([classes[c] for c in active[::-1]], fontsize=7)
    return [classes[c] for c in active]


def _draw_waveform(
    ax: Any, ds: Dataset, source: str, start: float, span: tuple[float, float]
) -> None:
    path = Path(ds.info["provenance"]["inputs"]["root"]) / source
    ax.set_xlim(span)
    ax.set_yticks([])
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(min(round(start * f.samplerate), f.frames))
            length = round(ds.config.segment.length * f.samplerate)
            wave = f.read(length, dtype="float32", always_2d=True).mean(axis=1)
            rate = f.samplerate
    except (sf.LibsndfileError, RuntimeError, OSError):
        ax.text(0.5, 0.5, f"audio not found: {path}", ha="center", va="center",
                fontsize=6, transform=ax.transAxes)  # fmt: skip
        return
    ax.plot(np.arange(len(wave)) / rate, wave, linewidth=0.4, color="tab:blue")
    ax.set_ylim(-1, 1)
