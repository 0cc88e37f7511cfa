"""Build throughput of spectroprep against a naive script, side by side in one run.

Synthesises a labelled corpus (class folders of tones + noise), then times:

* BASELINE: a naive single-process script -- for each file ``soundfile.read``,
  cut 1 s windows (last one zero-padded), ``scipy.signal.spectrogram`` per
  window (n_fft 512, win 400, hop 160, hann, centred by padding win/2 on each
  side -> (257, 101)), ``np.log(S + 1e-6)``, one ``np.save`` per window;
* ``spectroprep.build`` for a set of formats, codecs and job counts.

Each configuration is the median of ``--repeats`` runs on a fresh output folder
(page cache warm: the corpus was just written). For each run the dataset is
then read back with 2,000 random single-example reads (``ds[i]`` through
``spectroprep.open_dataset``; ``np.load`` of random per-window files for the
baseline), after 50 untimed warm-up reads.

Usage (from the repository root)::

    .venv/bin/python benchmarks/build_throughput.py [WORKDIR] [--flac] [--files N]
        [--seconds S] [--repeats N] [--quick] [--keep]

WORKDIR defaults to ``bench-work`` (git-ignored). Results go to stdout as markdown.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy
import scipy.signal
import soundfile as sf
from joblib import Parallel, delayed

RATE = 16000
CLASSES = ("tone", "chord", "chirp", "noise")
READS = 2000
WARMUP_READS = 50

# (label, build keyword arguments)
CONFIGS: list[tuple[str, dict]] = [
    ("hdf5, none, jobs 1", dict(format="hdf5", jobs=1, compression="none")),
    ("hdf5, none, jobs 2", dict(format="hdf5", jobs=2, compression="none")),
    ("hdf5, lzf, jobs 2", dict(format="hdf5", jobs=2, compression="lzf")),
    ("hdf5, gzip (gzip:4), jobs 2", dict(format="hdf5", jobs=2, compression="gzip")),
    ("hdf5, gzip:1, jobs 2", dict(format="hdf5", jobs=2, compression="gzip:1")),
    ("hdf5, blosc2-lz4, jobs 2", dict(format="hdf5", jobs=2, compression="blosc2-lz4")),
    ("hdf5, blosc2-zstd, jobs 2", dict(format="hdf5", jobs=2, compression="blosc2-zstd")),
    ("npy, jobs 2", dict(format="npy", jobs=2, compression="none")),
    (
        "hdf5, none, jobs 2, spectrogram.precision float64",
        dict(format="hdf5", jobs=2, compression="none", precision="float64"),
    ),
    (
        "hdf5, none, jobs 2, events (weak labels + frame targets)",
        dict(format="hdf5", jobs=2, compression="none", events=True),
    ),
]


# ---------------------------------------------------------------- corpus


def synth_clip(cls: str, seconds: float, rng: np.random.Generator, rate: int = RATE) -> np.ndarray:
    """A few seconds of one class: tones, a chord, a repeating sweep or noise bursts, plus noise."""
    n = int(round(seconds * rate))
    t = np.arange(n, dtype=np.float64) / rate
    if cls == "tone":
        f0 = rng.uniform(250, 1500)
        x = np.sin(2 * np.pi * f0 * t) + 0.25 * np.sin(2 * np.pi * 2 * f0 * t + rng.uniform(0, 6.3))
    elif cls == "chord":
        f0 = rng.uniform(150, 600)
        x = sum(np.sin(2 * np.pi * f0 * r * t + rng.uniform(0, 6.3)) for r in (1.0, 1.25, 1.5, 2.0))
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t))
    elif cls == "chirp":
        period = rng.uniform(0.3, 1.2)
        lo, hi = rng.uniform(100, 600), rng.uniform(2000, 6000)
        tau = t % period
        x = np.sin(2 * np.pi * (lo * tau + 0.5 * (hi - lo) / period * tau * tau))
    else:  # noise bursts
        x = rng.standard_normal(n) * (np.sin(2 * np.pi * rng.uniform(1, 5) * t) > 0)
    x = x / (np.max(np.abs(x)) + 1e-12) + 0.05 * rng.standard_normal(n)
    return (0.45 * x / np.max(np.abs(x))).astype(np.float32)


def make_corpus(folder: Path, files: int, seconds: float, flac: bool, seed: int = 0) -> list[Path]:
    """``files`` clips spread over class folders: folder/<class>/<class>-NNN.{wav,flac}."""
    if folder.exists():
        shutil.rmtree(folder)
    rng = np.random.default_rng(seed)
    ext, fmt = ("flac", "FLAC") if flac else ("wav", "WAV")
    paths = []
    for i in range(files):
        cls = CLASSES[i % len(CLASSES)]
        path = folder / cls / f"{cls}-{i // len(CLASSES):03d}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, synth_clip(cls, seconds, rng), RATE, format=fmt, subtype="PCM_16")
        paths.append(path)
    return sorted(paths)


def make_events(paths: list[Path], audio_root: Path, seconds: float, seed: int = 0) -> Path:
    """A DCASE-style events table: about one event of 0.2-3 s per 3 s of audio, 4 classes."""
    rng = np.random.default_rng(seed)
    rows = ["filename\tonset\toffset\tevent_label"]
    for path in paths:
        for _ in range(max(1, int(seconds / 3))):
            onset = rng.uniform(0, seconds - 0.2)
            offset = min(seconds, onset + rng.uniform(0.2, 3.0))
            label = CLASSES[int(rng.integers(len(CLASSES)))]
            rows.append(f"{path.relative_to(audio_root)}\t{onset:.3f}\t{offset:.3f}\t{label}")
    table = audio_root.parent / "events.tsv"
    table.write_text("\n".join(rows) + "\n")
    return table


# ---------------------------------------------------------------- baseline


def baseline_build(paths: list[Path], audio_root: Path, out: Path) -> int:
    """The naive script: one file at a time, one spectrogram call and one np.save per window."""
    out.mkdir(parents=True)
    win, hop, n_fft, pad = 400, 160, 512, 200  # centred: win/2 zeros on each side -> 101 frames
    count = 0
    labels = []
    for path in paths:
        x, sr = sf.read(path, dtype="float32")
        if x.ndim > 1:
            x = x.mean(axis=1)
        n_windows = max(1, -(-len(x) // sr))
        x = np.pad(x, (0, n_windows * sr - len(x)))
        rel = path.relative_to(audio_root)
        dest = out / rel.parent
        dest.mkdir(parents=True, exist_ok=True)
        for k in range(n_windows):
            seg = np.pad(x[k * sr : (k + 1) * sr], (pad, pad))
            _, _, s = scipy.signal.spectrogram(
                seg,
                fs=sr,
                window="hann",
                nperseg=win,
                noverlap=win - hop,
                nfft=n_fft,
                detrend=False,
                scaling="spectrum",
                mode="psd",
            )
            feat = np.log(s + 1e-6).astype(np.float32)
            np.save(dest / f"{path.stem}_{k}.npy", feat)
            labels.append((f"{rel.parent}/{path.stem}_{k}.npy", rel.parent.name))
            count += 1
    with open(out / "labels.csv", "w") as f:
        f.write("path,label\n")
        f.writelines(f"{p},{lab}\n" for p, lab in labels)
    return count


def baseline_read_rate(out: Path, rng: np.random.Generator) -> tuple[float, int, tuple[int, ...]]:
    """np.load of random per-window files: (reads/s, number of windows, example shape)."""
    files = sorted(out.rglob("*.npy"))
    for i in rng.integers(0, len(files), WARMUP_READS):
        np.load(files[i], allow_pickle=False)
    idx = rng.integers(0, len(files), READS)
    t0 = time.perf_counter()
    for i in idx:
        x = np.load(files[i], allow_pickle=False)
    return READS / (time.perf_counter() - t0), len(files), x.shape


# ---------------------------------------------------------------- spectroprep


def spectroprep_read_rate(
    out: Path, rng: np.random.Generator
) -> tuple[float, int, tuple[int, ...]]:
    from spectroprep import open_dataset

    with open_dataset(out) as ds:
        n = len(ds)
        for i in rng.integers(0, n, WARMUP_READS):
            ds[int(i)]
        idx = rng.integers(0, n, READS)
        t0 = time.perf_counter()
        for i in idx:
            x, _ = ds[int(i)]
        rate = READS / (time.perf_counter() - t0)
    return rate, n, x.shape


# ---------------------------------------------------------------- measuring


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@dataclass
class Result:
    label: str
    walls: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    size: int = 0
    examples: int = 0
    shape: tuple[int, ...] = ()
    error: str | None = None


def measure(label: str, run, read, out: Path, repeats: int, keep: bool) -> Result:
    """Wall time of ``run(out)`` on a fresh folder, then random reads, ``repeats`` times."""
    res = Result(label)
    rng = np.random.default_rng(1234)
    for r in range(repeats):
        if out.exists():
            shutil.rmtree(out)
        t0 = time.perf_counter()
        try:
            run(out)
        except Exception:  # report the full error, keep benchmarking the rest
            res.error = traceback.format_exc()
            print(f"  {label}: run {r + 1} FAILED", file=sys.stderr, flush=True)
            break
        res.walls.append(time.perf_counter() - t0)
        res.size = tree_bytes(out)
        rate, n, shape = read(out, rng)
        res.reads.append(rate)
        res.examples, res.shape = n, shape
        print(
            f"  {label}: run {r + 1}/{repeats} {res.walls[-1]:.2f} s, {rate:,.0f} reads/s",
            file=sys.stderr,
            flush=True,
        )
    if out.exists() and not (keep and res.error is None):
        shutil.rmtree(out)
    return res


def git_commit() -> str:
    """The short hash of the checked-out commit, or "?" outside a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine_facts() -> list[str]:
    import h5py
    import hdf5plugin
    import joblib

    import spectroprep

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    commit = git_commit()
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"- CPU: {cpu}; cores: os.cpu_count() = {os.cpu_count()}, usable = {usable}; memory {mem}",
        f"- {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- numpy {np.__version__}, scipy {scipy.__version__}, h5py {h5py.__version__} "
        f"(HDF5 {h5py.version.hdf5_version}), hdf5plugin {hdf5plugin.version}, "
        f"soundfile {sf.__version__} (libsndfile {getattr(sf, '__libsndfile_version__', '?')}), "
        f"joblib {joblib.__version__}",
        f"- spectroprep {spectroprep.__version__} (git {commit})",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "workdir", nargs="?", default="bench-work", help="scratch folder (default bench-work)"
    )
    ap.add_argument("--files", type=int, default=120, help="number of audio files (default 120)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds per file (default 30)")
    ap.add_argument("--flac", action="store_true", help="write the corpus as FLAC instead of WAV")
    ap.add_argument(
        "--repeats", type=int, default=3, help="runs per configuration; median (default 3)"
    )
    ap.add_argument("--quick", action="store_true", help="smoke test: 12 files of 5 s, 1 repeat")
    ap.add_argument(
        "--keep", action="store_true", help="keep the last output of each configuration"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.files, args.seconds, args.repeats = 12, 5.0, 1

    from spectroprep import build

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    kind = "flac" if args.flac else "wav"
    audio = work / f"corpus-{kind}"
    t0 = time.perf_counter()
    paths = make_corpus(audio, args.files, args.seconds, args.flac)
    synth_s = time.perf_counter() - t0
    audio_seconds = sum(sf.info(p).duration for p in paths)
    corpus_mb = tree_bytes(audio) / 1e6
    events = make_events(paths, audio, args.seconds)

    print("# spectroprep build throughput\n")
    print("Machine:")
    print("\n".join(machine_facts()))
    print(
        f"\nCorpus: {len(paths)} files x {args.seconds:g} s = {audio_seconds:,.0f} audio s "
        f"({audio_seconds / 3600:.3f} h), 16 kHz mono PCM_16 {kind.upper()}, "
        f"{len(CLASSES)} class folders, {corpus_mb:.1f} MB (synthesised in {synth_s:.1f} s); "
        f"{args.repeats} repeat(s) per configuration, median shown; command: "
        f"`{' '.join([Path(sys.executable).name, *sys.argv])}`\n",
        flush=True,
    )

    outs = work / "out"
    results: list[Result] = []
    # start joblib's worker pool now, so no configuration pays its start-up
    Parallel(n_jobs=2)(delayed(abs)(i) for i in range(4))

    base = measure(
        "BASELINE: naive script (sf.read + scipy.signal.spectrogram "
        "+ np.save per window, 1 process)",
        lambda out: baseline_build(paths, audio, out),
        baseline_read_rate,
        outs / "baseline",
        args.repeats,
        args.keep,
    )
    results.append(base)

    for label, kw in CONFIGS:

        def run(out: Path, kw=kw) -> None:
            labels = {"events": events} if kw.get("events") else {"labels_from_folders": True}
            build(
                audio,
                out,
                **labels,
                jobs=kw["jobs"],
                format=kw["format"],
                overrides=[
                    f"storage.compression={kw['compression']}",
                    f"spectrogram.precision={kw.get('precision', 'float32')}",
                ],
                overwrite=True,
            )

        slug = "".join(c for c in label.replace(", ", "-") if c.isalnum() or c in "-_")
        results.append(
            measure(
                f"spectroprep {label}",
                run,
                spectroprep_read_rate,
                outs / slug,
                args.repeats,
                args.keep,
            )
        )

    base_rate = audio_seconds / statistics.median(base.walls) if base.walls else float("nan")
    hours = audio_seconds / 3600
    print(
        "| configuration | wall s (median) | audio-s / wall-s | × baseline | size MB | "
        "MB / audio hour | random reads/s | examples |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for res in results:
        if res.error:
            print(f"| {res.label} | ERROR (see below) | | | | | | |")
            continue
        wall = statistics.median(res.walls)
        rate = audio_seconds / wall
        print(
            f"| {res.label} | {wall:.2f} | {rate:,.0f} | {rate / base_rate:.2f} | "
            f"{res.size / 1e6:,.1f} | {res.size / 1e6 / hours:,.0f} | "
            f"{statistics.median(res.reads):,.0f} | {res.examples:,} |"
        )
    shapes = {res.shape for res in results if not res.error}
    print(
        f"\nExample shape(s): {', '.join(str(s) for s in sorted(shapes))}. "
        f"Size = apparent bytes of every file in the output folder (MB = 10^6 bytes). "
        f"The joblib worker pool is started before timing. "
        f"Reads: {READS:,} random single examples after {WARMUP_READS} warm-up reads, "
        f"page cache warm, median over repeats."
    )
    if base.walls:
        print(
            "Per-run wall seconds: "
            + "; ".join(
                f"{r.label.split(':')[0] if r is base else r.label.removeprefix('spectroprep ')}: "
                + ", ".join(f"{w:.2f}" for w in r.walls)
                for r in results
                if r.walls
            )
        )
    errors = [r for r in results if r.error]
    if errors:
        print("\n## Errors\n")
        for res in errors:
            print(f"### {res.label}\n\n```\n{res.error.rstrip()}\n```\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
