"""``spectroprep info --plot``: a dataset's make-up in one picture: examples per class,
each frequency row's mean and standard deviation, and how much of each window is audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..read.reader import open_dataset
from .axes import frequency_ticks, plt, row_frequencies, scale_label

DPI = 100


def overview(dataset: str | Path, out: str | Path) -> tuple[int, int]:
    """Draw the picture into the PNG ``out``; returns its (width, height) in pixels."""
    ds = open_dataset(dataset)
    fig, (classes, bins, padding) = plt.subplots(1, 3, figsize=(15, 4.5), dpi=DPI)
    per_class = ds.info["counts"]["per_class"]
    if per_class:
        names = sorted(per_class, key=lambda c: per_class[c])
        classes.barh(names, [per_class[c] for c in names], color="tab:blue")
        classes.set_xlabel("examples")
        classes.tick_params(axis="y", labelsize=7)
    else:
        classes.text(0.5, 0.5, "unlabelled", ha="center", va="center", transform=classes.transAxes)
    classes.set_title("examples per class")
    stats = ds.info.get("statistics")
    if stats:
        mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
        rows = np.arange(len(mean))
        bins.fill_between(rows, mean - std, mean + std, alpha=0.3, label="± std")
        bins.plot(rows, mean, label="mean")
        frequency_ticks(bins, row_frequencies(ds.config), axis="x")
        bins.set_ylabel(scale_label(ds.config))
        bins.legend(fontsize=7)
    bins.set_title("each frequency row: mean ± std")
    audio = ds.manifest.duration / ds.config.segment.length
    padding.hist(audio, bins=np.linspace(0, 1, 21), color="tab:orange")
    share = 1 - float(audio.mean()) if len(audio) else 0.0
    padding.set_title(f"audio share of each window ({share:.1%} padding overall)")
    padding.set_xlabel("share of the window that is audio")
    padding.set_ylabel("examples")
    fig.tight_layout()
    fig.savefig(Path(out), dpi=DPI)
    size = fig.canvas.get_width_height()
    plt.close(fig)
    return size
