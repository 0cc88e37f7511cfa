"""``make demo``: synthesise a small labelled corpus, build it both ways, read it back,
split it into train/val/test by source file; then a sound-event corpus with strong
labels, built into weak labels and frame targets.

Run as ``python -m spectroprep.demo [WORKDIR]``.
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from .builder.pipeline import build
from .dataset.manifest import read_manifest
from .errors import SpectroprepWarning
from .plugins import FORMATS
from .read.reader import open_dataset
from .read.summary import closing_lines, summarize
from .reshard import shard
from .reshard.split import shares_line
from .verify import verify

# (class folder, file name, seconds, sample rate, channels, format)
_CLIPS = [
    (cls, f"clip{i}", 1.5 + (i % 4) * 0.75, rate, 2 if (cls, i) == ("chirp", 2) else 1, fmt)
    for cls in ("tone", "chirp", "noise")
    for i, rate, fmt in (
        (1, 16000, "WAV"),
        (2, 44100, "FLAC"),
        (3, 8000, "WAV"),
        (4, 22050, "FLAC"),
        (5, 16000, "FLAC"),
        (6, 44100, "WAV"),
        (7, 16000, "WAV"),
        (8, 8000, "FLAC"),
        (9, 22050, "WAV"),
        (10, 16000, "WAV"),
        (11, 32000, "FLAC"),
        (12, 16000, "WAV"),
    )
]


def _sound(kind: str, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    if kind == "tone":  # a steady tone with one overtone
        f0 = rng.uniform(300, 1200)
        x = np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(4 * np.pi * f0 * t)
    elif kind == "chirp":  # a rising sweep, repeated every 0.5 s
        phase = (t % 0.5) / 0.5
        x = np.sin(2 * np.pi * (200 + 1800 * phase) * (t % 0.5))
    else:  # bursts of white noise
        x = rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 3 * t) > 0)
    return (0.4 * x / np.max(np.abs(x))).astype(np.float32)


def make_corpus(folder: Path, seed: int = 0) -> int:
    """Write the demo clips into ``folder/<class>/clipN.<ext>``; returns the file count."""
    rng = np.random.default_rng(seed)
    for cls, name, seconds, rate, channels, fmt in _CLIPS:
        x = _sound(cls, seconds, rate, rng)
        if channels == 2:  # the stereo clip: a quieter copy on the right
            x = np.stack([x, 0.5 * x], axis=1)
        path = folder / cls / f"{name}.{fmt.lower()}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, x, rate, format=fmt, subtype="PCM_16")
    return len(_CLIPS)


def make_scenes(folder: Path, seed: int = 0, scenes: int = 6) -> Path:
    """Write 8 s scenes of faint noise with tone and chirp events at random times,
    and their DCASE-style ``events.tsv``; returns the table's path."""
    rng = np.random.default_rng(seed)
    rate = 16000
    rows = ["filename\tonset\toffset\tevent_label"]
    for i in range(1, scenes + 1):
        x = 0.02 * rng.standard_normal(8 * rate).astype(np.float32)
        for kind in ("tone", "chirp"):
            for _ in range(int(rng.integers(0, 3))):
                onset = round(float(rng.uniform(0, 7)), 3)
                offset = round(min(onset + float(rng.uniform(0.2, 1.5)), 8.0), 3)
                a, b = int(onset * rate), int(offset * rate)
                x[a:b] += _sound(kind, (b - a) / rate, rate, rng)[: b - a]
                rows.append(f"scene{i}.wav\t{onset}\t{offset}\t{kind}")
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"scene{i}.wav", x, rate, subtype="PCM_16")
    table = folder.parent / "events.tsv"
    table.write_text("\n".join(rows) + "\n")
    return table


def _event_demo(work: Path) -> None:
    audio = work / "scenes"
    events = make_scenes(audio)
    out = work / "dataset-events"
    command = ["spectroprep", "build", str(audio), "--out", str(out), "--events", str(events)]
    print(f"\nsound events: {events} annotates the scenes in {audio}")
    print("$ " + " ".join(command), flush=True)
    build(audio, out, events=events, progress=True, command=command)
    with open_dataset(out, targets="frames") as ds:
        print("\n".join(closing_lines(summarize(ds))))
        grid = ds.info["labels"]["frames"]
        _, frames = ds.get_batch(range(len(ds)))
        assert frames is not None  # opened with targets="frames"
        first = next(i for i in range(len(ds)) if frames[i].any())
        t, c = np.nonzero(frames[first])
        times = grid["first_centre"] + t * grid["step"]
        print(
            f"  example {first}: {ds.classes[c[0]]} active from {times.min():.2f} s "
            f"to {times.max() + grid['step']:.2f} s into its window",
            flush=True,
        )


def _verified(out: Path) -> None:
    report = verify(out)
    status = f"ok: {report.examples} examples in {report.files} files" if report.ok else "FAILED"
    print(f"$ spectroprep verify {out}\n  {status}", flush=True)
    if not report.ok:
        raise SystemExit("\n".join(p.line() for p in report.problems))


def _split_demo(work: Path) -> None:
    src, out = work / "dataset-hdf5", work / "split"
    ratios = "train=0.7,val=0.15,test=0.15"
    command = ["spectroprep", "shard", str(src), "--out", str(out), "--split", ratios]
    command += ["--stratify", "--shuffle", "--seed", "1"]
    print("\n$ " + " ".join(command), flush=True)
    done = shard(src, out, split=ratios, stratify=True, shuffle=True, seed=1, command=command)
    assert done.shares is not None and done.ratios is not None  # a split was asked for
    sources = {}
    for name, folder in done.datasets.items():
        print(f"  {shares_line(name, done.shares[name], done.ratios[name])}")
        sources[name] = {row.source for row in read_manifest(folder / "manifest.csv")}
    for folder in done.datasets.values():
        _verified(folder)
    shared = sources["train"] & (sources["val"] | sources["test"])
    print(f"  source files in train and in val or test: {len(shared)}", flush=True)
    if shared:
        raise SystemExit(f"a source leaked across splits: {sorted(shared)[0]}")


def _one_line_warnings() -> None:
    """spectroprep's warnings as the command line shows them: one "warning:" line each."""
    default = warnings.formatwarning

    def one_line(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        if issubclass(category, SpectroprepWarning):
            return f"warning: {message}\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = one_line


def main(workdir: str = "demo-work") -> None:
    _one_line_warnings()
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    audio = work / "audio"
    n = make_corpus(audio)
    print(
        f"demo corpus: {n} clips (tone, chirp, noise; 8-44.1 kHz; WAV and FLAC; one stereo) "
        f"in {audio}"
    )
    # small files so that the two workers share the work, as on a real corpus
    sizes = ["storage.shard_examples=32", "storage.block_size=32"]
    for fmt in FORMATS.names():
        out = work / f"dataset-{fmt}"
        command = [
            "spectroprep",
            "build",
            str(audio),
            "--out",
            str(out),
            "--labels-from-folders",
            "--format",
            fmt,
            *(arg for size in sizes for arg in ("--set", size)),
        ]
        print("\n$ " + " ".join(command), flush=True)
        t0 = time.perf_counter()
        build(
            audio,
            out,
            labels_from_folders=True,
            format=fmt,
            overrides=sizes,
            progress=True,
            command=command,
        )
        seconds = time.perf_counter() - t0
        with open_dataset(out) as ds:
            x, y = ds.get_batch(range(0, len(ds), 16))
            print("\n".join(closing_lines(summarize(ds))))
            names = [ds.classes[i] for i in y] if y is not None else []
            print(f"  built in  {seconds:.1f} s; read a batch: X {x.shape}, y {names}", flush=True)
        _verified(out)
    _split_demo(work)
    _event_demo(work)
    _previews(work)


def _previews(work: Path) -> None:
    """Pictures of both demo datasets: what ``make demo`` ends with."""
    try:
        from .plot.examples import preview
    except ImportError as exc:  # the plot extra is not installed
        print(f"\nno preview: {exc}")
        return
    pictures = [
        ("dataset-hdf5", "preview.png", None),
        ("dataset-events", "preview-events.png", "tone"),  # windows with events, and strips
    ]
    for name, png, label in pictures:
        dataset, out = work / name, work / png
        choice = f" --class {label}" if label else ""
        print(f"\n$ spectroprep preview {dataset} --out {out}{choice}", flush=True)
        drawn = preview(dataset, out, label=label)
        ids = ", ".join(str(p.id) for p in drawn.panels)
        print(f"  examples {ids} drawn into {drawn.path.resolve()}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:2])
